/**
 * The deliberately naive reference tree: the RFC 9162 definitions written out as recursion
 * over all the leaves, O(n) per call. USED ONLY TO TEST the fast code (compact-range.ts,
 * proof-nodes.ts, verify.ts), as transparency-dev/merkle does with testonly/reference_test.go.
 * Not exported from the package; never call it on a real log.
 *
 * It hashes with ../hash.ts rather than hasher.ts, so a bug in the fast hasher cannot hide
 * by appearing on both sides of a comparison. Names are the RFC's.
 */
import { sha256 } from '../hash.js';

const LEAF = new Uint8Array([0x00]);
const NODE = new Uint8Array([0x01]);

/** The largest power of two smaller than n (n > 1): where RFC 9162 §2.1.1 splits D[n]. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 §2.1.1 Merkle Tree Hash MTH(D[n]) over the leaf inputs (entries) D. */
export function MTH(D: readonly Uint8Array[]): Uint8Array {
  const n = D.length;
  if (n === 0) return sha256();
  if (n === 1) return sha256(LEAF, D[0]!);
  const k = split(n);
  return sha256(NODE, MTH(D.slice(0, k)), MTH(D.slice(k)));
}

/** RFC 9162 §2.1.3.1 inclusion path PATH(m, D[n]) for leaf m, 0 ≤ m < n. */
export function PATH(m: number, D: readonly Uint8Array[]): Uint8Array[] {
  const n = D.length;
  if (m < 0 || m >= n) throw new RangeError(`PATH: leaf ${m} outside D[${n}]`);
  if (n === 1) return [];
  const k = split(n);
  if (m < k) return [...PATH(m, D.slice(0, k)), MTH(D.slice(k))];
  return [...PATH(m - k, D.slice(k)), MTH(D.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 consistency proof PROOF(m, D[n]) for 0 < m < n. */
export function PROOF(m: number, D: readonly Uint8Array[]): Uint8Array[] {
  if (m <= 0 || m >= D.length) throw new RangeError(`PROOF: need 0 < ${m} < ${D.length}`);
  return SUBPROOF(m, D, true);
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b). */
export function SUBPROOF(m: number, D: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = D.length;
  // m = n: the subtree is the old tree itself, whose root the verifier knows if b is true.
  if (m === n) return b ? [] : [MTH(D)];
  const k = split(n);
  if (m <= k) return [...SUBPROOF(m, D.slice(0, k), b), MTH(D.slice(k))];
  return [...SUBPROOF(m - k, D.slice(k), false), MTH(D.slice(0, k))];
}
