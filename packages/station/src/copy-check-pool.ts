/**
 * Copy checks on worker threads (issue 9): a sync page is split into runs that worker threads
 * check (copy-check.ts: token, receipt, opening — the five Ed25519
 * verifications and the decryption, about a millisecond a copy here) while the desk's one
 * JavaScript thread merges and stores the copies before them in order.
 *
 * Only a success is taken from a worker, and only when it was checked against the very bundle
 * receiveCopy holds for the sender (same bundle hash). Anything else — a failed check, a worker
 * that did not start or died, an answer that would not clone — leaves receiveCopy to check the
 * copy in line, so a copy's outcome never depends on where it was checked.
 *
 * The workers receive this desk's raw decryption keys by postMessage: memory of the same
 * process, never written or sent anywhere. Idle workers do not hold a process open.
 *
 * Sync only, not pushed copies: the hand-off costs CPU (the copies and their openings cloned
 * both ways, ~0.4 ms a note measured), which pays where the desk's one thread is the limit and
 * a core is free (a sync), and not when every core is busy (a desk taking a push stream while
 * it sends: receiver CPU 3.1–3.3 → 3.5–3.8 ms a note at 1,000 notes/s offered, no gain).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SignedBundle, SuiteName, Vkey } from '@backchannel/core';
import type { CopyBytes, CopyCheck } from './copy-check.js';
import type { Channel, Desk } from './desk.js';

export interface CheckRequest {
  id: number;
  self: string;
  origin: string;
  logKey: Vkey;
  parties: [string, SignedBundle][];
  keys: { kid: string; suite: SuiteName; raw: Uint8Array }[];
  items: CopyBytes[];
}

/** A worker's check of one copy, and the hash of the sender bundle it was checked against. */
export interface PreChecked {
  senderHash: Uint8Array;
  check: CopyCheck;
}

export interface CheckAnswer {
  id: number;
  results: (PreChecked | null)[];
}

type Answer = (results: (PreChecked | null)[] | undefined) => void;

interface Slot {
  worker: Worker;
  pending: Map<number, Answer>;
}

// Short runs: the first answers come back soon, so merging starts while the rest is checked.
const RUN = 8;
/** Fewer copies than this are checked in line: hand-offs cost more than they save. */
export const POOL_MIN_COPIES = 8;

export class CopyCheckPool {
  readonly #size: number;
  #slots: Slot[] | undefined;
  #next = 0;
  #nextId = 1;
  #broken = false;

  /**
   * `threads` defaults to one fewer than the cores, at least one: the desk's own thread is the
   * one that merges, and on two cores a second worker only took time from it (measured: 1 worker
   * 352–358 copies/s, 2 workers 283–345/s, none 278–330/s, syncs of 3,000; again on
   * 2026-12-05: 1.70–1.76 ms a note with one, 1.88–1.99 with two, each worker warming up and
   * caching on its own).
   */
  constructor(options: { threads?: number } = {}) {
    this.#size = Math.max(0, Math.min(4, options.threads ?? Math.max(1, availableParallelism() - 1)));
  }

  /**
   * One promise per copy, in order; each resolves with the worker's check, or undefined when
   * the copy is to be checked in line. Never rejects.
   */
  check(ctx: Omit<CheckRequest, 'id' | 'items'>, items: readonly CopyBytes[]): Promise<PreChecked | undefined>[] {
    const slots = this.#start();
    if (slots === undefined) return items.map(() => Promise.resolve(undefined));
    const out: Promise<PreChecked | undefined>[] = [];
    for (let at = 0; at < items.length; at += RUN) {
      const run = items.slice(at, at + RUN).map((i) => ({ envelope: i.envelope, token: i.token, receipt: i.receipt }));
      const slot = slots[this.#next++ % slots.length]!;
      const id = this.#nextId++;
      const answered = new Promise<(PreChecked | null)[] | undefined>((resolve) => {
        slot.pending.set(id, resolve);
      });
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage({ ...ctx, id, items: run } satisfies CheckRequest);
      for (let i = 0; i < run.length; i++) out.push(answered.then((r) => r?.[i] ?? undefined));
    }
    return out;
  }

  /** Makes the first worker exit as if it had crashed, before it reads what is sent next (tests). */
  crashForTests(): void {
    this.#start()?.[0]?.worker.postMessage({ crash: true });
  }

  async close(): Promise<void> {
    const slots = this.#slots ?? [];
    this.#slots = undefined;
    this.#broken = true;
    for (const s of slots) this.#fail(s);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #start(): Slot[] | undefined {
    if (this.#broken || this.#size === 0) return undefined;
    if (this.#slots !== undefined) return this.#slots;
    const slots: Slot[] = [];
    try {
      for (let i = 0; i < this.#size; i++) {
        const worker = new Worker(new URL('./copy-check-worker.js', import.meta.url), { execArgv: [] });
        worker.unref();
        const slot: Slot = { worker, pending: new Map() };
        worker.on('message', (a: CheckAnswer) => {
          const done = slot.pending.get(a.id);
          slot.pending.delete(a.id);
          if (slot.pending.size === 0) worker.unref();
          done?.(a.results);
        });
        // A worker that cannot load or dies: its runs and everything after are checked in line.
        const broken = (): void => {
          this.#broken = true;
          for (const s of this.#slots ?? []) this.#fail(s);
        };
        worker.on('error', broken);
        worker.on('exit', broken);
        slots.push(slot);
      }
      this.#slots = slots;
      return slots;
    } catch {
      // Threads could not be started: the ones that were go, and every copy is checked in line.
      this.#broken = true;
      for (const s of slots) void s.worker.terminate();
      return undefined;
    }
  }

  #fail(slot: Slot): void {
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    slot.worker.unref();
    for (const p of pending) p(undefined);
  }
}

/**
 * Hands a page of copies from `ch` to the desk's pool, or returns undefined when the page is
 * too short to be worth it. What each copy needs: every pinned sender's bundle (the worker
 * picks the copy's own), our decryption keys, the relay's origin and log key.
 */
export async function precheckCopies(desk: Desk, ch: Channel, items: readonly CopyBytes[]): Promise<Promise<PreChecked | undefined>[] | undefined> {
  if (items.length < POOL_MIN_COPIES) return undefined;
  const parties = (await desk.store.listParties()).map((p): [string, SignedBundle] => [p.id, p.bundle]);
  const keys = [...desk.keys.decryption].map(([kid, k]) => ({ kid, suite: k.suite, raw: k.key.exportBytes() }));
  return desk.checks.check({ self: desk.party, origin: ch.card.origin, logKey: ch.card.vkey, parties, keys }, items);
}
