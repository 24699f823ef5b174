/**
 * Shape of the node lists proof-nodes.ts hands to a store, at sizes no test could build:
 * up to 2^53 − 1 leaves (the arithmetic must not fall back to 32-bit operators). The hashes
 * themselves are checked against the reference in properties.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { frontierFromHashes, frontierNodeIds } from '../../src/merkle/compact-range.js';
import { nodeCoverage, rangeNodes, type NodeId } from '../../src/merkle/node-id.js';
import { consistencyNodes, inclusionNodes, rehashProof, type ProofNodes } from '../../src/merkle/proof-nodes.js';
import { codeOf } from '../../testing/codes.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** Sizes spread over all magnitudes up to 2^53 − 1, with edge values. */
const treeSize = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  fc.integer({ min: 1, max: 53 }).map((b) => 2 ** b - 1),
  fc.integer({ min: 0, max: 52 }).map((b) => 2 ** b),
  fc.integer({ min: 1, max: 53 }).chain((b) => fc.integer({ min: 1, max: 2 ** b - 1 })),
  fc.constant(MAX),
);

const indexInTree = treeSize.chain((size) => fc.record({ size: fc.constant(size), index: fc.integer({ min: 0, max: size - 1 }) }));

/** Checks the nodes are perfect, inside [0, size), pairwise disjoint, and together with `extra` cover [0, size) exactly. */
function expectExactCover(ids: readonly NodeId[], extra: readonly NodeId[], size: number): void {
  const ranges = [...ids, ...extra].map((id) => {
    expect(Number.isSafeInteger(id.index) && id.index >= 0 && id.level >= 0 && id.level <= 53).toBe(true);
    return nodeCoverage(id);
  });
  ranges.sort((a, b) => a.begin - b.begin);
  let at = 0;
  for (const r of ranges) {
    expect(r.begin).toBe(at);
    at = r.end;
  }
  expect(at).toBe(size);
}

/** RFC inclusion-path length: one hash per level below the fork, one per border subtree. */
function expectedInclusionLength(index: number, size: number): number {
  const inner = (BigInt(index) ^ BigInt(size - 1)).toString(2).replace(/^0+/, '').length;
  const border = (BigInt(index) >> BigInt(inner)).toString(2).replace(/0/g, '').length;
  return inner + border;
}

function rehashedLength(nodes: ProofNodes): number {
  const e = nodes.ephemeral;
  return nodes.ids.length - (e === undefined ? 0 : e.end - e.begin - 1);
}

describe('proof node IDs', () => {
  it('cover the tree exactly for inclusion proofs, at any size up to 2^53 − 1', () => {
    fc.assert(
      fc.property(indexInTree, ({ size, index }) => {
        const nodes = inclusionNodes(index, size);
        expectExactCover(nodes.ids, [{ level: 0, index }], size);
        expect(rehashedLength(nodes)).toBe(expectedInclusionLength(index, size));
        expect(nodes.ids.length).toBeLessThanOrEqual(2 * 53);
        const e = nodes.ephemeral;
        if (e !== undefined) {
          expect(e.end - e.begin).toBeGreaterThanOrEqual(2);
          // The ephemeral pieces are the right edge of the tree: lowest first, ending at `size`.
          const pieces = nodes.ids.slice(e.begin, e.end);
          for (let i = 1; i < pieces.length; i++) expect(pieces[i]!.level).toBeGreaterThan(pieces[i - 1]!.level);
          expect(nodeCoverage(pieces[0]!).end).toBe(size);
        }
      }),
    );
  });

  it('cover the new tree exactly for consistency proofs, at any size up to 2^53 − 1', () => {
    const pair = treeSize
      .filter((s) => s >= 2)
      .chain((size2) => fc.record({ size2: fc.constant(size2), size1: fc.integer({ min: 1, max: size2 - 1 }) }));
    fc.assert(
      fc.property(pair, ({ size1, size2 }) => {
        const nodes = consistencyNodes(size1, size2);
        const powerOfTwo = 2 ** Math.floor(Math.log2(size1)) === size1;
        // Leaving out the old root when size1 is a power of two (RFC 9162 §2.1.4.1, b = true).
        expectExactCover(nodes.ids, powerOfTwo ? [{ level: Math.log2(size1), index: 0 }] : [], size2);
        expect(nodes.ids.length).toBeLessThanOrEqual(2 * 53 + 1);
      }),
    );
  });

  it('stay small for a log of 100 million leaves', () => {
    const size = 100_000_000;
    const incl = inclusionNodes(12_345_678, size);
    expect(incl.ids.length).toBeLessThanOrEqual(2 * 27);
    expect(rehashedLength(incl)).toBe(expectedInclusionLength(12_345_678, size));
    const cons = consistencyNodes(99_999_999, size);
    expect(cons.ids.length).toBeLessThanOrEqual(2 * 27 + 1);
    expect(frontierNodeIds(size)).toHaveLength(12); // one per set bit of 100 000 000
  });

  it('follow the transparency-dev edge cases', () => {
    expect(consistencyNodes(0, 10)).toEqual({ ids: [], ephemeral: undefined });
    expect(consistencyNodes(7, 7)).toEqual({ ids: [], ephemeral: undefined });
    expect(consistencyNodes(0, 0)).toEqual({ ids: [], ephemeral: undefined });
    expect(inclusionNodes(0, 1)).toEqual({ ids: [], ephemeral: undefined });
    // RFC 9162 §2.1.5: PATH(0, D[7]) = [b, h, l], l rehashed from j = (0,6) and i = (1,2).
    expect(inclusionNodes(0, 7)).toEqual({
      ids: [
        { level: 0, index: 1 },
        { level: 1, index: 1 },
        { level: 0, index: 6 },
        { level: 1, index: 2 },
      ],
      ephemeral: { begin: 2, end: 4 },
    });
  });

  it('split any range into perfect subtrees (compact ranges)', () => {
    expect(rangeNodes(0, 0)).toEqual([]);
    expect(rangeNodes(0, 7)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(rangeNodes(3, 9)).toEqual([
      { level: 0, index: 3 },
      { level: 2, index: 1 },
      { level: 0, index: 8 },
    ]);
    fc.assert(
      fc.property(treeSize, fc.nat(), (end, b) => {
        const begin = b % (end + 1);
        const ids = rangeNodes(begin, end);
        let at = begin;
        for (const id of ids) {
          const r = nodeCoverage(id);
          expect(r.begin).toBe(at);
          at = r.end;
        }
        expect(at).toBe(end);
        expect(ids.length).toBeLessThanOrEqual(2 * 53);
      }),
    );
  });

  it.each([
    ['a negative index', () => inclusionNodes(-1, 5)],
    ['an index at the size', () => inclusionNodes(5, 5)],
    ['a fractional index', () => inclusionNodes(1.5, 5)],
    ['NaN', () => inclusionNodes(Number.NaN, 5)],
    ['Infinity', () => inclusionNodes(0, Number.POSITIVE_INFINITY)],
    ['2^53', () => inclusionNodes(0, 2 ** 53)],
    ['size1 > size2', () => consistencyNodes(6, 5)],
    ['a negative size1', () => consistencyNodes(-1, 5)],
    ['a fractional size2', () => consistencyNodes(1, 5.5)],
    ['a negative frontier size', () => frontierNodeIds(-1)],
  ])('reject %s with index_out_of_range', (_, f) => {
    expect(codeOf(f)).toBe('index_out_of_range');
  });

  it('report a store returning the wrong hashes as argument_invalid, not as a bad proof', () => {
    const nodes = inclusionNodes(0, 7);
    const h = new Uint8Array(32);
    expect(codeOf(() => rehashProof(nodes, [h, h, h]))).toBe('argument_invalid');
    expect(codeOf(() => rehashProof(nodes, [h, h, h, h, h]))).toBe('argument_invalid');
    expect(codeOf(() => rehashProof(nodes, [h, h, h, new Uint8Array(33)]))).toBe('argument_invalid');
    expect(rehashProof(nodes, [h, h, h, h])).toHaveLength(3);
    expect(codeOf(() => frontierFromHashes(7, [h, h]))).toBe('argument_invalid');
  });
});
