/**
 * The clear header: all a relay may see (DESIGN.md, "The envelope"). It is bound into the
 * encryption as associated data and into the signer's signature, so no relay can move a
 * sealed, signed note under another header.
 */
import { decodeCbor, encodeCbor } from '../cbor.js';
import { BackchannelError } from '../errors.js';
import { SUITE_NAMES, type SuiteName } from '../identity/bundle.js';
import { PARTY_ID_RE } from '../identity/ids.js';
import { MapReader } from '../schema.js';
import { precedenceCode, precedenceFromCode, type Precedence } from './precedence.js';
import { isSizeBucket } from './size-bucket.js';

export const ENVELOPE_VERSION = 1;

export interface EnvelopeHeader {
  version: 1;
  /** 16 random bytes; with `from`, the note's identity. */
  id: Uint8Array;
  from: string;
  to: string;
  precedence: Precedence;
  /** Creation time at the sending station, ms since the epoch. */
  created: number;
  /** The envelope's total size in bytes: one of SIZE_BUCKETS. */
  size: number;
  suite: SuiteName;
  /** The sender's key bundle the envelope was made under. */
  bundleSeq: number;
  bundleHash: Uint8Array;
  /** The sending station's public key (it signs the envelope). */
  station: Uint8Array;
}

export function encodeHeader(h: EnvelopeHeader): Uint8Array {
  return encodeCbor({
    v: h.version,
    id: h.id,
    from: h.from,
    to: h.to,
    prec: precedenceCode(h.precedence),
    created: h.created,
    size: h.size,
    suite: h.suite,
    bundle: { seq: h.bundleSeq, hash: h.bundleHash },
    station: h.station,
  });
}

export function decodeHeader(bytes: Uint8Array): EnvelopeHeader {
  const r = new MapReader(decodeCbor(bytes, 4096), 'header');
  const v = r.uint('v');
  if (v !== ENVELOPE_VERSION) throw new BackchannelError('version_unsupported', `envelope version ${v} is not supported`);
  const id = r.bytes('id', { len: 16 });
  const from = r.text('from', { pattern: PARTY_ID_RE });
  const to = r.text('to', { pattern: PARTY_ID_RE });
  const prec = r.uint('prec', { max: 3 });
  const created = r.uint('created');
  const size = r.uint('size');
  const suite = r.text('suite', { oneOf: SUITE_NAMES }) as SuiteName;
  const bundle = r.map('bundle', (b) => ({ seq: b.uint('seq', { min: 1 }), hash: b.bytes('hash', { len: 32 }) }));
  const station = r.bytes('station', { len: 32 });
  if (!isSizeBucket(size)) r.problems.push(`header.size ${size} is not a size bucket`);
  r.done('envelope_invalid');
  return {
    version: 1,
    id,
    from,
    to,
    precedence: precedenceFromCode(prec),
    created,
    size,
    suite,
    bundleSeq: bundle?.seq ?? 0,
    bundleHash: bundle?.hash ?? new Uint8Array(32),
    station,
  };
}
