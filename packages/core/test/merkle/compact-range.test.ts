/** compact-range.ts: ownership of the hashes and rejection of caller bugs. */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/bytes.js';
import { appendLeaves, EMPTY_FRONTIER, frontierFromHashes, frontierNodeIds, rootOf } from '../../src/merkle/compact-range.js';
import { EMPTY_ROOT, hashLeaf } from '../../src/merkle/hasher.js';
import { codeOf } from '../../testing/codes.js';

const leafHashes = Array.from({ length: 5 }, (_, i) => hashLeaf(new Uint8Array([i])));

describe('compact range', () => {
  it('starts from the empty tree', () => {
    expect(rootOf(EMPTY_FRONTIER)).toEqual(EMPTY_ROOT);
    expect(appendLeaves(EMPTY_FRONTIER, [])).toEqual({ frontier: EMPTY_FRONTIER, completed: [] });
    expect(frontierNodeIds(0)).toEqual([]);
  });

  it('reports the completed nodes of each append, children first', () => {
    const { frontier } = appendLeaves(EMPTY_FRONTIER, leafHashes.slice(0, 3));
    const r = appendLeaves(frontier, [leafHashes[3]!]);
    expect(r.completed.map(({ level, index }) => `${level}/${index}`)).toEqual(['0/3', '1/1', '2/0']);
    expect(r.frontier.size).toBe(4);
    expect(r.frontier.hashes).toHaveLength(1);
    expect(frontier.size).toBe(3); // the input frontier is untouched
    expect(frontier.hashes).toHaveLength(2);
  });

  it('owns its hashes: callers reusing buffers cannot change the tree', () => {
    const buf = leafHashes[0]!.slice();
    const { frontier } = appendLeaves(EMPTY_FRONTIER, [buf]);
    const root = rootOf(frontier);
    buf.fill(0);
    expect(toHex(rootOf(frontier))).toBe(toHex(root));
    root.fill(0);
    expect(toHex(rootOf(frontier))).toBe(toHex(leafHashes[0]!));

    const stored = leafHashes[1]!.slice();
    const f2 = frontierFromHashes(1, [stored]);
    stored.fill(0);
    expect(toHex(rootOf(f2))).toBe(toHex(leafHashes[1]!));
  });

  it('rejects caller bugs with argument_invalid', () => {
    expect(codeOf(() => appendLeaves(EMPTY_FRONTIER, [new Uint8Array(31)]))).toBe('argument_invalid');
    expect(codeOf(() => appendLeaves({ size: 3, hashes: [leafHashes[0]!] }, []))).toBe('argument_invalid');
    expect(codeOf(() => rootOf({ size: 1, hashes: [new Uint8Array(3)] }))).toBe('argument_invalid');
    expect(codeOf(() => frontierFromHashes(6, [leafHashes[0]!]))).toBe('argument_invalid');
    const full = { size: Number.MAX_SAFE_INTEGER, hashes: Array.from({ length: 53 }, () => leafHashes[0]!) };
    expect(codeOf(() => appendLeaves(full, [leafHashes[0]!]))).toBe('argument_invalid');
    expect(codeOf(() => rootOf({ size: -1, hashes: [] }))).toBe('index_out_of_range');
  });
});
