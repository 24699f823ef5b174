/**
 * Deterministic CBOR (RFC 8949 §4.2.1 "core deterministic encoding") for everything that is
 * signed or hashed, and a strict decoder for everything that arrives from outside.
 *
 * Our profile allows only: unsigned and negative integers within ±(2^53−1), byte strings, text
 * strings, arrays, maps with text keys, booleans and null. No floats, tags, undefined,
 * bignums or indefinite lengths. A decoded value is accepted only if re-encoding it gives back
 * the exact input bytes, so every value has exactly one encoding and copies compare as bytes.
 * `isCanonicalCbor` proves that in one scan for well-formed input, and `buildCanonicalCbor`
 * then builds the value cborg would give; cborg's strict decode and the re-encoding run only for
 * input the scan does not vouch for, where they decide which error to report. Encoding is
 * always cborg's.
 */
import { decode as cborgDecode, encode as cborgEncode, rfc8949EncodeOptions } from 'cborg';
import { BackchannelError } from './errors.js';
import { equalBytes } from './bytes.js';
import { buildCanonicalCbor, isCanonicalCbor } from './cbor-canonical.js';

export type CborValue = number | string | boolean | null | Uint8Array | CborValue[] | CborMap;
export interface CborMap {
  [key: string]: CborValue;
}

/** The default ceiling for one decoded structure; callers with larger objects pass their own. */
export const DEFAULT_MAX_CBOR_BYTES = 8 * 1024 * 1024;
const MAX_DEPTH = 16;

export function encodeCbor(value: CborValue): Uint8Array {
  assertEncodable(value, 0);
  return cborgEncode(value, rfc8949EncodeOptions);
}

function assertEncodable(v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new BackchannelError('schema_invalid', 'structure nested too deeply');
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || v instanceof Uint8Array) return;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new BackchannelError('schema_invalid', `not an integer in the safe range: ${v}`);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) assertEncodable(x, depth + 1);
    return;
  }
  if (typeof v === 'object' && isPlainObject(v)) {
    for (const x of Object.values(v as Record<string, unknown>)) {
      if (x === undefined) throw new BackchannelError('schema_invalid', 'undefined is not encodable; omit the key');
      assertEncodable(x, depth + 1);
    }
    return;
  }
  throw new BackchannelError('schema_invalid', `not encodable in the Backchannel CBOR profile: ${typeof v}`);
}

/** Options of cborg's decoder that keep it to our profile; shared because it is read only. */
const DECODE_OPTIONS = Object.freeze({
  strict: true,
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  tags: [],
});

/**
 * Decodes attacker-controlled bytes. Throws `too_large`, `cbor_malformed` (not CBOR, trailing
 * bytes, forbidden types) or `cbor_non_canonical` (valid CBOR with another encoding than ours).
 */
export function decodeCbor(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_CBOR_BYTES): CborValue {
  checkInput(bytes, maxBytes);
  // Scanned before decoding so that a rejected input meets exactly the checks, in the order and
  // with the errors, of decodeCborByReencoding.
  if (isCanonicalCbor(bytes)) return buildCanonicalCbor(bytes);
  const value = decodeProfile(bytes);
  assertReencodes(value, bytes);
  return value;
}

/**
 * `decodeCbor` without the canonical-form scan: the reference that the scan and the build are
 * tested against (whatever the scan accepts, this must accept with the same value). Not part of
 * the package API.
 */
export function decodeCborByReencoding(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_CBOR_BYTES): CborValue {
  checkInput(bytes, maxBytes);
  const value = decodeProfile(bytes);
  assertReencodes(value, bytes);
  return value;
}

function checkInput(bytes: Uint8Array, maxBytes: number): void {
  if (!(bytes instanceof Uint8Array)) throw new BackchannelError('cbor_malformed', 'input is not bytes');
  if (bytes.length > maxBytes) throw new BackchannelError('too_large', `structure of ${bytes.length} bytes exceeds the limit of ${maxBytes}`);
}

function decodeProfile(bytes: Uint8Array): CborValue {
  let raw: unknown;
  try {
    raw = cborgDecode(bytes, DECODE_OPTIONS);
  } catch (cause) {
    throw new BackchannelError('cbor_malformed', `malformed CBOR: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return fromDecoded(raw, 0);
}

function assertReencodes(value: CborValue, bytes: Uint8Array): void {
  let again: Uint8Array;
  try {
    again = cborgEncode(value, rfc8949EncodeOptions);
  } catch (cause) {
    throw new BackchannelError('cbor_malformed', 'value cannot be re-encoded', { cause });
  }
  if (!equalBytes(again, bytes)) throw new BackchannelError('cbor_non_canonical', 'CBOR is not in deterministic encoding');
}

function fromDecoded(v: unknown, depth: number): CborValue {
  if (depth > MAX_DEPTH) throw new BackchannelError('cbor_malformed', 'structure nested too deeply');
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || v instanceof Uint8Array) return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new BackchannelError('cbor_malformed', 'floats and out-of-range integers are not allowed');
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => fromDecoded(x, depth + 1));
  if (v instanceof Map) {
    const out: CborMap = {};
    for (const [k, x] of v as Map<unknown, unknown>) {
      if (typeof k !== 'string') throw new BackchannelError('cbor_malformed', 'map keys must be text');
      if (k === '__proto__') throw new BackchannelError('cbor_malformed', 'forbidden map key');
      out[k] = fromDecoded(x, depth + 1);
    }
    return out;
  }
  throw new BackchannelError('cbor_malformed', `type not allowed in the Backchannel CBOR profile: ${typeof v}`);
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
