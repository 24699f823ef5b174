/**
 * HKDF-SHA256 (RFC 5869) for @hpke/core's `KdfInterface`, on node:crypto's HMAC and HKDF,
 * with the labelled framing of RFC 9180 §4.
 *
 * Why: the stock `HkdfSha256` runs every Extract and Expand through WebCrypto, which imports
 * a key and hops to the thread pool on each call. One HPKE seal makes about ten such calls
 * (DeriveKeyPair, the KEM's ExtractAndExpand, the key schedule of §5.1), and together they
 * cost more than the X25519 and the AEAD. Here each is one synchronous OpenSSL call.
 */
import { createHmac } from 'node:crypto';
import { KdfId, type KdfInterface } from '@hpke/core';
import { BoundedCache } from '../bounded-cache.js';
import { concatBytes } from '../bytes.js';
import { asBytes, settle, toOwnArrayBuffer } from './adapt.js';

const HASH = 'sha256';
const NH = 32;
const EMPTY = new Uint8Array(0);
// RFC 9180 §4: every labelled input starts with the version string "HPKE-v1".
const HPKE_VERSION = new TextEncoder().encode('HPKE-v1');

// RFC 9180 §4: labeled_ikm = concat("HPKE-v1", suite_id, label, ikm)
export function buildLabeledIkm(suiteId: Uint8Array, label: Uint8Array, ikm: Uint8Array): Uint8Array {
  return concatBytes(HPKE_VERSION, suiteId, label, ikm);
}

// RFC 9180 §4: labeled_info = concat(I2OSP(L, 2), "HPKE-v1", suite_id, label, info)
export function buildLabeledInfo(suiteId: Uint8Array, label: Uint8Array, info: Uint8Array, len: number): Uint8Array {
  checkLength(len);
  return concatBytes(Uint8Array.of(len >>> 8, len & 0xff), HPKE_VERSION, suiteId, label, info);
}

// RFC 5869 §2.2. An empty salt is HMAC's all-zero key of HashLen bytes, by HMAC's own padding.
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return createHmac(HASH, salt).update(ikm).digest();
}

// RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) || info || i). node:crypto offers Extract+Expand
// only as one call, so Expand alone (DeriveKeyPair, the exporter) is this loop.
export function hkdfExpand(prk: Uint8Array, info: Uint8Array, len: number): Uint8Array<ArrayBuffer> {
  checkLength(len);
  const out = new Uint8Array(len);
  let t = EMPTY;
  for (let i = 1, off = 0; off < len; i++, off += NH) {
    t = createHmac(HASH, prk).update(t).update(info).update(Uint8Array.of(i)).digest();
    out.set(t.subarray(0, Math.min(NH, len - off)), off);
  }
  return out;
}

// Two HMACs for the key schedule's 12- to 32-byte outputs. Not node's hkdfSync: it builds a
// KeyObject per call and cost about twice as much here (~30 µs against ~16 µs, Node 20).
export function hkdfExtractAndExpand(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, len: number): Uint8Array<ArrayBuffer> {
  checkLength(len);
  const prk = hkdfExtract(salt, ikm);
  try {
    return hkdfExpand(prk, info, len);
  } finally {
    prk.fill(0);
  }
}

export function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, label: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hkdfExtract(salt, buildLabeledIkm(suiteId, label, ikm));
}

export function labeledExpand(suiteId: Uint8Array, prk: Uint8Array, label: Uint8Array, info: Uint8Array, len: number): Uint8Array<ArrayBuffer> {
  return hkdfExpand(prk, buildLabeledInfo(suiteId, label, info, len), len);
}

// RFC 9180 §5.1: psk_id_hash and info_hash are LabeledExtract("", label, x) of public inputs
// (the empty psk_id of mode_base, the envelope's fixed info), the same for every seal and open
// of a suite. Only these two labels are remembered: every other extract takes secrets.
const PUBLIC_LABELS = new Set(['psk_id_hash', 'info_hash']);
const publicExtracts = new BoundedCache<string, Uint8Array>(64);

/** labeledExtract, remembered when its inputs are public by construction (see above). */
export function labeledExtractPublic(suiteId: Uint8Array, salt: Uint8Array, label: Uint8Array, ikm: Uint8Array): Uint8Array {
  const labelText = Buffer.from(label).toString('latin1');
  if (salt.length !== 0 || !PUBLIC_LABELS.has(labelText)) return labeledExtract(suiteId, salt, label, ikm);
  const k = `${Buffer.from(suiteId).toString('hex')}/${labelText}/${Buffer.from(ikm.buffer, ikm.byteOffset, ikm.byteLength).toString('hex')}`;
  let out = publicExtracts.get(k);
  if (out === undefined) {
    out = labeledExtract(suiteId, salt, label, ikm);
    publicExtracts.set(k, out);
  }
  // A copy: the caller owns what it gets.
  return Uint8Array.from(out);
}

function checkLength(len: number): void {
  // L is encoded in two bytes, and HKDF-Expand yields at most 255 blocks (RFC 5869 §2.3).
  if (!Number.isInteger(len) || len <= 0 || len > 255 * NH) throw new RangeError('HKDF output length out of range');
}

/** The KdfInterface object. Stateful (`init` sets suite_id): one instance per KEM or cipher suite. */
export class NodeHkdfSha256 implements KdfInterface {
  readonly id = KdfId.HkdfSha256;
  readonly hashSize = NH;
  #suiteId: Uint8Array = EMPTY;

  init(suiteId: Uint8Array): void {
    this.#suiteId = Uint8Array.from(suiteId);
  }

  buildLabeledIkm(label: Uint8Array, ikm: Uint8Array): Uint8Array {
    return buildLabeledIkm(this.#checkedSuiteId(), label, ikm);
  }

  buildLabeledInfo(label: Uint8Array, info: Uint8Array, len: number): Uint8Array {
    return buildLabeledInfo(this.#checkedSuiteId(), label, info, len);
  }

  extract(salt: ArrayBufferLike | ArrayBufferView, ikm: ArrayBufferLike | ArrayBufferView): Promise<ArrayBuffer> {
    return settle(() => toOwnArrayBuffer(hkdfExtract(asBytes(salt), asBytes(ikm))));
  }

  expand(prk: ArrayBufferLike | ArrayBufferView, info: ArrayBufferLike | ArrayBufferView, len: number): Promise<ArrayBuffer> {
    return settle(() => hkdfExpand(asBytes(prk), asBytes(info), len).buffer);
  }

  extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return settle(() => hkdfExtractAndExpand(asBytes(salt), asBytes(ikm), asBytes(info), len).buffer);
  }

  labeledExtract(salt: ArrayBufferLike | ArrayBufferView, label: Uint8Array, ikm: Uint8Array): Promise<ArrayBuffer> {
    return settle(() => toOwnArrayBuffer(labeledExtractPublic(this.#checkedSuiteId(), asBytes(salt), label, ikm)));
  }

  labeledExpand(prk: ArrayBufferLike | ArrayBufferView, label: Uint8Array, info: Uint8Array, len: number): Promise<ArrayBuffer> {
    return settle(() => labeledExpand(this.#checkedSuiteId(), asBytes(prk), label, info, len).buffer);
  }

  #checkedSuiteId(): Uint8Array {
    if (this.#suiteId.length === 0) throw new Error('NodeHkdfSha256 used before init(suite_id)');
    return this.#suiteId;
  }
}
