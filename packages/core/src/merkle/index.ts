/**
 * The RFC 9162 Merkle tree of the transparency log: hashing, appending, O(log n) proof
 * generation from stored nodes, proof verification, and C2SP tlog-tiles. Pure functions, no
 * I/O. The naive reference tree (reference.ts) is for tests and deliberately not exported.
 */
export { EMPTY_ROOT, HASH_SIZE, emptyRoot, hashChildren, hashLeaf } from './hasher.js';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './verify.js';
export { nodeCoverage, rangeNodes, type NodeId } from './node-id.js';
export { consistencyNodes, inclusionNodes, rehashProof, type ProofNodes } from './proof-nodes.js';
export {
  EMPTY_FRONTIER,
  appendLeaves,
  frontierFromHashes,
  frontierNodeIds,
  rootOf,
  type CompletedNode,
  type Frontier,
} from './compact-range.js';
export {
  MAX_TILE_LEVEL,
  TILE_HEIGHT,
  TILE_WIDTH,
  decodeEntryBundle,
  decodeTile,
  encodeEntryBundle,
  encodeTile,
  entryBundleRange,
  formatTileIndex,
  parseTilePath,
  tileInTree,
  tileNodeRange,
  tilePath,
  tilesForSize,
  type EntryBundle,
  type HashTile,
  type Tile,
  type TileLevel,
} from './tiles.js';
