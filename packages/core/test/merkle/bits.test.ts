/** The 53-bit arithmetic against BigInt, which has no 32-bit truncation to hide behind. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bitLength, isPowerOfTwo, popCount, shiftRight, trailingZeros, xor } from '../../src/merkle/bits.js';

const u53 = fc.oneof(fc.maxSafeNat(), fc.integer({ min: 0, max: 2 ** 32 + 5 }), fc.integer({ min: 0, max: 53 }).map((b) => 2 ** b - 1));

describe('53-bit arithmetic', () => {
  it('agrees with BigInt', () => {
    fc.assert(
      fc.property(u53, u53, fc.integer({ min: 0, max: 60 }), (a, b, k) => {
        const A = BigInt(a);
        expect(bitLength(a)).toBe(a === 0 ? 0 : A.toString(2).length);
        expect(popCount(a)).toBe(A.toString(2).replace(/0/g, '').length);
        expect(xor(a, b)).toBe(Number(A ^ BigInt(b)));
        expect(shiftRight(a, k)).toBe(Number(A >> BigInt(k)));
        if (a > 0) {
          const bin = A.toString(2);
          expect(trailingZeros(a)).toBe(bin.length - 1 - bin.lastIndexOf('1'));
          expect(isPowerOfTwo(a)).toBe((A & (A - 1n)) === 0n);
        }
      }),
    );
  });

  it('handles the edges', () => {
    expect(bitLength(2 ** 32)).toBe(33);
    expect(bitLength(Number.MAX_SAFE_INTEGER)).toBe(53);
    expect(trailingZeros(2 ** 52)).toBe(52);
    expect(trailingZeros(2 ** 31)).toBe(31);
    expect(xor(Number.MAX_SAFE_INTEGER, 2 ** 52)).toBe(2 ** 52 - 1);
    expect(isPowerOfTwo(0)).toBe(false);
  });
});
