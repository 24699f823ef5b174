import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, MIN_SCRYPT_N } from '../../src/secrets/keystore.js';
import { decodeCbor, encodeCbor, type CborMap } from '../../src/cbor.js';

const fast = { scrypt: { n: MIN_SCRYPT_N, r: 8, p: 1 } };
const seed = new Uint8Array(32).fill(9);

describe('keys at rest', () => {
  const file = encryptSecret('correct horse', 'root', seed, fast);

  it('round-trip under the passphrase and never contain the secret', () => {
    expect(decryptSecret('correct horse', 'root', file)).toEqual(seed);
    expect(Buffer.from(file).includes(Buffer.from(seed))).toBe(false);
  });

  it('refuse a wrong passphrase, another label, tampering and weak parameters', () => {
    expect(() => decryptSecret('wrong', 'root', file)).toThrow(expect.objectContaining({ code: 'passphrase_wrong' }));
    expect(() => decryptSecret('correct horse', 'station:desk-1', file)).toThrow(expect.objectContaining({ code: 'keyfile_invalid' }));
    const m = decodeCbor(file) as CborMap;
    const flipped = Uint8Array.from(m.ct as Uint8Array);
    flipped[0] = flipped[0]! ^ 1;
    expect(() => decryptSecret('correct horse', 'root', encodeCbor({ ...m, ct: flipped }))).toThrow(expect.objectContaining({ code: 'passphrase_wrong' }));
    expect(() => decryptSecret('correct horse', 'root', encodeCbor({ ...m, n: 1024 }))).toThrow(expect.objectContaining({ code: 'keyfile_invalid' }));
    // Parameters are authenticated: a file re-labelled with other (valid) parameters fails.
    expect(() => decryptSecret('correct horse', 'root', encodeCbor({ ...m, n: MIN_SCRYPT_N * 2 }))).toThrow(expect.objectContaining({ code: 'passphrase_wrong' }));
    expect(() => decryptSecret('correct horse', 'root', new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'keyfile_invalid' }));
    expect(() => encryptSecret('', 'root', seed)).toThrow(expect.objectContaining({ code: 'argument_invalid' }));
  });
});
