/**
 * A desk's signed acknowledgement of one fetched copy (DESIGN.md, "Delivery and
 * acknowledgement" 1). The relay answers it with a delivery record; the desk keeps it, and a
 * copy the relay delivers again afterwards is a replay, provable with this signature.
 */
import type { Ed25519Key } from '../ed25519.js';
import { LABELS } from '../labels.js';
import { MapReader } from '../schema.js';
import { signStructure, signedReader, type Opened, type SignedWrapper } from '../signed.js';
import { PARTY_ID_RE } from '../identity/ids.js';

export interface CopyAck {
  origin: string;
  /** The acknowledging desk's party. */
  party: string;
  from: string;
  id: Uint8Array;
  digest: Uint8Array;
  time: number;
  station: Uint8Array;
  bytes: Uint8Array;
}

export function signCopyAck(station: Ed25519Key, a: Omit<CopyAck, 'station' | 'bytes'>): Uint8Array {
  return signStructure(station, LABELS.ack, { v: 1, origin: a.origin, party: a.party, from: a.from, id: a.id, digest: a.digest, time: a.time });
}

const reader = signedReader(LABELS.ack, 'schema_invalid', 1024, copyAckOf);

export const openCopyAck: (bytes: Uint8Array) => CopyAck = reader.open;
/** openCopyAck in two steps (signed.ts, signedReader): the wrapper, then the acknowledgement once its signature over `LABELS.ack || 0x00 || bodyBytes` verified. */
export const readCopyAckWrapper: (bytes: Uint8Array) => SignedWrapper = reader.read;
export const openVerifiedCopyAck: (w: SignedWrapper) => CopyAck = reader.openVerified;

function copyAckOf(o: Opened): CopyAck {
  const r = new MapReader(o.body, 'copy acknowledgement');
  const v = r.uint('v');
  const a: CopyAck = {
    origin: r.text('origin', { max: 255 }),
    party: r.text('party', { pattern: PARTY_ID_RE }),
    from: r.text('from', { pattern: PARTY_ID_RE }),
    id: r.bytes('id', { len: 16 }),
    digest: r.bytes('digest', { len: 32 }),
    time: r.uint('time'),
    station: o.key,
    bytes: o.bytes,
  };
  if (v !== 1) r.problems.push('copy acknowledgement.v must be 1');
  r.done();
  return a;
}
