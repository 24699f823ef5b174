/**
 * HPKE key pairs of a party's encryption keys: generation, raw serialization and import.
 *
 * Keys travel as raw bytes (RFC 9180 §7.1.1 SerializePublicKey / SerializePrivateKey; X-Wing's
 * private key is its 32-byte seed). Importing costs (a KeyObject, a validity check, X-Wing's
 * seed expansion), so an imported key keeps its CryptoKey, and public keys imported from bytes
 * are cached. Wrong lengths and invalid keys are 'key_invalid'.
 */
import { XWing } from '@hpke/hybridkem-x-wing';
import { BackchannelError } from '../errors.js';
import { systemRandom, type Random } from '../random.js';
import { cipherSuiteFor } from './cipher-suite.js';
import { deriveX25519PrivateKey, importX25519PrivateKey, importX25519PublicKey, isLowOrderX25519Point, x25519KeyPairOf } from './node-kem.js';
import type { Suite } from './suite.js';

// Lets keys.ts alone construct keys, so a key object always holds a validated CryptoKey.
const MINT: unique symbol = Symbol('hpke-key');
const publicCryptoKeys = new WeakMap<HpkePublicKey, CryptoKey>();
const privateCryptoKeys = new WeakMap<HpkePrivateKey, CryptoKeyPair>();

export class HpkePublicKey {
  readonly suite: Suite;
  readonly #raw: Uint8Array;

  /** @internal Use importPublicKey. */
  constructor(mint: typeof MINT, suite: Suite, raw: Uint8Array, cryptoKey: CryptoKey) {
    if (mint !== MINT) throw new TypeError('use importPublicKey');
    this.suite = suite;
    this.#raw = Uint8Array.from(raw);
    publicCryptoKeys.set(this, cryptoKey);
  }

  /** The serialized public key (a copy). */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.#raw);
  }

  toJSON(): { suite: string; publicKey: string } {
    return { suite: this.suite.name, publicKey: Buffer.from(this.#raw).toString('hex') };
  }
}

export class HpkePrivateKey {
  readonly suite: Suite;
  readonly publicKey: HpkePublicKey;
  readonly #raw: Uint8Array;

  /** @internal Use importPrivateKey, generateKeyPair or deriveKeyPair. */
  constructor(mint: typeof MINT, suite: Suite, raw: Uint8Array, pair: CryptoKeyPair, publicKey: HpkePublicKey) {
    if (mint !== MINT) throw new TypeError('use importPrivateKey');
    this.suite = suite;
    this.#raw = Uint8Array.from(raw);
    this.publicKey = publicKey;
    privateCryptoKeys.set(this, pair);
  }

  /** The serialized private key (a copy). The only way secret bytes leave this object. */
  exportBytes(): Uint8Array {
    return Uint8Array.from(this.#raw);
  }

  /** Keep private keys out of logs and JSON by accident. */
  toJSON(): { suite: string; publicKey: string } {
    return this.publicKey.toJSON();
  }
}

export interface HpkeKeyPair {
  readonly publicKey: HpkePublicKey;
  readonly privateKey: HpkePrivateKey;
}

/** @internal The CryptoKey seal.ts hands to @hpke/core. */
export function cryptoKeyOf(key: HpkePublicKey): CryptoKey {
  const k = publicCryptoKeys.get(key);
  if (k === undefined) throw new TypeError('not an imported HPKE public key');
  return k;
}

/** @internal The CryptoKeyPair seal.ts hands to @hpke/core (a pair spares the KEM re-deriving pkR). */
export function cryptoKeyPairOf(key: HpkePrivateKey): CryptoKeyPair {
  const k = privateCryptoKeys.get(key);
  if (k === undefined) throw new TypeError('not an imported HPKE private key');
  return k;
}

function keyInvalid(message: string, suite: Suite, cause?: unknown): BackchannelError {
  return new BackchannelError('key_invalid', message, { details: { suite: suite.name }, ...(cause === undefined ? {} : { cause }) });
}

function checkBytes(x: unknown, length: number, what: string, suite: Suite): asserts x is Uint8Array {
  if (!(x instanceof Uint8Array)) throw keyInvalid(`${what} must be bytes`, suite);
  if (x.length !== length) throw keyInvalid(`${what} for suite ${suite.name} is ${length} bytes, not ${x.length}`, suite);
}

// FIPS 203 §7.2 "modulus check" on an ML-KEM-768 encapsulation key: its first 384·k bytes
// are ByteEncode12 of k·256 coefficients, two per three bytes, each of which must be < q.
const MLKEM_Q = 3329;
const MLKEM768_T_BYTES = 384 * 3;

function passesMlKemModulusCheck(ek: Uint8Array): boolean {
  for (let i = 0; i < MLKEM768_T_BYTES; i += 3) {
    const b0 = ek[i]!;
    const b1 = ek[i + 1]!;
    const b2 = ek[i + 2]!;
    if ((b0 | ((b1 & 0x0f) << 8)) >= MLKEM_Q || ((b1 >> 4) | (b2 << 4)) >= MLKEM_Q) return false;
  }
  return true;
}

/** The suite-specific validity rules beyond length; the reasons a public key is refused. */
function checkPublicKeyValue(suite: Suite, raw: Uint8Array): void {
  switch (suite.name) {
    case 'x25519':
      if (isLowOrderX25519Point(raw)) throw keyInvalid('X25519 public key is a point of small order', suite);
      return;
    case 'xwing':
      if (!passesMlKemModulusCheck(raw.subarray(0, 1184))) throw keyInvalid('X-Wing public key fails the ML-KEM modulus check', suite);
      // X-Wing itself tolerates a degenerate X25519 half (ML-KEM carries the security), but
      // an honest key never has one: refusing it keeps a key from being silently half-strength.
      if (isLowOrderX25519Point(raw.subarray(1184))) throw keyInvalid('X-Wing public key has a small-order X25519 part', suite);
      return;
  }
}

async function mintPublicKey(suite: Suite, raw: Uint8Array): Promise<HpkePublicKey> {
  let cryptoKey: CryptoKey;
  try {
    cryptoKey = suite.name === 'x25519' ? importX25519PublicKey(raw) : await cipherSuiteFor(suite).kem.deserializePublicKey(raw);
  } catch (cause) {
    throw keyInvalid('public key rejected by the KEM', suite, cause);
  }
  return new HpkePublicKey(MINT, suite, raw, cryptoKey);
}

// Senders encrypt to a handful of party keys again and again; the validity check alone is an
// X25519 operation. Bounded, so a stream of hostile keys cannot grow it without limit.
const PUBLIC_CACHE_MAX = 1024;
const publicCache = new Map<string, HpkePublicKey>();

/** Imports a serialized public key; 'key_invalid' on a wrong length or an invalid key. */
export async function importPublicKey(suite: Suite, bytes: Uint8Array): Promise<HpkePublicKey> {
  checkBytes(bytes, suite.publicKeySize, 'public key', suite);
  const cacheKey = `${suite.name}:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
  const cached = publicCache.get(cacheKey);
  if (cached !== undefined) return cached;
  checkPublicKeyValue(suite, bytes);
  const key = await mintPublicKey(suite, bytes);
  if (publicCache.size >= PUBLIC_CACHE_MAX) publicCache.delete(publicCache.keys().next().value!);
  publicCache.set(cacheKey, key);
  return key;
}

/** The serialized public key. */
export function serializePublicKey(key: HpkePublicKey): Uint8Array {
  return key.toBytes();
}

/** Imports a serialized private key; 'key_invalid' on a wrong length. Any 32 bytes are a key of either suite. */
export async function importPrivateKey(suite: Suite, bytes: Uint8Array): Promise<HpkePrivateKey> {
  checkBytes(bytes, suite.privateKeySize, 'private key', suite);
  try {
    switch (suite.name) {
      case 'x25519':
        return await mintPrivateKey(suite, bytes, x25519KeyPairOf(importX25519PrivateKey(bytes)));
      case 'xwing':
        // The seed expands (SHAKE256) to the ML-KEM and X25519 keys; the public key comes with it.
        // A fresh copy: the library keeps a view of `sk.buffer` as the key, so it must own it.
        return await mintPrivateKey(suite, bytes, await xWingKem(suite).generateKeyPairDerand(Uint8Array.from(bytes)));
    }
  } catch (cause) {
    if (cause instanceof BackchannelError) throw cause;
    throw keyInvalid('private key rejected by the KEM', suite, cause);
  }
}

/** The serialized private key (X-Wing: its seed). Secret: for the station's encrypted key store only. */
export function serializePrivateKey(key: HpkePrivateKey): Uint8Array {
  return key.exportBytes();
}

/**
 * RFC 9180 §7.1.3 DeriveKeyPair(ikm) (X-Wing: its own DeriveKeyPair, SHAKE256 of ikm to the seed).
 * `ikm` must hold at least Nsk bytes of entropy; shorter input is 'key_invalid'.
 */
export async function deriveKeyPair(suite: Suite, ikm: Uint8Array): Promise<HpkeKeyPair> {
  if (!(ikm instanceof Uint8Array) || ikm.length < suite.privateKeySize) {
    throw keyInvalid(`DeriveKeyPair needs at least ${suite.privateKeySize} bytes of input keying material`, suite);
  }
  let pair: CryptoKeyPair;
  let skRaw: Uint8Array;
  switch (suite.name) {
    case 'x25519': {
      const sk = deriveX25519PrivateKey(ikm);
      pair = x25519KeyPairOf(sk);
      skRaw = new Uint8Array(await cipherSuiteFor(suite).kem.serializePrivateKey(sk));
      break;
    }
    case 'xwing': {
      const kem = cipherSuiteFor(suite).kem;
      pair = await kem.deriveKeyPair(ikm);
      // slice(): the library hands out the key's own buffer, and skRaw is wiped below.
      skRaw = new Uint8Array(await kem.serializePrivateKey(pair.privateKey)).slice();
      break;
    }
  }
  try {
    const privateKey = await mintPrivateKey(suite, skRaw, pair);
    return { publicKey: privateKey.publicKey, privateKey };
  } finally {
    skRaw.fill(0);
  }
}

/**
 * A fresh key pair: DeriveKeyPair over IKM drawn from `random`, so a deterministic Random
 * gives reproducible keys in tests and vectors. Production passes nothing: system randomness.
 */
export async function generateKeyPair(suite: Suite, random: Random = systemRandom): Promise<HpkeKeyPair> {
  const ikm = random(suite.keyGenRandomSize);
  try {
    return await deriveKeyPair(suite, ikm);
  } finally {
    ikm.fill(0);
  }
}

async function mintPrivateKey(suite: Suite, skRaw: Uint8Array, pair: CryptoKeyPair): Promise<HpkePrivateKey> {
  const pkRaw = new Uint8Array(await cipherSuiteFor(suite).kem.serializePublicKey(pair.publicKey)).slice();
  if (pkRaw.length !== suite.publicKeySize) throw new Error(`KEM produced a ${pkRaw.length}-byte public key for suite ${suite.name}`);
  const publicKey = new HpkePublicKey(MINT, suite, pkRaw, pair.publicKey);
  return new HpkePrivateKey(MINT, suite, skRaw, pair, publicKey);
}

function xWingKem(suite: Suite): XWing {
  const kem = cipherSuiteFor(suite).kem;
  if (!(kem instanceof XWing)) throw new Error('suite xwing is not backed by the X-Wing KEM');
  return kem;
}
