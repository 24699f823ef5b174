/**
 * Merkle tree benchmark: leaf hashing, appending, proof generation from stored nodes and proof
 * verification at 1M leaves (and 10M unless quick), and root computation at a checkpoint size.
 *
 * The node store is in memory: one flat Uint8Array per level (32 bytes per node), a stand-in
 * for the relay's table of perfect-subtree hashes. Proof generation is measured end to end:
 * node IDs, one "batched fetch", rehash. Run alone: `npx tsx bench/merkle.bench.ts [--quick]`.
 */
import path from 'node:path';
import {
  EMPTY_FRONTIER,
  appendLeaves,
  consistencyNodes,
  encodeTile,
  frontierFromHashes,
  frontierNodeIds,
  hashChildren,
  hashLeaf,
  inclusionNodes,
  rehashProof,
  rootOf,
  tileNodeRange,
  verifyConsistency,
  verifyInclusion,
  type Frontier,
  type NodeId,
} from '../packages/core/src/merkle/index.js';
import { sha256 } from '../packages/core/src/hash.js';
import { measure, type BenchOptions, type BenchRow } from './lib.js';

const GROUP = 'merkle';
/** Leaves integrated per append call, like one group commit of the relay. */
const BATCH = 1000;
const NODE_PREFIX = new Uint8Array([0x01]);

/** Perfect-subtree hashes, one flat array per level, filled left to right by appends. */
class LevelStore {
  private readonly levels: Uint8Array[] = [];

  constructor(capacity: number) {
    for (let width = capacity; width >= 1; width = Math.floor(width / 2)) this.levels.push(new Uint8Array(width * 32));
  }

  put(level: number, index: number, hash: Uint8Array): void {
    this.levels[level]!.set(hash, index * 32);
  }

  get(level: number, index: number): Uint8Array {
    return this.levels[level]!.subarray(index * 32, index * 32 + 32);
  }

  /** The "one batched query" of a real store. */
  fetch(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => this.get(id.level, id.index));
  }

  get bytes(): number {
    return this.levels.reduce((n, l) => n + l.length, 0);
  }
}

/** Deterministic xorshift32, so runs compare. Returns integers in [0, n). */
function randomInts(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** The 32-byte leaf commitment number i (its content does not matter to the tree). */
function leafInput(i: number): Uint8Array {
  const leaf = new Uint8Array(32);
  new DataView(leaf.buffer).setFloat64(0, i);
  return leaf;
}

function buildTree(size: number): { store: LevelStore; frontier: Frontier; seconds: number } {
  const store = new LevelStore(size);
  let frontier = EMPTY_FRONTIER;
  const t0 = performance.now();
  for (let at = 0; at < size; at += BATCH) {
    const batch: Uint8Array[] = [];
    for (let i = at; i < Math.min(size, at + BATCH); i++) batch.push(hashLeaf(leafInput(i)));
    const r = appendLeaves(frontier, batch);
    for (const n of r.completed) store.put(n.level, n.index, n.hash);
    frontier = r.frontier;
  }
  return { store, frontier, seconds: (performance.now() - t0) / 1000 };
}

function rowFromTotal(name: string, ops: number, seconds: number, note: string): BenchRow {
  const opsPerSec = ops / seconds;
  return { group: GROUP, name, opsPerSec, usPerOp: 1e6 / opsPerSec, note };
}

async function treeRows(size: number, label: string, timing: { ms: number; rounds: number }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const { store, frontier, seconds } = buildTree(size);
  const note = `${seconds.toFixed(1)} s total, ${(store.bytes / 2 ** 20).toFixed(0)} MiB of node hashes`;
  rows.push(rowFromTotal(`build ${label}: hash + append + store, per leaf`, size, seconds, note));
  const root = rootOf(frontier);
  const rnd = randomInts(size);

  // A pool of pre-generated proofs, so verification is measured alone.
  const inclusionPool = Array.from({ length: 256 }, () => {
    const index = rnd(size);
    const nodes = inclusionNodes(index, size);
    return { index, leaf: store.get(0, index), proof: rehashProof(nodes, store.fetch(nodes.ids)) };
  });
  const consistencyPool = Array.from({ length: 256 }, () => {
    const size1 = 1 + rnd(size - 1);
    const nodes = consistencyNodes(size1, size);
    const old = frontierFromHashes(size1, store.fetch(frontierNodeIds(size1)));
    return { size1, root1: rootOf(old), proof: rehashProof(nodes, store.fetch(nodes.ids)) };
  });
  let k = 0;

  rows.push(
    await measure(
      GROUP,
      `inclusion proof generation @ ${label} (ids + fetch + rehash)`,
      () => {
        const nodes = inclusionNodes(rnd(size), size);
        return rehashProof(nodes, store.fetch(nodes.ids));
      },
      timing,
    ),
    await measure(
      GROUP,
      `inclusion proof verification @ ${label}`,
      () => {
        const c = inclusionPool[k++ & 255]!;
        verifyInclusion(c.leaf, c.index, size, c.proof, root);
      },
      timing,
    ),
    await measure(
      GROUP,
      `consistency proof generation @ ${label} (ids + fetch + rehash)`,
      () => {
        const nodes = consistencyNodes(1 + rnd(size - 1), size);
        return rehashProof(nodes, store.fetch(nodes.ids));
      },
      timing,
    ),
    await measure(
      GROUP,
      `consistency proof verification @ ${label}`,
      () => {
        const c = consistencyPool[k++ & 255]!;
        verifyConsistency(c.size1, size, c.proof, c.root1, root);
      },
      timing,
    ),
    await measure(
      GROUP,
      `root at a checkpoint size ≤ ${label} (frontier ids + fetch + fold)`,
      () => {
        const s = 1 + rnd(size);
        return rootOf(frontierFromHashes(s, store.fetch(frontierNodeIds(s))));
      },
      timing,
    ),
    await measure(
      GROUP,
      `full level-0 tile @ ${label} (node range + fetch + encode)`,
      () => {
        const r = tileNodeRange({ kind: 'hash', level: 0, index: rnd(Math.floor(size / 256)), width: 256 });
        const ids: NodeId[] = [];
        for (let i = r.begin; i < r.end; i++) ids.push({ level: r.level, index: i });
        return encodeTile(store.fetch(ids));
      },
      timing,
    ),
  );
  return rows;
}

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const timing = opts.quick ? { ms: 150, rounds: 3 } : { ms: 300, rounds: 5 };
  const leaf = leafInput(42);
  const a = hashLeaf(leaf);
  const b = hashLeaf(leafInput(43));
  const rows: BenchRow[] = [
    await measure(GROUP, 'hashLeaf (32-byte leaf)', () => hashLeaf(leaf), timing),
    await measure(GROUP, 'hashChildren', () => hashChildren(a, b), timing),
    // The baseline hasher.ts is measured against: incremental createHash, as in core/hash.ts.
    await measure(GROUP, 'hashChildren via createHash (baseline, not used)', () => sha256(NODE_PREFIX, a, b), timing),
  ];

  // Appending one group commit to a tree of a million leaves, nodes not stored. The frontier's
  // hash values do not matter to the timing, only its shape (one hash per set bit of 10^6).
  const frontier = frontierFromHashes(1_000_000, frontierNodeIds(1_000_000).map((_, i) => hashLeaf(leafInput(-i))));
  const batch = Array.from({ length: BATCH }, (_, i) => hashLeaf(leafInput(i)));
  rows.push(
    await measure(GROUP, `appendLeaves, batches of ${BATCH} (per leaf)`, () => appendLeaves(frontier, batch), {
      ...timing,
      opsPerCall: BATCH,
    }),
    await measure(GROUP, 'rootOf(frontier) @ 1M (new checkpoint root)', () => rootOf(frontier), timing),
  );

  rows.push(...(await treeRows(1_000_000, '1M', timing)));
  if (!opts.quick) rows.push(...(await treeRows(10_000_000, '10M', timing)));
  return rows;
}

function printTable(rows: readonly BenchRow[]): void {
  const lines = [
    '| benchmark | ops/s | µs/op | note |',
    '| --- | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.usPerOp.toFixed(2)} | ${r.note ?? ''} |`),
  ];
  console.log(lines.join('\n'));
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === import.meta.filename) {
  printTable(await run({ quick: process.argv.includes('--quick') }));
}
