/**
 * O(log n) proof generation from stored hashes of perfect subtrees, without I/O.
 *
 * The design of transparency-dev/merkle `proof.Inclusion` / `proof.Consistency`: first say
 * WHICH stored nodes a proof needs (inclusionNodes, consistencyNodes), let the store fetch
 * them all in one batched query (sync or async, its business), then turn the fetched hashes
 * into the RFC 9162 proof (rehashProof). The core never touches storage.
 *
 * Every hash of an RFC 9162 inclusion path (§2.1.3.1) or consistency proof (§2.1.4.1) is the
 * MTH of some subtree. All of them are perfect subtrees, which a store holds, except at
 * most one: where the proof climbs past the ragged right edge of a tree whose size is not a
 * power of two, the RFC uses the MTH of an imperfect subtree (an "ephemeral" node, e.g. `l`
 * in the RFC 9162 §2.1.5 example). Its hash depends on the tree size, so it is never stored;
 * it is recomputed from the perfect subtrees that cover the same leaves, which are fetched
 * along with the rest.
 *
 * For a log of 100 million leaves (27 levels) a proof needs at most about 2·27 node IDs.
 */
import { BackchannelError } from '../errors.js';
import { assertTreeIndex, bitLength, isPowerOfTwo, shiftRight, trailingZeros, xor } from './bits.js';
import { HASH_SIZE, hashChildren } from './hasher.js';
import { rangeNodes, type NodeId } from './node-id.js';

export interface ProofNodes {
  /** The perfect-subtree nodes to fetch, in proof order (rehashProof takes hashes in this order). */
  readonly ids: readonly NodeId[];
  /**
   * The slice ids[begin, end) (two or more nodes) that rehashProof folds into the one
   * imperfect subtree hash of the proof: perfect subtrees ordered from the lowest
   * (rightmost) up. Undefined when every proof hash is a stored node.
   */
  readonly ephemeral: { readonly begin: number; readonly end: number } | undefined;
}

const NO_NODES: ProofNodes = { ids: [], ephemeral: undefined };

/**
 * Nodes for the inclusion path of leaf `index` in the tree of `size` leaves (RFC 9162
 * §2.1.3.1 PATH(index, D[size])). Throws 'index_out_of_range' unless 0 ≤ index < size.
 */
export function inclusionNodes(index: number, size: number): ProofNodes {
  assertTreeIndex(index, 'index');
  assertTreeIndex(size, 'size');
  if (index >= size) {
    throw new BackchannelError('index_out_of_range', `leaf index ${index} is not below tree size ${size}`, {
      details: { index, size },
    });
  }
  // The leaf itself is the seed of the path, not part of it.
  return skipFirst(pathNodes(index, 0, size));
}

/**
 * Nodes for the consistency proof between the trees of `size1` and `size2` leaves (RFC 9162
 * §2.1.4.1 PROOF(size1, D[size2])). Empty when size1 = size2 or size1 = 0 (nothing to prove;
 * the RFC 9162 verifier rejects size1 = 0, C2SP tlog-witness accepts it with an empty proof).
 * Throws 'index_out_of_range' when size1 > size2.
 */
export function consistencyNodes(size1: number, size2: number): ProofNodes {
  assertTreeIndex(size1, 'size1');
  assertTreeIndex(size2, 'size2');
  if (size1 > size2) {
    throw new BackchannelError('index_out_of_range', `tree size ${size1} is beyond tree size ${size2}`, {
      details: { size1, size2 },
    });
  }
  if (size1 === size2 || size1 === 0) return NO_NODES;
  // The old tree ends with a perfect subtree (level = trailing zeros of size1) whose hash the
  // verifier can rebuild from the old root's side; the proof is the inclusion path of that
  // node in the new tree, preceded by the node itself (RFC 9162 §2.1.4.1 SUBPROOF).
  const level = trailingZeros(size1);
  const nodes = pathNodes(shiftRight(size1 - 1, level), level, size2);
  // When size1 is a power of two that node is the whole old tree, whose root the verifier
  // already has: SUBPROOF(m, D[m], true) = {} leaves it out.
  return isPowerOfTwo(size1) ? skipFirst(nodes) : nodes;
}

/**
 * Turns the hashes fetched for `nodes.ids` (same order, 32 bytes each) into the RFC 9162
 * proof, recomputing the ephemeral node. The proof holds the given arrays themselves where
 * no rehashing was needed. Throws 'argument_invalid' on a wrong count or length: that is a
 * store bug, not a bad proof.
 */
export function rehashProof(nodes: ProofNodes, hashes: readonly Uint8Array[]): Uint8Array[] {
  if (hashes.length !== nodes.ids.length) {
    throw new BackchannelError('argument_invalid', `got ${hashes.length} hashes for ${nodes.ids.length} nodes`);
  }
  for (const h of hashes) {
    if (h.length !== HASH_SIZE) throw new BackchannelError('argument_invalid', `a stored hash has ${h.length} bytes`);
  }
  const eph = nodes.ephemeral;
  if (eph === undefined) return hashes.slice();
  const out = hashes.slice(0, eph.begin);
  // ids[begin] is the lowest (rightmost) subtree; each next one is a bigger subtree to its left.
  let acc = hashes[eph.begin]!;
  for (let i = eph.begin + 1; i < eph.end; i++) acc = hashChildren(hashes[i]!, acc);
  out.push(acc);
  for (let i = eph.end; i < hashes.length; i++) out.push(hashes[i]!);
  return out;
}

/**
 * Nodes of the inclusion path of node (level, index) in the tree of `size` leaves, preceded
 * by that node itself. Port of transparency-dev/merkle proof.nodes.
 *
 * Precondition: the node is perfect in that tree: (index + 1)·2^level ≤ size.
 */
function pathNodes(index: number, level: number, size: number): ProofNodes {
  // The "fork" is where the path from the root to our node parts from the path to the
  // right edge (leaf `size`): `inner` levels above the node. Below the fork every sibling is
  // a perfect node. The fork's right sibling reaches the edge; where the edge cuts it, its
  // RFC hash is the MTH of an imperfect subtree: the ephemeral node.
  const inner = bitLength(xor(index, shiftRight(size, level))) - 1;
  const forkLevel = level + inner;
  const forkIndex = shiftRight(index, inner);
  const forkWidth = 2 ** forkLevel;
  const forkBegin = forkIndex * forkWidth;
  const forkEnd = forkBegin + forkWidth;

  const ids: NodeId[] = [{ level, index }];
  // Siblings along the way up to the fork (RFC PATH recursing into the perfect half).
  for (let l = level, i = index; l < forkLevel; l++, i = Math.floor(i / 2)) {
    ids.push({ level: l, index: i % 2 === 0 ? i + 1 : i - 1 });
  }
  // The leaves right of the fork, [forkEnd, size): the fork's sibling in the RFC's tree, cut
  // by the right edge. Its perfect pieces come out of rangeNodes highest level first; reverse
  // them, lowest first. A single piece is itself a stored node: nothing to rehash.
  const right = rangeNodes(forkEnd, size).reverse();
  const begin = ids.length;
  ids.push(...right);
  const end = ids.length;
  // The leaves left of the fork, [0, forkBegin): perfect subtrees, each the left sibling of
  // an ancestor of the fork, taken from the bottom up.
  ids.push(...rangeNodes(0, forkBegin).reverse());

  const ephemeral = right.length > 1 ? { begin, end } : undefined;
  return { ids, ephemeral };
}

function skipFirst(nodes: ProofNodes): ProofNodes {
  const eph = nodes.ephemeral;
  return {
    ids: nodes.ids.slice(1),
    ephemeral: eph === undefined ? undefined : { begin: eph.begin - 1, end: eph.end - 1 },
  };
}
