/**
 * Ed25519 (RFC 8032) on node:crypto (OpenSSL), with one strict rule everywhere:
 *  - public keys must be canonical encodings (y < p) and not of small order;
 *  - signatures must have S < L (OpenSSL checks this too; we check first so the rule does not
 *    depend on the OpenSSL build), and R is compared as bytes after recomputation, so a
 *    non-canonical R never verifies.
 * Wrong types and lengths throw `key_invalid`; a signature that does not verify is `false`.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { BackchannelError } from './errors.js';
import { concatBytes, toBase64Url, utf8 } from './bytes.js';
import type { Label } from './labels.js';
import { systemRandom, type Random } from './random.js';

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

// The eight small-order points' canonical encodings (and y=1/y=p-1 variants are among them).
const SMALL_ORDER_HEX = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
]);

function leToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

/** True when `pub` is a canonical, non-small-order Ed25519 point encoding (curve membership is left to OpenSSL). */
export function isStrictPublicKey(pub: Uint8Array): boolean {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) return false;
  const y = leToBigint(pub) & ((1n << 255n) - 1n);
  if (y >= P) return false;
  return !SMALL_ORDER_HEX.has(Buffer.from(pub).toString('hex'));
}

// Importing a key costs ~65 µs as DER and ~4 µs as JWK (NODE20.md); hot paths verify against
// a handful of keys, so cache the KeyObjects. Bounded so hostile input cannot grow it forever.
const PUBLIC_CACHE_MAX = 4096;
const publicCache = new Map<string, KeyObject>();

function publicKeyObject(pub: Uint8Array): KeyObject {
  const k = Buffer.from(pub).toString('hex');
  let obj = publicCache.get(k);
  if (obj === undefined) {
    assertPublicKey(pub);
    try {
      obj = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(pub) }, format: 'jwk' });
    } catch (cause) {
      throw new BackchannelError('key_invalid', 'not an Ed25519 public key', { cause });
    }
    if (publicCache.size >= PUBLIC_CACHE_MAX) publicCache.delete(publicCache.keys().next().value!);
    publicCache.set(k, obj);
  }
  return obj;
}

export function assertPublicKey(pub: unknown): asserts pub is Uint8Array {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) throw new BackchannelError('key_invalid', 'an Ed25519 public key is 32 bytes');
  if (!isStrictPublicKey(pub)) throw new BackchannelError('key_invalid', 'non-canonical or small-order Ed25519 public key');
}

/** An Ed25519 private key held in memory. The seed never leaves through this interface except `exportSeed`. */
export class Ed25519Key {
  readonly publicKey: Uint8Array;
  readonly #priv: KeyObject;
  readonly #seed: Uint8Array;

  private constructor(seed: Uint8Array) {
    this.#seed = Uint8Array.from(seed);
    this.#priv = createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_PREFIX, seed)), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(this.#priv).export({ format: 'der', type: 'spki' });
    this.publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  }

  static fromSeed(seed: Uint8Array): Ed25519Key {
    if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new BackchannelError('key_invalid', 'an Ed25519 seed is 32 bytes');
    return new Ed25519Key(seed);
  }

  static generate(random: Random = systemRandom): Ed25519Key {
    return new Ed25519Key(random(32));
  }

  /** Raw RFC 8032 signature over `msg`, for formats that define their own framing (C2SP notes). */
  signRaw(msg: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, msg, this.#priv));
  }

  /** Signature over `label || 0x00 || msg` (see labels.ts), the message given whole or in parts. */
  sign(label: Label, ...msg: Uint8Array[]): Uint8Array {
    return this.signRaw(labelled(label, ...msg));
  }

  exportSeed(): Uint8Array {
    return Uint8Array.from(this.#seed);
  }

  /** Keep seeds out of logs and JSON by accident. */
  toJSON(): { publicKey: string } {
    return { publicKey: Buffer.from(this.publicKey).toString('hex') };
  }
}

/** `label || 0x00 || msg`, the message given whole or in parts (joined once, here). */
export function labelled(label: Label, ...msg: Uint8Array[]): Uint8Array {
  return concatBytes(utf8(label), Uint8Array.of(0), ...msg);
}

/** Raw RFC 8032 verification under the strict rule above. */
export function verifyRaw(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) throw new BackchannelError('key_invalid', 'an Ed25519 public key is 32 bytes');
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new BackchannelError('key_invalid', 'an Ed25519 signature is 64 bytes');
  if (!(msg instanceof Uint8Array)) throw new BackchannelError('key_invalid', 'message must be bytes');
  const key = publicKeyObject(pub); // checks strictness once per key, then cached
  // S < 2^252 needs no big-integer comparison; only the top nibble's rare values do.
  if ((sig[63]! & 0xf0) !== 0 && leToBigint(sig.subarray(32)) >= L) return false;
  return nodeVerify(null, msg, key, sig);
}

export function verify(pub: Uint8Array, label: Label, msg: Uint8Array, sig: Uint8Array): boolean {
  return verifyRaw(pub, labelled(label, msg), sig);
}
