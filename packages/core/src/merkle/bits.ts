/**
 * Bit arithmetic on tree sizes and leaf indexes.
 *
 * Sizes and indexes are JS numbers, exact up to 2^53 − 1 (Number.MAX_SAFE_INTEGER). The
 * bitwise operators `>>`, `^`, `&` truncate to 32 bits, so a log past 2^32 leaves (or a
 * hostile checkpoint claiming one) would be silently miscomputed with them. Everything here
 * uses division by powers of two, which is exact on safe integers, or splits a number into
 * its high and low 32-bit halves.
 */
import { BackchannelError } from '../errors.js';

const TWO_32 = 2 ** 32;

/**
 * Throws 'index_out_of_range' unless `value` is a safe non-negative integer. Sizes and
 * indexes reach here from checkpoints and proofs (attacker-controlled) and from storage.
 */
export function assertTreeIndex(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new BackchannelError('index_out_of_range', `${name} is not a safe non-negative integer`, {
      details: { name, value: String(value) },
    });
  }
}

/** floor(n / 2^k): the index of the level-k ancestor of leaf (or node) n. */
export function shiftRight(n: number, k: number): number {
  return Math.floor(n / 2 ** k);
}

/** Number of bits needed to write n: 0 for 0, 1 for 1, 3 for 7, 4 for 8 (Go's bits.Len64). */
export function bitLength(n: number): number {
  if (n < TWO_32) return 32 - Math.clz32(n);
  return 32 + bitLength(Math.floor(n / TWO_32));
}

/** Number of trailing zero bits of n > 0 (Go's bits.TrailingZeros64). Precondition: n > 0. */
export function trailingZeros(n: number): number {
  const lo = n % TWO_32;
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  return 32 + trailingZeros(Math.floor(n / TWO_32));
}

/** Number of set bits of n (Go's bits.OnesCount64). */
export function popCount(n: number): number {
  let c = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2;
  return c;
}

/** a XOR b on 53-bit non-negative integers. */
export function xor(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_32) ^ Math.floor(b / TWO_32)) >>> 0;
  const lo = ((a % TWO_32) ^ (b % TWO_32)) >>> 0;
  return hi * TWO_32 + lo;
}

/** True when n is 2^k for some k ≥ 0. */
export function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** trailingZeros(n) === n;
}
