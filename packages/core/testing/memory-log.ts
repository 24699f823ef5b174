/**
 * An in-memory transparency log for tests, vectors and benchmarks: it appends leaves, keeps
 * every perfect node, signs checkpoints and makes proofs the way the relay does, with the node
 * map standing in for the relay's database table.
 */
import { appendLeaves, consistencyNodes, EMPTY_FRONTIER, hashLeaf, inclusionNodes, rehashProof, rootOf, type Frontier, type NodeId } from '../src/merkle/index.js';
import { signCheckpoint } from '../src/note/checkpoint.js';
import type { Ed25519Key } from '../src/ed25519.js';

export class MemoryLog {
  readonly origin: string;
  readonly #key: Ed25519Key;
  readonly #nodes = new Map<string, Uint8Array>();
  readonly leaves: Uint8Array[] = [];
  #frontier: Frontier = EMPTY_FRONTIER;

  constructor(origin: string, key: Ed25519Key) {
    this.origin = origin;
    this.#key = key;
  }

  get size(): number {
    return this.#frontier.size;
  }

  append(...leaves: Uint8Array[]): number {
    const first = this.#frontier.size;
    const r = appendLeaves(this.#frontier, leaves.map(hashLeaf));
    for (const n of r.completed) this.#nodes.set(`${n.level}/${n.index}`, n.hash);
    this.#frontier = r.frontier;
    this.leaves.push(...leaves);
    return first;
  }

  root(): Uint8Array {
    return rootOf(this.#frontier);
  }

  checkpoint(): string {
    return signCheckpoint(this.#key, this.origin, this.size, this.root());
  }

  #fetch(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => {
      const h = this.#nodes.get(`${id.level}/${id.index}`);
      if (h === undefined) throw new Error(`node ${id.level}/${id.index} missing`);
      return h;
    });
  }

  inclusionProof(index: number, size = this.size): Uint8Array[] {
    const nodes = inclusionNodes(index, size);
    return rehashProof(nodes, this.#fetch(nodes.ids));
  }

  consistencyProof(size1: number, size2 = this.size): Uint8Array[] {
    const nodes = consistencyNodes(size1, size2);
    return rehashProof(nodes, this.#fetch(nodes.ids));
  }
}
