/**
 * The one signed wrapper every Backchannel structure uses:
 *
 *   Signed = { "b": body (canonical CBOR bytes), "k": signer's Ed25519 public key, "s": signature }
 *   s = Ed25519(k, label || 0x00 || b)
 *
 * Carrying the key lets a receiver verify BEFORE it parses the body (STYLE.md §4); whether the
 * key is entitled to sign that body (a pinned root, a certified station, a relay's log key) is
 * the caller's next check, made against the parsed body.
 */
import { decodeCbor, encodeCbor, type CborMap, type CborValue } from './cbor.js';
import { assertPublicKey, verify, type Ed25519Key } from './ed25519.js';
import { BackchannelError, type ErrorCode } from './errors.js';
import type { Label } from './labels.js';
import { MapReader } from './schema.js';

export interface Opened {
  /** The decoded body, verified but not yet schema-checked. */
  readonly body: CborValue;
  readonly bodyBytes: Uint8Array;
  readonly key: Uint8Array;
  readonly sig: Uint8Array;
  /** The exact bytes of the whole wrapper. */
  readonly bytes: Uint8Array;
}

export function signStructure(key: Ed25519Key, label: Label, body: CborMap): Uint8Array {
  const b = encodeCbor(body);
  return encodeCbor({ b, k: key.publicKey, s: key.sign(label, b) });
}

/** A wrapper whose structure and key were read, its signature not yet checked. */
export type SignedWrapper = Omit<Opened, 'body'>;

/**
 * The wrapper's structure and key, without the signature check: for a caller that checks many
 * signatures at once elsewhere (the relay's verification pool), then calls `openVerified`.
 * `code` is the error for a structural problem of this kind of object (e.g. 'token_invalid').
 */
export function readSigned(bytes: Uint8Array, code: ErrorCode, maxBytes?: number): SignedWrapper {
  const outer = decodeCbor(bytes, maxBytes);
  const r = new MapReader(outer, 'signed structure');
  const b = r.bytes('b');
  const k = r.bytes('k', { len: 32 });
  const s = r.bytes('s', { len: 64 });
  r.done(code);
  try {
    assertPublicKey(k);
  } catch (cause) {
    throw new BackchannelError(code, 'signed structure names an invalid key', { cause });
  }
  return { bodyBytes: b, key: k, sig: s, bytes };
}

/** The error of a signature that does not verify, the same wherever it was checked. */
export function signatureInvalid(label: Label): BackchannelError {
  return new BackchannelError('signature_invalid', `signature does not verify (${label})`);
}

/** Decodes the body of a wrapper whose signature the caller has verified. */
export function openVerified(w: SignedWrapper, maxBytes?: number): Opened {
  return { ...w, body: decodeCbor(w.bodyBytes, maxBytes) };
}

/**
 * One kind of Signed structure's readers, all ending in `from` (its body's schema): `open`
 * checks the signature here; `read` then `openVerified` are the same in two steps, for a caller
 * that checks many signatures at once elsewhere (the relay's verification pool) — same result,
 * same errors.
 */
export interface SignedReader<T> {
  readonly open: (bytes: Uint8Array) => T;
  readonly read: (bytes: Uint8Array) => SignedWrapper;
  readonly openVerified: (w: SignedWrapper) => T;
}

export function signedReader<T>(label: Label, code: ErrorCode, maxBytes: number, from: (o: Opened) => T): SignedReader<T> {
  return {
    open: (bytes) => from(openSigned(bytes, label, code, maxBytes)),
    read: (bytes) => readSigned(bytes, code, maxBytes),
    openVerified: (w) => from(openVerified(w, maxBytes)),
  };
}

/**
 * Decodes the wrapper, checks the signature with the key it names, then decodes the body.
 * `code` is the error for a structural problem of this kind of object (e.g. 'token_invalid').
 */
export function openSigned(bytes: Uint8Array, label: Label, code: ErrorCode, maxBytes?: number): Opened {
  const w = readSigned(bytes, code, maxBytes);
  if (!verify(w.key, label, w.bodyBytes, w.sig)) throw signatureInvalid(label);
  return openVerified(w, maxBytes);
}
