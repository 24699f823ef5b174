/**
 * Addresses of perfect subtrees ("nodes") of the log's Merkle tree.
 *
 * Node (level L, index i) is the root of the perfect subtree over leaves [i·2^L, (i+1)·2^L);
 * level 0 nodes are the leaf hashes. Once the log holds (i+1)·2^L leaves, the hash of that
 * node never changes (RFC 9162 §2.1.1: the tree only grows on the right), so a store can
 * keep it forever under the key (L, i). The nodes on the ragged right edge of a tree whose
 * size is not a power of two are not perfect and have no stable hash; they are never
 * stored and never appear as a NodeId: see proof-nodes.ts for how they are recomputed.
 *
 * Same addressing as transparency-dev/merkle `compact.NodeID`.
 */
import { bitLength, trailingZeros } from './bits.js';

export interface NodeId {
  /** Height above the leaves: 0 for leaf hashes. */
  readonly level: number;
  /** Position among the nodes of this level, from the left, starting at 0. */
  readonly index: number;
}

/** The leaf range [begin, end) the node covers. */
export function nodeCoverage(id: NodeId): { begin: number; end: number } {
  const width = 2 ** id.level;
  return { begin: id.index * width, end: (id.index + 1) * width };
}

/**
 * Splits the leaf range [begin, end) into the fewest perfect subtrees, left to right: the
 * "compact range" of transparency-dev/merkle `compact.RangeNodes`. Levels rise then fall
 * along the list; [0, n) gives one node per set bit of n, highest level first. At most
 * 2·log2(end − begin) nodes.
 *
 * Preconditions: 0 ≤ begin ≤ end, safe integers.
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let pos = begin;
  while (pos < end) {
    // The biggest subtree that starts at `pos` is limited by the alignment of `pos`
    // (a level-L node starts at a multiple of 2^L) and by the room left before `end`.
    const maxByRoom = bitLength(end - pos) - 1;
    const level = pos === 0 ? maxByRoom : Math.min(trailingZeros(pos), maxByRoom);
    const width = 2 ** level;
    out.push({ level, index: pos / width });
    pos += width;
  }
  return out;
}
