/**
 * Appending to the log: the compact range [0, size), or "frontier".
 *
 * A tree of n leaves is, left to right, one perfect subtree per set bit of n, biggest first
 * (RFC 9162 §2.1.1: MTH splits at the largest power of two below n, recursively). Their root
 * hashes, at most log2(n) + 1 of them, are all an appender needs: adding a leaf merges equal-
 * sized subtrees like a binary counter carries, and the root is these hashes folded from the
 * right. Same idea as transparency-dev/merkle `compact.Range` (with begin = 0).
 *
 * Appending reports every perfect node it completes, so the store can persist them for
 * proof-nodes.ts; together they are every perfect node of the tree, each reported once.
 * Assigning sequence numbers (durable) and integrating leaves (here) are separate steps, as in
 * tessera: this module only computes.
 */
import { BackchannelError } from '../errors.js';
import { assertTreeIndex, popCount } from './bits.js';
import { HASH_SIZE, emptyRoot, hashChildren } from './hasher.js';
import { rangeNodes, type NodeId } from './node-id.js';

export interface Frontier {
  /** Number of leaves in the tree. */
  readonly size: number;
  /** Roots of the perfect subtrees of the compact range [0, size), left (highest level) to right. */
  readonly hashes: readonly Uint8Array[];
}

/** A perfect subtree root that an append completed. */
export interface CompletedNode extends NodeId {
  readonly hash: Uint8Array;
}

export const EMPTY_FRONTIER: Frontier = { size: 0, hashes: [] };

/**
 * Appends `leafHashes` (already hashed with hashLeaf, 32 bytes each) as leaves size, size+1, …
 * Returns the new frontier and every node completed on the way: each leaf (level 0) and each
 * interior node whose subtree became full, in the order they were completed (children before
 * parents). Does not modify `frontier`.
 *
 * Throws 'argument_invalid' on a malformed frontier or a hash that is not 32 bytes.
 */
export function appendLeaves(
  frontier: Frontier,
  leafHashes: readonly Uint8Array[],
): { frontier: Frontier; completed: CompletedNode[] } {
  checkFrontier(frontier);
  const stack = frontier.hashes.slice();
  const completed: CompletedNode[] = [];
  let size = frontier.size;
  for (const leafHash of leafHashes) {
    if (leafHash.length !== HASH_SIZE) {
      throw new BackchannelError('argument_invalid', `leaf hash ${size} has ${leafHash.length} bytes, not ${HASH_SIZE}`);
    }
    if (size === Number.MAX_SAFE_INTEGER) throw new BackchannelError('argument_invalid', 'tree size would exceed 2^53 − 1');
    // Copied: a caller reusing its buffer must not be able to change the tree afterwards.
    let hash: Uint8Array = leafHash.slice();
    let level = 0;
    let index = size;
    completed.push({ level, index, hash });
    // Each trailing one bit of `size` is a perfect subtree of that level on top of the stack,
    // now joined by an equal one on its right: the binary carry of size + 1.
    for (let s = size; s % 2 === 1; s = (s - 1) / 2) {
      hash = hashChildren(stack.pop()!, hash);
      level++;
      index = (index - (index % 2)) / 2;
      completed.push({ level, index, hash });
    }
    stack.push(hash);
    size++;
  }
  return { frontier: { size, hashes: stack }, completed };
}

/** The tree root MTH(D[size]) (RFC 9162 §2.1.1): the frontier folded from the right. */
export function rootOf(frontier: Frontier): Uint8Array {
  checkFrontier(frontier);
  const h = frontier.hashes;
  if (h.length === 0) return emptyRoot();
  // A copy even for one hash: the caller may keep or change the root, not the frontier.
  let root: Uint8Array = h[h.length - 1]!.slice();
  for (let i = h.length - 2; i >= 0; i--) root = hashChildren(h[i]!, root);
  return root;
}

/**
 * The stored nodes that make up the frontier of a tree of `size` leaves, left to right: fetch
 * their hashes (e.g. for a restart, or for the root of an older checkpoint size) and pass them
 * to frontierFromHashes. Throws 'index_out_of_range' on a size that is not a safe integer ≥ 0.
 */
export function frontierNodeIds(size: number): NodeId[] {
  assertTreeIndex(size, 'size');
  return rangeNodes(0, size);
}

/** The frontier of a tree of `size` leaves from the hashes of frontierNodeIds(size), same order. */
export function frontierFromHashes(size: number, hashes: readonly Uint8Array[]): Frontier {
  // Copies, so that views into a store's buffers do not become part of the frontier.
  const frontier = { size, hashes: hashes.map((h) => h.slice()) };
  checkFrontier(frontier);
  return frontier;
}

function checkFrontier(f: Frontier): void {
  assertTreeIndex(f.size, 'size');
  const want = popCount(f.size);
  if (f.hashes.length !== want) {
    throw new BackchannelError('argument_invalid', `a frontier of size ${f.size} has ${want} hashes, got ${f.hashes.length}`);
  }
  for (const h of f.hashes) {
    if (h.length !== HASH_SIZE) throw new BackchannelError('argument_invalid', `a frontier hash has ${h.length} bytes`);
  }
}
