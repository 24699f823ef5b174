/**
 * Secrets at rest: private keys encrypted under a passphrase.
 *
 *   KeyFile = { "v": 1, "kdf": "scrypt", "n": uint, "r": uint, "p": uint, "salt": bstr(16),
 *               "what": tstr, "ct": bstr }
 *   key = scrypt(passphrase (UTF-8, NFC), salt, N, r, p, 32)
 *   ct  = ChaCha20-Poly1305(key, nonce = 0^12, aad = CBOR{v, kdf, n, r, p, salt, what}, secret)
 *
 * Each file has its own salt, so its key is used once and the zero nonce is safe. The
 * parameters and the label `what` ("root", "station:desk-1", "log") are authenticated, so a file
 * cannot be downgraded to weak parameters or swapped for another key of the same passphrase.
 * A wrong passphrase and a tampered file are the same error: `passphrase_wrong` never says which.
 */
import { createCipheriv, createDecipheriv, scryptSync } from 'node:crypto';
import { decodeCbor, encodeCbor } from '../cbor.js';
import { BackchannelError } from '../errors.js';
import { concatBytes } from '../bytes.js';
import { MapReader } from '../schema.js';
import { systemRandom, type Random } from '../random.js';

export interface ScryptParams {
  n: number;
  r: number;
  p: number;
}

/** ~0.4 s and 128 MiB on the reference machine: costly to guess, tolerable to unlock. */
export const DEFAULT_SCRYPT: ScryptParams = { n: 2 ** 17, r: 8, p: 1 };
/** The floor a file may claim: anything weaker is refused as a downgrade. */
export const MIN_SCRYPT_N = 2 ** 14;

function deriveKey(passphrase: string, salt: Uint8Array, s: ScryptParams): Buffer {
  return scryptSync(passphrase.normalize('NFC'), salt, 32, { N: s.n, r: s.r, p: s.p, maxmem: 256 * s.n * s.r + 1024 * 1024 });
}

function header(what: string, s: ScryptParams, salt: Uint8Array): Uint8Array {
  return encodeCbor({ v: 1, kdf: 'scrypt', n: s.n, r: s.r, p: s.p, salt, what });
}

export function encryptSecret(passphrase: string, what: string, secret: Uint8Array, opts: { scrypt?: ScryptParams; random?: Random } = {}): Uint8Array {
  if (passphrase.length === 0) throw new BackchannelError('argument_invalid', 'an empty passphrase protects nothing');
  const s = opts.scrypt ?? DEFAULT_SCRYPT;
  if (s.n < MIN_SCRYPT_N) throw new BackchannelError('argument_invalid', `scrypt N must be at least ${MIN_SCRYPT_N}`);
  const salt = (opts.random ?? systemRandom)(16);
  const key = deriveKey(passphrase, salt, s);
  const c = createCipheriv('chacha20-poly1305', key, new Uint8Array(12), { authTagLength: 16 });
  c.setAAD(header(what, s, salt), { plaintextLength: secret.length });
  const ct = concatBytes(c.update(secret), c.final(), c.getAuthTag());
  key.fill(0);
  return encodeCbor({ v: 1, kdf: 'scrypt', n: s.n, r: s.r, p: s.p, salt, what, ct });
}

/** Decrypts a key file; `what` must match the label it was written with. */
export function decryptSecret(passphrase: string, what: string, file: Uint8Array): Uint8Array {
  let v;
  try {
    v = decodeCbor(file, 64 * 1024);
  } catch (cause) {
    throw new BackchannelError('keyfile_invalid', 'the key file is damaged or not a Backchannel key file', { cause });
  }
  const r = new MapReader(v, 'key file');
  const ver = r.uint('v');
  r.text('kdf', { oneOf: ['scrypt'] });
  const s: ScryptParams = { n: r.uint('n', { min: MIN_SCRYPT_N, max: 2 ** 22 }), r: r.uint('r', { min: 1, max: 32 }), p: r.uint('p', { min: 1, max: 16 }) };
  const salt = r.bytes('salt', { len: 16 });
  const label = r.text('what', { max: 200 });
  const ct = r.bytes('ct', { min: 16, max: 32 * 1024 });
  if (ver !== 1) r.problems.push('key file.v must be 1');
  if ((s.n & (s.n - 1)) !== 0) r.problems.push('key file.n must be a power of two');
  r.done('keyfile_invalid');
  if (label !== what) throw new BackchannelError('keyfile_invalid', `this key file holds the ${label} key, not the ${what} key`);
  const key = deriveKey(passphrase, salt, s);
  const d = createDecipheriv('chacha20-poly1305', key, new Uint8Array(12), { authTagLength: 16 });
  d.setAAD(header(what, s, salt), { plaintextLength: ct.length - 16 });
  d.setAuthTag(ct.subarray(ct.length - 16));
  try {
    return concatBytes(d.update(ct.subarray(0, ct.length - 16)), d.final());
  } catch {
    throw new BackchannelError('passphrase_wrong', 'wrong passphrase, or the key file was altered');
  } finally {
    key.fill(0);
  }
}
