/**
 * The relay's delivery record (DESIGN.md, "Delivery and acknowledgement" 1): signed with the
 * relay's log key when a desk acknowledges a copy, logged, and fetchable by the sender. It is
 * what proves "forwarded within five minutes", tells a broken channel from an offline desk,
 * and binds the relay to the exact bytes it handed over.
 */
import { BackchannelError } from '../errors.js';
import { equalBytes } from '../bytes.js';
import type { Ed25519Key } from '../ed25519.js';
import { sha256 } from '../hash.js';
import { LABELS } from '../labels.js';
import { MapReader } from '../schema.js';
import { openSigned, signStructure } from '../signed.js';
import { PARTY_ID_RE } from '../identity/ids.js';

export interface DeliveryRecord {
  origin: string;
  from: string;
  to: string;
  id: Uint8Array;
  digest: Uint8Array;
  /** The submission's log leaf index. */
  index: number;
  submitted: number;
  delivered: number;
  /** The desk that acknowledged the copy. */
  desk: Uint8Array;
  /** The relay's log key that signed it. */
  relay: Uint8Array;
  bytes: Uint8Array;
  hash: Uint8Array;
}

export function signDeliveryRecord(relayKey: Ed25519Key, d: Omit<DeliveryRecord, 'relay' | 'bytes' | 'hash'>): Uint8Array {
  return signStructure(relayKey, LABELS.delivery, {
    v: 1,
    origin: d.origin,
    from: d.from,
    to: d.to,
    id: d.id,
    digest: d.digest,
    index: d.index,
    submitted: d.submitted,
    delivered: d.delivered,
    desk: d.desk,
  });
}

/** Verifies the signature and parses; `relayKey`, when given, must be the key that signed. */
export function openDeliveryRecord(bytes: Uint8Array, relayKey?: Uint8Array): DeliveryRecord {
  const o = openSigned(bytes, LABELS.delivery, 'schema_invalid', 1024);
  if (relayKey !== undefined && !equalBytes(o.key, relayKey)) throw new BackchannelError('key_unknown', 'delivery record is not signed by this relay');
  const r = new MapReader(o.body, 'delivery record');
  const v = r.uint('v');
  const d: DeliveryRecord = {
    origin: r.text('origin', { max: 255 }),
    from: r.text('from', { pattern: PARTY_ID_RE }),
    to: r.text('to', { pattern: PARTY_ID_RE }),
    id: r.bytes('id', { len: 16 }),
    digest: r.bytes('digest', { len: 32 }),
    index: r.uint('index'),
    submitted: r.uint('submitted'),
    delivered: r.uint('delivered'),
    desk: r.bytes('desk', { len: 32 }),
    relay: o.key,
    bytes,
    hash: sha256(bytes),
  };
  if (v !== 1) r.problems.push('delivery record.v must be 1');
  r.done();
  return d;
}
