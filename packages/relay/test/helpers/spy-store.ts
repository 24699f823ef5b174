/**
 * A store spy for the group-commit tests: the real store, with commitBatch observed (events in
 * order), optionally held at a gate, or made to fail like a full disk. Not a mock: every call
 * still reaches the real SQLite or PostgreSQL store.
 */
import type { CommitBatch, RelayStore } from '../../src/store/relay-store.js';

export interface CommitSpy {
  events: string[];
  commits: CommitBatch[];
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
  const commitBatch = async (b: CommitBatch): Promise<void> => {
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
    await real.commitBatch(b);
    spy.commits.push(b);
    spy.events.push('commit:end');
  };
  const store = new Proxy(real, {
    get(target, key, receiver) {
      if (key === 'commitBatch') return commitBatch;
      const v: unknown = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, spy };
}
