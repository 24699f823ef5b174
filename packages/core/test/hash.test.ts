import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { hmacSha256, sha256, sha512 } from '../src/hash.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The streaming digest over the parts, as hash.ts computed it before the one-shot path. */
function streamed(algorithm: string, parts: readonly Uint8Array[]): string {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

describe('sha256 and sha512', () => {
  it.each([
    // FIPS 180-2 examples
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ])('sha256(%j) matches FIPS 180-2', (msg, digest) => {
    expect(hex(sha256(ascii(msg)))).toBe(digest);
  });

  it('sha512("abc") matches FIPS 180-2', () => {
    expect(hex(sha512(ascii('abc')))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });

  it('hashes the concatenation of its parts, on both sides of the one-shot limit', () => {
    const parts = fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 5 });
    fc.assert(
      fc.property(parts, (ps) => {
        expect(hex(sha256(...ps))).toBe(streamed('sha256', ps));
        expect(hex(sha512(...ps))).toBe(streamed('sha512', ps));
      }),
      { numRuns: 300 },
    );
  });

  it('reads only the given view of a larger buffer', () => {
    const backing = ascii('xxabcxx');
    expect(hex(sha256(backing.subarray(2, 5)))).toBe(hex(sha256(ascii('abc'))));
    expect(hex(sha256(backing.subarray(0, 2), backing.subarray(2, 5)))).toBe(hex(sha256(ascii('xxabc'))));
  });

  it('returns a plain Uint8Array that owns exactly its digest', () => {
    for (const d of [sha256(ascii('abc')), sha256(ascii('a'), ascii('bc')), sha256(new Uint8Array(600), new Uint8Array(1)), sha512(ascii('abc'))]) {
      expect(Object.getPrototypeOf(d)).toBe(Uint8Array.prototype);
      expect(d.byteOffset).toBe(0);
      expect(d.buffer.byteLength).toBe(d.length);
    }
  });

  it('hmacSha256 matches RFC 4231 test case 2', () => {
    expect(hex(hmacSha256(ascii('Jefe'), ascii('what do ya want '), ascii('for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});
