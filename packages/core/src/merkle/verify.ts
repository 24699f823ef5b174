/**
 * Verification of RFC 9162 inclusion proofs (§2.1.3.2) and consistency proofs (§2.1.4.2).
 *
 * Everything here is attacker-controlled: the proof and its sizes come from a relay, the
 * roots from checkpoints (whose signatures are checked elsewhere). As in transparency-dev/
 * merkle proof/verify.go, we compute the root the proof implies and then compare, and a
 * mismatch error carries both roots. Before hashing anything we check the proof has exactly
 * the length its sizes imply, so a malformed proof ('proof_invalid') is told apart from a
 * well-formed proof for other data ('root_mismatch_proof').
 *
 * Semantics follow transparency-dev/merkle (vectors in ../shared/vectors/tlog/):
 * - leaf hashes, proof hashes and roots must be 32 bytes;
 * - consistency from size1 = 0 is rejected: the RFC defines proofs only for 0 < m (a witness
 *   accepting "old 0", C2SP tlog-witness, does so before calling this);
 * - size1 = size2 needs an empty proof and equal roots, compared as bytes.
 */
import { equalBytes, toHex } from '../bytes.js';
import { BackchannelError } from '../errors.js';
import { assertTreeIndex, bitLength, isPowerOfTwo, popCount, shiftRight, trailingZeros, xor } from './bits.js';
import { HASH_SIZE, hashChildren } from './hasher.js';

/**
 * The root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4), without comparing it
 * to anything. Throws 'index_out_of_range' unless 0 ≤ index < size, 'proof_invalid' on a
 * hash that is not 32 bytes or a proof of the wrong length.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  assertTreeIndex(index, 'index');
  assertTreeIndex(size, 'size');
  if (index >= size) {
    throw new BackchannelError('index_out_of_range', `leaf index ${index} is not below tree size ${size}`, {
      details: { index, size },
    });
  }
  checkHash(leafHash, 'leaf hash');
  checkProofHashes(proof);
  // The path has one hash per level below the point where the paths to leaf `index` and to
  // the last leaf part ("inner"), then one per perfect subtree left of that point ("border").
  const inner = bitLength(xor(index, size - 1));
  const expected = inner + popCount(shiftRight(index, inner));
  checkProofLength(proof, expected);

  // RFC 9162 §2.1.3.2: fn walks up from the leaf, sn from the last leaf of the tree.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw proofTooLong(); // unreachable after the length check
    if (fn % 2 === 1 || fn === sn) {
      // We are a right child, or the rightmost node of a level whose right sibling is
      // missing: p is a subtree to our left.
      r = hashChildren(p, r);
      // On the right edge, skip the levels where this node has no sibling at all.
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw proofTooShort(); // unreachable after the length check
  return r;
}

/**
 * Checks that `leafHash` is leaf `index` of the tree of `size` leaves with root `root`
 * (RFC 9162 §2.1.3.2). Throws 'index_out_of_range', 'proof_invalid', or
 * 'root_mismatch_proof' (details: expected and calculated roots, hex).
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const calculated = rootFromInclusionProof(leafHash, index, size, proof);
  checkHash(root, 'root');
  checkRoot(calculated, root, 'root');
}

/**
 * Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of
 * `size2` leaves with root `root2` (RFC 9162 §2.1.4.2). Throws 'index_out_of_range' when
 * size1 = 0 or size1 > size2, 'proof_invalid' on a malformed proof or hash, and
 * 'root_mismatch_proof' (details: which root, expected and calculated, hex).
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  assertTreeIndex(size1, 'size1');
  assertTreeIndex(size2, 'size2');
  if (size2 < size1) {
    throw new BackchannelError('index_out_of_range', `tree size ${size2} is below tree size ${size1}`, {
      details: { size1, size2 },
    });
  }
  if (size1 === 0) {
    throw new BackchannelError('index_out_of_range', 'a consistency proof from the empty tree proves nothing', {
      details: { size1, size2 },
    });
  }
  if (size1 === size2) {
    // Nothing to prove but that the roots agree. As upstream, compare without a length check
    // (the vector sizes-are-equal-one-and-proof-is-empty uses 12-byte roots and succeeds).
    if (proof.length !== 0) {
      throw new BackchannelError('proof_invalid', 'equal tree sizes need an empty consistency proof', {
        details: { expected: 0, actual: proof.length },
      });
    }
    checkRoot(root1, root2, 'root2');
    return;
  }
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  checkProofHashes(proof);
  // The proof is the inclusion path, in the new tree, of the last perfect subtree of the old
  // one (level `shift`), preceded by that subtree's hash unless it is the whole old tree.
  const shift = trailingZeros(size1);
  const inner = bitLength(xor(size1 - 1, size2 - 1));
  const border = popCount(shiftRight(size1 - 1, inner));
  const seeded = isPowerOfTwo(size1);
  checkProofLength(proof, (seeded ? 0 : 1) + inner - shift + border);

  // RFC 9162 §2.1.4.2 step 2: if size1 is a power of two, the old root starts the path.
  const path = seeded ? [root1, ...proof] : proof;
  // Step 3–4: fn walks up from the old tree's last leaf, sn from the new tree's; skip the
  // levels inside the old tree's last perfect subtree.
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 5: fr rebuilds the old root, sr the new one, both from that subtree's hash.
  let fr = path[0]!;
  let sr = fr;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) throw proofTooLong(); // unreachable after the length check
    if (fn % 2 === 1 || fn === sn) {
      // c is left of us: part of both trees.
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      // c is right of us: only in the new tree.
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 7.
  if (sn !== 0) throw proofTooShort(); // unreachable after the length check
  checkRoot(fr, root1, 'root1');
  checkRoot(sr, root2, 'root2');
}

function checkHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array)) throw new BackchannelError('proof_invalid', `${what} is not bytes`, { details: { field: what } });
  if (h.length !== HASH_SIZE) {
    throw new BackchannelError('proof_invalid', `${what} has ${h.length} bytes, not ${HASH_SIZE}`, {
      details: { field: what, length: h.length },
    });
  }
}

function checkProofHashes(proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof)) throw new BackchannelError('proof_invalid', 'proof is not an array of hashes');
  const bad: number[] = [];
  proof.forEach((p, i) => {
    if (!(p instanceof Uint8Array) || p.length !== HASH_SIZE) bad.push(i);
  });
  if (bad.length > 0) {
    throw new BackchannelError('proof_invalid', `proof hashes at positions ${bad.join(', ')} are not ${HASH_SIZE} bytes`, {
      details: { positions: bad },
    });
  }
}

function checkProofLength(proof: readonly Uint8Array[], expected: number): void {
  if (proof.length !== expected) {
    throw new BackchannelError('proof_invalid', `proof has ${proof.length} hashes, these sizes need ${expected}`, {
      details: { expected, actual: proof.length },
    });
  }
}

/** Like transparency-dev's RootMismatchError: both roots, so a log's misbehaviour is on record. */
function checkRoot(calculated: Uint8Array, expected: Uint8Array, which: string): void {
  if (!equalBytes(calculated, expected)) {
    throw new BackchannelError('root_mismatch_proof', `calculated ${which} differs from the expected one`, {
      details: { root: which, expected: toHex(expected), calculated: toHex(calculated) },
    });
  }
}

function proofTooLong(): BackchannelError {
  return new BackchannelError('proof_invalid', 'proof has more hashes than the tree has levels');
}

function proofTooShort(): BackchannelError {
  return new BackchannelError('proof_invalid', 'proof ends before the root');
}
