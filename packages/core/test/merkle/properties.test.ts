/**
 * Property tests of the fast code against the naive reference (reference.ts): for random
 * sizes up to N and random indexes, the proofs generated from stored nodes equal the RFC 9162
 * definitions and verify; any single flipped bit is rejected with the right code; the
 * compact range gives the reference root at every size.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toHex, utf8 } from '../../src/bytes.js';
import { appendLeaves, EMPTY_FRONTIER, rootOf, type CompletedNode, type Frontier } from '../../src/merkle/compact-range.js';
import { hashLeaf } from '../../src/merkle/hasher.js';
import { MTH, PATH, PROOF } from '../../src/merkle/reference.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { MemoryNodeStore } from './memory-store.js';
import { codeOf } from '../../testing/codes.js';

const N = 600;
const leaves = Array.from({ length: N }, (_, i) => utf8(`leaf ${i}`));
const leafHashes = leaves.map(hashLeaf);
const store = new MemoryNodeStore();
store.append(leafHashes);

/** (index, size) with 0 ≤ index < size ≤ N. */
const indexInTree = fc
  .integer({ min: 1, max: N })
  .chain((size) => fc.record({ size: fc.constant(size), index: fc.integer({ min: 0, max: size - 1 }) }));
/** (size1, size2) with 1 ≤ size1 ≤ size2 ≤ N. */
const sizePair = fc
  .integer({ min: 1, max: N })
  .chain((size2) => fc.record({ size2: fc.constant(size2), size1: fc.integer({ min: 1, max: size2 }) }));

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const i = bit % (out.length * 8);
  out[i >> 3]! ^= 1 << (i & 7);
  return out;
}

const hex = (bs: readonly Uint8Array[]): string[] => bs.map(toHex);

describe('Merkle tree properties', () => {
  it('compact-range root equals the reference MTH at every size 0 … N', () => {
    let frontier: Frontier = EMPTY_FRONTIER;
    for (let size = 0; size <= N; size++) {
      const want = toHex(MTH(leaves.slice(0, size)));
      expect(toHex(rootOf(frontier))).toBe(want);
      expect(toHex(store.rootAt(size))).toBe(want);
      if (size < N) frontier = appendLeaves(frontier, [leafHashes[size]!]).frontier;
    }
  });

  it('appending in any batches gives the same frontier and completes each node once', () => {
    const key = (n: CompletedNode): string => `${n.level}/${n.index}/${toHex(n.hash)}`;
    const oneByOne: string[] = [];
    let single: Frontier = EMPTY_FRONTIER;
    for (let i = 0; i < 300; i++) {
      const r = appendLeaves(single, [leafHashes[i]!]);
      single = r.frontier;
      oneByOne.push(...r.completed.map(key));
    }
    expect(new Set(oneByOne).size).toBe(oneByOne.length);
    // 2n − popcount(n) perfect nodes in a tree of n leaves.
    expect(oneByOne).toHaveLength(2 * 300 - 4);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }), (cuts) => {
        let f: Frontier = EMPTY_FRONTIER;
        const got: string[] = [];
        let at = 0;
        for (const c of [...cuts, 300]) {
          const end = Math.min(300, at + c);
          const r = appendLeaves(f, leafHashes.slice(at, end));
          f = r.frontier;
          got.push(...r.completed.map(key));
          at = end;
        }
        expect(f.size).toBe(300);
        expect(hex(f.hashes)).toEqual(hex(single.hashes));
        expect(got).toEqual(oneByOne);
      }),
    );
  });

  it('generated inclusion proofs equal RFC 9162 PATH and verify', () => {
    fc.assert(
      fc.property(indexInTree, ({ index, size }) => {
        const proof = store.inclusionProof(index, size);
        expect(hex(proof)).toEqual(hex(PATH(index, leaves.slice(0, size))));
        verifyInclusion(leafHashes[index]!, index, size, proof, MTH(leaves.slice(0, size)));
      }),
    );
  });

  it('generated consistency proofs equal RFC 9162 PROOF and verify', () => {
    fc.assert(
      fc.property(sizePair, ({ size1, size2 }) => {
        const proof = store.consistencyProof(size1, size2);
        const want = size1 === size2 ? [] : PROOF(size1, leaves.slice(0, size2));
        expect(hex(proof)).toEqual(hex(want));
        verifyConsistency(size1, size2, proof, MTH(leaves.slice(0, size1)), MTH(leaves.slice(0, size2)));
      }),
    );
  });

  it('rejects an inclusion proof with any single flipped bit in the proof, root or leaf hash', () => {
    fc.assert(
      fc.property(indexInTree, fc.nat(), fc.nat(), (t, which, bit) => {
        const proof = store.inclusionProof(t.index, t.size);
        const root = store.rootAt(t.size);
        const leaf = leafHashes[t.index]!;
        // which: 0 = leaf hash, 1 = root, 2… = a proof hash.
        const target = which % (2 + proof.length);
        const bad = {
          leaf: target === 0 ? flipBit(leaf, bit) : leaf,
          root: target === 1 ? flipBit(root, bit) : root,
          proof: proof.map((p, i) => (target === 2 + i ? flipBit(p, bit) : p)),
        };
        expect(
          codeOf(() => {
            verifyInclusion(bad.leaf, t.index, t.size, bad.proof, bad.root);
          }),
        ).toBe('root_mismatch_proof');
      }),
    );
  });

  it('rejects a consistency proof with any single flipped bit in the proof or either root', () => {
    fc.assert(
      fc.property(sizePair, fc.nat(), fc.nat(), (s, which, bit) => {
        const proof = store.consistencyProof(s.size1, s.size2);
        const root1 = store.rootAt(s.size1);
        const root2 = store.rootAt(s.size2);
        // which: 0 = root1, 1 = root2, 2… = a proof hash.
        const target = which % (2 + proof.length);
        const bad = {
          root1: target === 0 ? flipBit(root1, bit) : root1,
          root2: target === 1 ? flipBit(root2, bit) : root2,
          proof: proof.map((p, i) => (target === 2 + i ? flipBit(p, bit) : p)),
        };
        expect(
          codeOf(() => {
            verifyConsistency(s.size1, s.size2, bad.proof, bad.root1, bad.root2);
          }),
        ).toBe('root_mismatch_proof');
      }),
    );
  });

  it('rejects a proof with a hash added, removed, or truncated with proof_invalid', () => {
    fc.assert(
      fc.property(indexInTree, fc.nat(), fc.integer({ min: 0, max: 2 }), (t, at, mutation) => {
        const proof = store.inclusionProof(t.index, t.size);
        const i = at % (proof.length + 1);
        let bad: Uint8Array[];
        if (mutation === 0) bad = [...proof.slice(0, i), leafHashes[0]!, ...proof.slice(i)];
        else if (proof.length === 0) return;
        else if (mutation === 1) bad = proof.filter((_, j) => j !== i % proof.length);
        else bad = proof.map((p, j) => (j === i % proof.length ? p.subarray(0, 31) : p));
        expect(
          codeOf(() => {
            verifyInclusion(leafHashes[t.index]!, t.index, t.size, bad, store.rootAt(t.size));
          }),
        ).toBe('proof_invalid');
      }),
    );
  });
});
