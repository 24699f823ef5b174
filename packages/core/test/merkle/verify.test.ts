/**
 * verify.ts beyond the vectors: huge trees (checked against a BigInt transliteration of the
 * RFC 9162 algorithms, so 32-bit truncation cannot hide), and a table of malformed inputs
 * that must each fail with a stable code.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isBackchannelError } from '../../src/errors.js';
import { sha256 } from '../../src/hash.js';
import { hashLeaf } from '../../src/merkle/hasher.js';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { codeOf } from '../../testing/codes.js';

const H = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(new Uint8Array([1]), l, r);

/** RFC 9162 §2.1.3.2 steps 2–5 over BigInt; undefined where the RFC says "fail". */
function rfcInclusionRoot(hash: Uint8Array, index: bigint, size: bigint, path: readonly Uint8Array[]): Uint8Array | undefined {
  let fn = index;
  let sn = size - 1n;
  let r = hash;
  for (const p of path) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      r = H(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = H(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : undefined;
}

/** RFC 9162 §2.1.4.2 steps 2–7 over BigInt: [fr, sr], or undefined where the RFC says "fail". */
function rfcConsistencyRoots(
  m: bigint,
  n: bigint,
  proof: readonly Uint8Array[],
  firstHash: Uint8Array,
): [Uint8Array, Uint8Array] | undefined {
  const path = (m & (m - 1n)) === 0n ? [firstHash, ...proof] : [...proof];
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = H(c, fr);
      sr = H(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = H(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? [fr, sr] : undefined;
}

const bigSize = fc.oneof(fc.integer({ min: 2 ** 32 - 3, max: 2 ** 32 + 3 }), fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER }));
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** More hashes than any proof needs; a prefix of the right length is the proof. */
const proofPool = fc.array(hash32, { minLength: 110, maxLength: 110 });
const indexInBigTree = bigSize.chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));
const sizesOfBigTrees = bigSize.chain((n) => fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constant(n)));

/** The one proof length the RFC verifier accepts, found by asking the BigInt version. */
function rfcLength(accepts: (len: number) => boolean): number {
  for (let len = 0; len <= 110; len++) if (accepts(len)) return len;
  throw new Error('no proof length accepted');
}

describe('proof verification', () => {
  it('agrees with the RFC 9162 inclusion algorithm on trees up to 2^53 − 1 leaves', () => {
    const dummy = new Uint8Array(32);
    fc.assert(
      fc.property(indexInBigTree, hash32, proofPool, ([size, index], leaf, pool) => {
        const len = rfcLength((l) => rfcInclusionRoot(dummy, BigInt(index), BigInt(size), pool.slice(0, l)) !== undefined);
        const proof = pool.slice(0, len);
        const root = rfcInclusionRoot(leaf, BigInt(index), BigInt(size), proof)!;
        expect(rootFromInclusionProof(leaf, index, size, proof)).toEqual(root);
        verifyInclusion(leaf, index, size, proof, root);
        const tooLong = pool.slice(0, len + 1);
        expect(
          codeOf(() => {
            verifyInclusion(leaf, index, size, tooLong, root);
          }),
        ).toBe('proof_invalid');
      }),
      { numRuns: 60 },
    );
  });

  it('agrees with the RFC 9162 consistency algorithm on trees up to 2^53 − 1 leaves', () => {
    const dummy = new Uint8Array(32);
    fc.assert(
      fc.property(sizesOfBigTrees, hash32, proofPool, ([m, n], first, pool) => {
        const len = rfcLength((l) => l > 0 && rfcConsistencyRoots(BigInt(m), BigInt(n), pool.slice(0, l), dummy) !== undefined);
        const proof = pool.slice(0, len);
        const [root1, root2] = rfcConsistencyRoots(BigInt(m), BigInt(n), proof, first)!;
        verifyConsistency(m, n, proof, root1, root2);
        expect(
          codeOf(() => {
            verifyConsistency(m, n, proof.slice(1), root1, root2);
          }),
        ).toBe('proof_invalid');
      }),
      { numRuns: 60 },
    );
  });

  const h = hashLeaf(new Uint8Array(0));
  const h2 = hashLeaf(new Uint8Array(1));
  type InclusionCase = [string, Uint8Array, number, number, Uint8Array[], Uint8Array, string];
  it.each<InclusionCase>([
    ['negative index', h, -1, 2, [h2], h, 'index_out_of_range'],
    ['fractional index', h, 0.5, 2, [h2], h, 'index_out_of_range'],
    ['NaN size', h, 0, Number.NaN, [h2], h, 'index_out_of_range'],
    ['size 2^53', h, 0, 2 ** 53, [h2], h, 'index_out_of_range'],
    ['index = size', h, 2, 2, [h2], h, 'index_out_of_range'],
    ['size 0', h, 0, 0, [], h, 'index_out_of_range'],
    ['31-byte leaf hash', h.subarray(1), 0, 2, [h2], h, 'proof_invalid'],
    ['33-byte proof hash', h, 0, 2, [new Uint8Array(33)], h, 'proof_invalid'],
    ['empty root', h, 0, 2, [h2], new Uint8Array(0), 'proof_invalid'],
    ['proof too long', h, 0, 2, [h2, h2], h, 'proof_invalid'],
    ['proof too short', h, 0, 2, [], h, 'proof_invalid'],
    ['wrong root', h, 0, 2, [h2], h2, 'root_mismatch_proof'],
  ])('inclusion: %s', (_, leaf, index, size, proof, root, code) => {
    expect(codeOf(() => {
      verifyInclusion(leaf, index, size, proof, root);
    })).toBe(code);
  });

  type ConsistencyCase = [string, number, number, Uint8Array[], Uint8Array, Uint8Array, string];
  it.each<ConsistencyCase>([
    ['size1 = 0', 0, 2, [], h, h, 'index_out_of_range'],
    ['size1 > size2', 3, 2, [h], h, h, 'index_out_of_range'],
    ['negative size', -1, 2, [h], h, h, 'index_out_of_range'],
    ['size2 Infinity', 1, Number.POSITIVE_INFINITY, [h], h, h, 'index_out_of_range'],
    ['equal sizes, proof given', 2, 2, [h], h, h, 'proof_invalid'],
    ['equal sizes, roots differ', 2, 2, [], h, h2, 'root_mismatch_proof'],
    ['empty proof', 1, 2, [], h, h2, 'proof_invalid'],
    ['short root1', 1, 2, [h], h.subarray(1), h2, 'proof_invalid'],
    ['short proof hash', 1, 2, [h.subarray(1)], h, h2, 'proof_invalid'],
    ['wrong root2', 1, 2, [h2], h, h, 'root_mismatch_proof'],
  ])('consistency: %s', (_, size1, size2, proof, root1, root2, code) => {
    expect(codeOf(() => {
      verifyConsistency(size1, size2, proof, root1, root2);
    })).toBe(code);
  });

  it('names the root that differs', () => {
    try {
      verifyConsistency(1, 2, [h2], h, h);
      expect.unreachable();
    } catch (e) {
      expect(isBackchannelError(e, 'root_mismatch_proof')).toBe(true);
      expect((e as { details: { root: string } }).details.root).toBe('root2');
    }
  });
});
