/**
 * Log leaves are 32-byte commitments (DESIGN.md, "Submitting, receipts, the log"), so the
 * public log shows volume and timing only, and identical envelopes on three relays give three
 * unlinkable leaves.
 *
 *   salt_f = HMAC-SHA256(salt, f)                        per field, from one 32-byte record salt
 *   H_f    = SHA-256("backchannel/v1/leaf/" f || 0x00 || salt_f || value_f)
 *   leaf   = SHA-256("backchannel/v1/leaf" || 0x00 || H_type || H_pair || H_prec || H_time || H_window || H_digest || H_ref)
 *
 * The relay draws the salt, stores it, and hands the full opening to the sender (with the
 * receipt) and to the recipient (with the delivery). A statement opens single fields — it
 * reveals salt_f and the value for those, and only H_f for the rest — so it can prove the pair,
 * the time window and the submission token of a record without revealing its digest.
 */
import { decodeCbor, encodeCbor, type CborMap, type CborValue } from '../cbor.js';
import { cborBytes, cborHead, cborText } from '../cbor-direct.js';
import { BackchannelError } from '../errors.js';
import { concatBytes, equalBytes, u64be, utf8 } from '../bytes.js';
import { hmacSha256, sha256 } from '../hash.js';
import { LABELS } from '../labels.js';
import { MapReader } from '../schema.js';
import { PARTY_ID_RE } from '../identity/ids.js';

export const RECORD_TYPES = ['submit', 'delivery'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];
export const LEAF_FIELDS = ['type', 'pair', 'prec', 'time', 'window', 'digest', 'ref'] as const;
export type LeafField = (typeof LEAF_FIELDS)[number];

/** Statements count records per hour; the window field is the relay time floored to the hour. */
export const WINDOW_MS = 3_600_000;

export interface LeafRecord {
  type: RecordType;
  from: string;
  to: string;
  /** Precedence code 0..3. */
  prec: number;
  /** Relay time of the record, ms. */
  time: number;
  digest: Uint8Array;
  /** SHA-256 of the submission token (submit) or of the delivery record (delivery). */
  ref: Uint8Array;
}

export interface LeafOpening extends LeafRecord {
  salt: Uint8Array;
}

function fieldValue(f: LeafField, r: LeafRecord): Uint8Array {
  switch (f) {
    case 'type':
      return utf8(r.type);
    case 'pair':
      return utf8(`${r.from}>${r.to}`);
    case 'prec':
      return u64be(r.prec);
    case 'time':
      return u64be(r.time);
    case 'window':
      return u64be(Math.floor(r.time / WINDOW_MS) * WINDOW_MS);
    case 'digest':
      return r.digest;
    case 'ref':
      return r.ref;
  }
}

// The constant inputs of the hashes in the header comment, encoded once: a leaf costs 7 HMACs and 8 hashes and
// sits on the relay's submit path. Module-private and never handed out, so never mutated.
const FIELD_NAMES = Object.fromEntries(LEAF_FIELDS.map((f) => [f, utf8(f)])) as Record<LeafField, Uint8Array>;
/** "backchannel/v1/leaf/" f || 0x00 */
const FIELD_PREFIXES = Object.fromEntries(LEAF_FIELDS.map((f) => [f, concatBytes(utf8(`${LABELS.leaf}/${f}`), Uint8Array.of(0))])) as Record<LeafField, Uint8Array>;
/** "backchannel/v1/leaf" || 0x00 */
const LEAF_PREFIX = concatBytes(utf8(LABELS.leaf), Uint8Array.of(0));

/**
 * The leaf's constant inputs, in LEAF_FIELDS order, as fresh copies: for code that computes
 * leaves where this module cannot run (the relay's worker threads, which are plain JavaScript),
 * so the construction's constants are written once, here. What it does with them must be
 * commitLeaf's formula; the relay's tests hold the two side by side.
 */
export function leafHashConstants(): { fieldNames: Uint8Array[]; fieldPrefixes: Uint8Array[]; leafPrefix: Uint8Array } {
  return {
    fieldNames: LEAF_FIELDS.map((f) => FIELD_NAMES[f].slice()),
    fieldPrefixes: LEAF_FIELDS.map((f) => FIELD_PREFIXES[f].slice()),
    leafPrefix: LEAF_PREFIX.slice(),
  };
}

/** A record's field values, encoded as its leaf hashes them, in LEAF_FIELDS order. */
export function leafFieldValues(r: LeafRecord): Uint8Array[] {
  return LEAF_FIELDS.map((f) => fieldValue(f, r));
}

export function fieldSalt(salt: Uint8Array, f: LeafField): Uint8Array {
  return hmacSha256(salt, FIELD_NAMES[f]);
}

export function fieldHash(f: LeafField, fieldSaltBytes: Uint8Array, value: Uint8Array): Uint8Array {
  return sha256(FIELD_PREFIXES[f], fieldSaltBytes, value);
}

function leafFromFieldHashes(hashes: readonly Uint8Array[]): Uint8Array {
  return sha256(LEAF_PREFIX, ...hashes);
}

/** The 32-byte leaf (the RFC 9162 leaf input) for a fully opened record. */
export function commitLeaf(o: LeafOpening): Uint8Array {
  if (o.salt.length !== 32) throw new BackchannelError('schema_invalid', 'a leaf salt is 32 bytes');
  return leafFromFieldHashes(LEAF_FIELDS.map((f) => fieldHash(f, fieldSalt(o.salt, f), fieldValue(f, o))));
}

const MAP9 = Uint8Array.of(0xa9);
/** The opening's map keys, encoded, in RFC 8949 §4.2.1 order (shorter keys first, then bytewise). */
const OPENING_KEYS = Object.fromEntries(['v', 'to', 'ref', 'from', 'prec', 'salt', 'time', 'type', 'digest'].map((k) => [k, concatBytes(...cborText(k))])) as Record<string, Uint8Array>;

/** The opening in deterministic CBOR, as encodeCbor writes it: written directly, since every receipt carries one. */
export function encodeOpening(o: LeafOpening): Uint8Array {
  if (!Number.isSafeInteger(o.prec) || o.prec < 0 || !Number.isSafeInteger(o.time) || o.time < 0) {
    // Not an opening a relay makes; the general encoder gives it its own answer.
    return encodeCbor({ v: 1, salt: o.salt, type: o.type, from: o.from, to: o.to, prec: o.prec, time: o.time, digest: o.digest, ref: o.ref });
  }
  const k = OPENING_KEYS;
  return concatBytes(
    MAP9,
    k.v!, cborHead(0, 1),
    k.to!, ...cborText(o.to),
    k.ref!, ...cborBytes(o.ref),
    k.from!, ...cborText(o.from),
    k.prec!, cborHead(0, o.prec),
    k.salt!, ...cborBytes(o.salt),
    k.time!, cborHead(0, o.time),
    k.type!, ...cborText(o.type),
    k.digest!, ...cborBytes(o.digest),
  );
}

export function decodeOpening(bytes: Uint8Array): LeafOpening {
  const r = new MapReader(decodeCbor(bytes, 1024), 'leaf opening');
  const v = r.uint('v');
  const o: LeafOpening = {
    salt: r.bytes('salt', { len: 32 }),
    type: r.text('type', { oneOf: RECORD_TYPES }) as RecordType,
    from: r.text('from', { pattern: PARTY_ID_RE }),
    to: r.text('to', { pattern: PARTY_ID_RE }),
    prec: r.uint('prec', { max: 3 }),
    time: r.uint('time'),
    digest: r.bytes('digest', { len: 32 }),
    ref: r.bytes('ref', { len: 32 }),
  };
  if (v !== 1) r.problems.push('leaf opening.v must be 1');
  r.done('receipt_invalid');
  return o;
}

/** A partial opening: for each field, either (field salt, value) or only its hash. */
export type PartialOpening = Record<LeafField, { salt: Uint8Array; value: Uint8Array } | { hash: Uint8Array }>;

export function openFields(o: LeafOpening, reveal: readonly LeafField[]): PartialOpening {
  const out = {} as PartialOpening;
  for (const f of LEAF_FIELDS) {
    const s = fieldSalt(o.salt, f);
    const value = fieldValue(f, o);
    out[f] = reveal.includes(f) ? { salt: s, value } : { hash: fieldHash(f, s, value) };
  }
  return out;
}

export function leafFromPartial(p: PartialOpening): Uint8Array {
  return leafFromFieldHashes(
    LEAF_FIELDS.map((f) => {
      const x = p[f];
      return 'hash' in x ? x.hash : fieldHash(f, x.salt, x.value);
    }),
  );
}

export function encodePartialOpening(p: PartialOpening): CborMap {
  const m: CborMap = {};
  for (const f of LEAF_FIELDS) {
    const x = p[f];
    m[f] = 'hash' in x ? x.hash : { s: x.salt, v: x.value };
  }
  return m;
}

export function decodePartialOpening(v: CborValue): PartialOpening {
  const r = new MapReader(v, 'partial opening');
  const out = {} as PartialOpening;
  for (const f of LEAF_FIELDS) {
    const x = r.raw(f);
    if (x instanceof Uint8Array && x.length === 32) out[f] = { hash: x };
    else {
      const m = new MapReader(x ?? null, `partial opening.${f}`);
      out[f] = { salt: m.bytes('s', { len: 32 }), value: m.bytes('v', { max: 256 }) };
      m.finishInto(r);
    }
  }
  r.done('receipt_invalid');
  return out;
}

/** Checks that an opening matches what the holder expects of its own envelope. */
export function checkOpening(o: LeafOpening, expect: { type: RecordType; digest: Uint8Array; ref?: Uint8Array }): void {
  if (o.type !== expect.type) throw new BackchannelError('commitment_mismatch', `leaf records a ${o.type}, not a ${expect.type}`);
  if (!equalBytes(o.digest, expect.digest)) throw new BackchannelError('commitment_mismatch', 'leaf commits to another envelope');
  if (expect.ref !== undefined && !equalBytes(o.ref, expect.ref)) throw new BackchannelError('commitment_mismatch', 'leaf commits to another token or record');
}
