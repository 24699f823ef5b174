/**
 * A store spy for the group-commit tests: the real store, with commitBatch observed (events in
 * order), optionally held at a gate, or made to fail like a full disk. Not a mock: every call
 * still reaches the real SQLite or PostgreSQL store.
 */
import type { CommitBatch, Committed, RelayStore } from '../../src/store/relay-store.js';

export interface CommitSpy {
  events: string[];
  /** The batches the store committed (refused ones are not among them: see `refused`). */
  commits: CommitBatch[];
  /** How many batches the store refused as holding what it knows ('known'). */
  refused: number;
  /** How many times the log manager asked the store what of a batch it knows (findKnown, findDeliveries). */
  reads: number;
  /** Holds every commit until `release()`. */
  hold(): void;
  release(): void;
  /** The next commit fails with this driver-like error, before reaching the store. */
  failNext(error: Error & { code?: string }): void;
  started(): Promise<void>;
}

export function spyOnCommits(real: RelayStore): { store: RelayStore; spy: CommitSpy } {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let failure: Error | undefined;
  let onStart: (() => void) | undefined;
  const spy: CommitSpy = {
    events: [],
    commits: [],
    refused: 0,
    reads: 0,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      open?.();
      gate = undefined;
    },
    failNext(e) {
      failure = e;
    },
    started: () =>
      new Promise((r) => {
        onStart = r;
      }),
  };
  const commitBatch = async (b: CommitBatch): Promise<Committed | 'known'> => {
    spy.events.push('commit:start');
    onStart?.();
    onStart = undefined;
    if (gate !== undefined) await gate;
    if (failure !== undefined) {
      const f = failure;
      failure = undefined;
      spy.events.push('commit:failed');
      // What the real store does with a driver error: typed as storage_full / unavailable.
      const { storageError } = await import('../../src/store/kysely-store.js');
      throw storageError(f);
    }
    const answer = await real.commitBatch(b);
    if (answer === 'known') {
      spy.refused++;
      spy.events.push('commit:known');
      return answer;
    }
    spy.commits.push(b);
    spy.events.push('commit:end');
    return answer;
  };
  const read =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> => {
      spy.reads++;
      return fn(...a);
    };
  const findKnown = read(real.findKnown.bind(real));
  const findDeliveries = read(real.findDeliveries.bind(real));
  const store = new Proxy(real, {
    get(target, key, receiver) {
      if (key === 'commitBatch') return commitBatch;
      if (key === 'findKnown') return findKnown;
      if (key === 'findDeliveries') return findDeliveries;
      const v: unknown = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, spy };
}
