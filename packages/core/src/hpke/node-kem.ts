/**
 * DHKEM(X25519, HKDF-SHA256) (RFC 9180 §4.1, KEM id 0x0020) for @hpke/core's `KemInterface`,
 * with X25519 from node:crypto (OpenSSL) and HKDF from node-kdf.ts.
 *
 * Why: the stock `DhkemX25519HkdfSha256` drives WebCrypto, where every key import, export,
 * derivation and HMAC is a separate asynchronous job; an encapsulation costs ~0.7 ms. Here
 * it is one key import and two X25519 operations, all synchronous.
 *
 * Keys are `NodeX25519Key`s: `CryptoKey`-shaped (the interface demands it) but holding a
 * node `KeyObject`. They work only with this KEM, and stock keys only with the stock KEM.
 * Auth modes are not offered: Backchannel authenticates envelopes with signatures.
 */
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes, type KeyObject } from 'node:crypto';
import {
  DecapError,
  DeriveKeyPairError,
  DeserializeError,
  EncapError,
  KemId,
  NotSupportedError,
  SerializeError,
  type KemInterface,
  type RecipientContextParams,
  type SenderContextParams,
} from '@hpke/core';
import { concatBytes, fromBase64Url, toBase64Url } from '../bytes.js';
import { asBytes, settle, toOwnArrayBuffer } from './adapt.js';
import { labeledExpand, labeledExtract } from './node-kdf.js';

const NSECRET = 32;
const NENC = 32;
const NPK = 32;
const NSK = 32;
const EMPTY = new Uint8Array(0);
const label = (s: string): Uint8Array => new TextEncoder().encode(s);
const LABEL_DKP_PRK = label('dkp_prk');
const LABEL_SK = label('sk');
const LABEL_EAE_PRK = label('eae_prk');
const LABEL_SHARED_SECRET = label('shared_secret');
// RFC 9180 §4.1: suite_id = concat("KEM", I2OSP(kem_id, 2))
const KEM_SUITE_ID = Uint8Array.of(0x4b, 0x45, 0x4d, 0x00, 0x20);

/** An X25519 key for this KEM. A private key carries its public half (pkRm is needed to decap). */
export class NodeX25519Key implements CryptoKey {
  readonly algorithm: KeyAlgorithm = { name: 'X25519' };
  readonly extractable = true;
  readonly type: KeyType;
  readonly usages: KeyUsage[];
  readonly keyObject: KeyObject;
  /** The 32-byte public key: of this key, or of this private key's pair. */
  readonly publicBytes: Uint8Array;

  constructor(type: 'public' | 'private', keyObject: KeyObject, publicBytes: Uint8Array) {
    this.type = type;
    this.usages = type === 'private' ? ['deriveBits'] : [];
    this.keyObject = keyObject;
    this.publicBytes = publicBytes;
  }

  /** Keep key objects out of logs and JSON by accident. */
  toJSON(): { type: KeyType; publicKey: string } {
    return { type: this.type, publicKey: Buffer.from(this.publicBytes).toString('hex') };
  }
}

/**
 * Any 32 bytes parse as an X25519 public key (RFC 7748 §5). Decap parses attacker-controlled
 * `enc` with this: a small-order point fails at DH. keys.ts refuses such points on import.
 */
export function importX25519PublicKey(raw: Uint8Array): NodeX25519Key {
  if (raw.length !== NPK) throw new Error('an X25519 public key is 32 bytes');
  const obj = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(raw) }, format: 'jwk' });
  return new NodeX25519Key('public', obj, Uint8Array.from(raw));
}

/**
 * Any 32 bytes are an X25519 private key (clamping happens inside X25519, RFC 7748 §5).
 * The JWK route costs ~40 µs; PKCS#8 DER costs ~350 µs through OpenSSL 3's decoders. Node
 * builds an OKP private key from `d` alone; `x` must be a string but is not read.
 */
export function importX25519PrivateKey(raw: Uint8Array): NodeX25519Key {
  if (raw.length !== NSK) throw new Error('an X25519 private key is 32 bytes');
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: toBase64Url(raw), x: '' }, format: 'jwk' });
  const x = createPublicKey(priv).export({ format: 'jwk' }).x;
  if (x === undefined) throw new Error('X25519 public key export failed');
  return new NodeX25519Key('private', priv, fromBase64Url(x));
}

export function exportX25519PrivateKey(key: NodeX25519Key): Uint8Array {
  const d = nodeKey(key, 'private').keyObject.export({ format: 'jwk' }).d;
  if (d === undefined) throw new Error('X25519 private key export failed');
  return fromBase64Url(d);
}

/** RFC 9180 §4 GenerateKeyPair: an X25519 private key is 32 uniformly random bytes (RFC 7748 §6.1). */
function freshX25519PrivateKey(): NodeX25519Key {
  const sk = randomBytes(NSK);
  try {
    return importX25519PrivateKey(sk);
  } finally {
    sk.fill(0);
  }
}

/** RFC 9180 §7.1.3 DeriveKeyPair for X25519: sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", 32). */
export function deriveX25519PrivateKey(ikm: Uint8Array): NodeX25519Key {
  // §7.1.3: the IKM must carry at least Nsk bytes of entropy, so it is at least that long.
  if (ikm.length < NSK) throw new Error('DeriveKeyPair needs at least 32 bytes of input keying material');
  const dkpPrk = labeledExtract(KEM_SUITE_ID, EMPTY, LABEL_DKP_PRK, ikm);
  const sk = labeledExpand(KEM_SUITE_ID, dkpPrk, LABEL_SK, EMPTY, NSK);
  try {
    return importX25519PrivateKey(sk);
  } finally {
    sk.fill(0);
  }
}

/** X25519 with the all-zero check that RFC 9180 §7.1.4 requires of DH(): a small-order peer point. */
function dh(sk: NodeX25519Key, pk: NodeX25519Key): Uint8Array {
  // OpenSSL already refuses an all-zero output; the check below keeps the rule independent of the build.
  const z = diffieHellman({ privateKey: sk.keyObject, publicKey: pk.keyObject });
  let acc = 0;
  for (const b of z) acc |= b;
  if (acc === 0) throw new Error('X25519 output is all zero');
  return z;
}

// RFC 9180 §4.1 ExtractAndExpand(dh, kem_context)
function extractAndExpand(dhOut: Uint8Array, kemContext: Uint8Array): Uint8Array<ArrayBuffer> {
  const eaePrk = labeledExtract(KEM_SUITE_ID, EMPTY, LABEL_EAE_PRK, dhOut);
  return labeledExpand(KEM_SUITE_ID, eaePrk, LABEL_SHARED_SECRET, kemContext, NSECRET);
}

function isKeyPair(x: unknown): x is CryptoKeyPair {
  return typeof x === 'object' && x !== null && 'privateKey' in x && 'publicKey' in x;
}

function nodeKey(k: unknown, type: KeyType): NodeX25519Key {
  if (!(k instanceof NodeX25519Key) || k.type !== type) throw new Error(`expected a ${type} NodeX25519Key`);
  return k;
}

function privateOf(k: CryptoKey | CryptoKeyPair): NodeX25519Key {
  return nodeKey(isKeyPair(k) ? k.privateKey : k, 'private');
}

export class NodeDhkemX25519HkdfSha256 implements KemInterface {
  readonly id = KemId.DhkemX25519HkdfSha256;
  readonly secretSize = NSECRET;
  readonly encSize = NENC;
  readonly publicKeySize = NPK;
  readonly privateKeySize = NSK;

  serializePublicKey(key: CryptoKey): Promise<ArrayBuffer> {
    return settle(() => toOwnArrayBuffer(nodeKey(key, 'public').publicBytes)).catch((e: unknown) => Promise.reject(new SerializeError(e)));
  }

  deserializePublicKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    return settle(() => importX25519PublicKey(asBytes(key))).catch((e: unknown) => Promise.reject(new DeserializeError(e)));
  }

  serializePrivateKey(key: CryptoKey): Promise<ArrayBuffer> {
    return settle(() => toOwnArrayBuffer(exportX25519PrivateKey(nodeKey(key, 'private')))).catch((e: unknown) =>
      Promise.reject(new SerializeError(e)),
    );
  }

  deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    return settle(() => importX25519PrivateKey(asBytes(key))).catch((e: unknown) => Promise.reject(new DeserializeError(e)));
  }

  /** Raw keys only: Backchannel stores and transmits raw 32-byte keys, never JWK. */
  importKey(format: 'raw' | 'jwk', key: ArrayBuffer | JsonWebKey, isPublic = true): Promise<CryptoKey> {
    if (format !== 'raw' || !(key instanceof ArrayBuffer)) return Promise.reject(new NotSupportedError('only raw X25519 keys'));
    return isPublic ? this.deserializePublicKey(key) : this.deserializePrivateKey(key);
  }

  generateKeyPair(): Promise<CryptoKeyPair> {
    return settle(() => pairOf(freshX25519PrivateKey())).catch((e: unknown) => Promise.reject(new NotSupportedError(e)));
  }

  deriveKeyPair(ikm: ArrayBufferLike | ArrayBufferView): Promise<CryptoKeyPair> {
    return settle(() => pairOf(deriveX25519PrivateKey(asBytes(ikm)))).catch((e: unknown) => Promise.reject(new DeriveKeyPairError(e)));
  }

  /**
   * RFC 9180 §4.1 Encap(pkR). The ephemeral key is fresh from the system CSPRNG, unless
   * `ekm` is given: then it is DeriveKeyPair(ekm) (how the RFC's vectors fix it, and how
   * seal.ts makes protocol vectors reproducible from an injected Random).
   */
  encap(params: SenderContextParams): Promise<{ sharedSecret: ArrayBuffer; enc: ArrayBuffer }> {
    return settle(() => {
      if (params.senderKey !== undefined) throw new NotSupportedError('auth mode is not offered');
      const pkR = nodeKey(params.recipientPublicKey, 'public');
      const ekm = params.ekm;
      const skE =
        ekm === undefined
          ? freshX25519PrivateKey()
          : isKeyPair(ekm)
            ? privateOf(ekm)
            : deriveX25519PrivateKey(asBytes(ekm));
      const enc = skE.publicBytes;
      const sharedSecret = extractAndExpand(dh(skE, pkR), concatBytes(enc, pkR.publicBytes));
      return { sharedSecret: sharedSecret.buffer, enc: toOwnArrayBuffer(enc) };
    }).catch((e: unknown) => Promise.reject(e instanceof NotSupportedError ? e : new EncapError(e)));
  }

  /** RFC 9180 §4.1 Decap(enc, skR). `enc` is attacker-controlled: any 32 bytes parse; a bad point fails at DH. */
  decap(params: RecipientContextParams): Promise<ArrayBuffer> {
    return settle(() => {
      if (params.senderPublicKey !== undefined) throw new NotSupportedError('auth mode is not offered');
      const enc = asBytes(params.enc);
      const pkE = importX25519PublicKey(enc);
      const skR = privateOf(params.recipientKey);
      return extractAndExpand(dh(skR, pkE), concatBytes(enc, skR.publicBytes)).buffer;
    }).catch((e: unknown) => Promise.reject(e instanceof NotSupportedError ? e : new DecapError(e)));
  }
}

function pairOf(sk: NodeX25519Key): CryptoKeyPair {
  const pk = new NodeX25519Key('public', createPublicKey(sk.keyObject), sk.publicBytes);
  return { privateKey: sk, publicKey: pk };
}

let probeKey: NodeX25519Key | undefined;

/**
 * True when `raw` is a point of small order (on the curve or its twist), for which every
 * X25519 output is zero. X25519 clamps the scalar to a multiple of 8, so DH with any fixed
 * key yields zero exactly for these points: one DH tells. Such a point is never an honest
 * public key, so imports refuse it up front instead of letting encapsulation fail later.
 */
export function isLowOrderX25519Point(raw: Uint8Array): boolean {
  probeKey ??= importX25519PrivateKey(new Uint8Array(NSK).fill(0x42));
  try {
    dh(probeKey, importX25519PublicKey(raw));
    return false;
  } catch {
    return true;
  }
}

/** The key pair (private and public CryptoKeys) of a private key, as the KEM interface wants it. */
export function x25519KeyPairOf(sk: NodeX25519Key): CryptoKeyPair {
  return pairOf(nodeKey(sk, 'private'));
}
