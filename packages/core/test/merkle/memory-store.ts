/**
 * An in-memory node store for tests: what a relay's database does, built with appendLeaves,
 * read with the node IDs proof-nodes.ts asks for. Test helper, not a test.
 */
import {
  appendLeaves,
  EMPTY_FRONTIER,
  frontierFromHashes,
  frontierNodeIds,
  rootOf,
  type Frontier,
} from '../../src/merkle/compact-range.js';
import type { NodeId } from '../../src/merkle/node-id.js';
import { consistencyNodes, inclusionNodes, rehashProof } from '../../src/merkle/proof-nodes.js';

export class MemoryNodeStore {
  private readonly nodes = new Map<string, Uint8Array>();
  private frontier: Frontier = EMPTY_FRONTIER;

  get size(): number {
    return this.frontier.size;
  }

  /** Appends leaf hashes, persisting every completed node exactly once. */
  append(leafHashes: readonly Uint8Array[]): void {
    const { frontier, completed } = appendLeaves(this.frontier, leafHashes);
    for (const n of completed) {
      const key = `${n.level}/${n.index}`;
      if (this.nodes.has(key)) throw new Error(`node ${key} completed twice`);
      this.nodes.set(key, n.hash);
    }
    this.frontier = frontier;
  }

  /** One "batched query": every requested hash, or an error for a node never stored. */
  fetch(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => {
      const h = this.nodes.get(`${id.level}/${id.index}`);
      if (h === undefined) throw new Error(`node ${id.level}/${id.index} is not stored`);
      return h;
    });
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  currentRoot(): Uint8Array {
    return rootOf(this.frontier);
  }

  /** Root of the tree of an earlier (or the current) size, from stored nodes only. */
  rootAt(size: number): Uint8Array {
    return rootOf(frontierFromHashes(size, this.fetch(frontierNodeIds(size))));
  }

  inclusionProof(index: number, size: number): Uint8Array[] {
    const nodes = inclusionNodes(index, size);
    return rehashProof(nodes, this.fetch(nodes.ids));
  }

  consistencyProof(size1: number, size2: number): Uint8Array[] {
    const nodes = consistencyNodes(size1, size2);
    return rehashProof(nodes, this.fetch(nodes.ids));
  }
}
