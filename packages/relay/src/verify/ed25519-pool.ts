/**
 * Ed25519 verification off the event loop (issue 9): a pool of worker threads that check many
 * signatures per message, so the relay's one JavaScript thread parses, routes and commits while
 * the other cores verify. An Ed25519 check costs ~70 µs on OpenSSL; one postMessage round trip
 * costs a few, so jobs that arrive in the same turn of the event loop travel together.
 *
 * The strict rule of core's verifyRaw (DESIGN.md, "Signatures and labels") is split: the cheap
 * parts (canonical, non-small-order public key; S < L) run here on the main thread, and the
 * worker (ed25519-worker.js) does OpenSSL's verification on the labelled message. The answer
 * is the same as verifyRaw's for every input: a test holds the two side by side.
 *
 * A worker that dies takes nothing with it: its jobs go to a fresh worker, and a job that was
 * in flight through two deaths is checked on the main thread, so every caller gets an answer.
 * Where threads cannot be started at all, everything is checked on the main thread.
 *
 * The same threads compute log leaves (`leaves`: core's commitLeaf, seven HMACs and eight
 * hashes, ~40 µs a record), which were the largest single item of the event loop's work on an
 * envelope at the group commit.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { commitLeaf, isStrictPublicKey, leafFieldValues, leafHashConstants, utf8, verifyRaw, type Label, type LeafOpening } from '@backchannel/core';

/** One signature to check: `sig` by `pub` over `label || 0x00 || parts…`. */
export interface VerifyJob {
  pub: Uint8Array;
  sig: Uint8Array;
  label: Label;
  parts: readonly Uint8Array[];
}

/** `key_invalid`: the public key is not a strict Ed25519 key (core's verifyRaw throws key_invalid). */
export type VerifyResult = 'valid' | 'invalid' | 'key_invalid';

const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function leToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

interface Queued {
  job: VerifyJob;
  attempt: number;
  done: (r: VerifyResult) => void;
}

interface QueuedLeaf {
  opening: LeafOpening;
  attempt: number;
  done: (leaf: Uint8Array) => void;
}

interface Call {
  ready: boolean;
  settle: () => void;
}

interface Slot {
  worker: Worker;
  inFlight: number;
  batches: Map<number, Queued[]>;
  leafBatches: Map<number, QueuedLeaf[]>;
}

// Past this many queued jobs, or message bytes, a batch leaves at once, without waiting for
// the end of the turn (large envelopes must not pile up into one huge copy).
const FLUSH_AT = 512;
const FLUSH_BYTES = 16 * 1024 * 1024;
const labelBytes = new Map<string, Uint8Array>();

function labelled(label: Label): Uint8Array {
  let b = labelBytes.get(label);
  if (b === undefined) {
    b = utf8(label);
    labelBytes.set(label, b);
  }
  return b;
}

function inline(job: VerifyJob): VerifyResult {
  const label = labelled(job.label);
  let len = label.length + 1;
  for (const p of job.parts) len += p.length;
  const msg = new Uint8Array(len);
  msg.set(label, 0);
  let at = label.length + 1;
  for (const p of job.parts) {
    msg.set(p, at);
    at += p.length;
  }
  try {
    return verifyRaw(job.pub, msg, job.sig) ? 'valid' : 'invalid';
  } catch {
    return 'key_invalid';
  }
}

export class Ed25519Pool {
  readonly #size: number;
  readonly #slots: Slot[] = [];
  #queue: Queued[] = [];
  #leafQueue: QueuedLeaf[] = [];
  #queuedBytes = 0;
  // Calls in the order made, and the first not yet settled.
  #calls: Call[] = [];
  #callsHead = 0;
  #flushScheduled = false;
  #nextId = 1;
  #closed = false;
  #broken = false;
  // Strict-rule results for keys seen (hex → strict), bounded like core's key cache.
  readonly #strict = new Map<string, boolean>();

  /** `threads` 0 checks everything on the main thread (the fallback, and a baseline to compare). */
  constructor(options: { threads?: number } = {}) {
    this.#size = Math.max(0, Math.min(16, options.threads ?? availableParallelism()));
  }

  get threads(): number {
    return this.#broken ? 0 : this.#size;
  }

  /**
   * Resolves with one result per job, in order. Never rejects for a bad signature or key.
   * Calls resolve in the order they were made, whichever worker finishes first: submissions
   * reach the log in the order they arrived, so the first of two envelopes under one id wins.
   */
  verify(jobs: readonly VerifyJob[], options: { inlineWhenIdle?: boolean } = {}): Promise<VerifyResult[]> {
    if (options.inlineWhenIdle === true && this.#idle()) {
      // Nothing queued or in flight: every earlier call has settled, so answering here keeps
      // the order, and one request alone saves two thread hand-offs (~0.4 ms each measured
      // on a 2-core VM) for ~0.15 ms of this thread.
      return Promise.resolve(jobs.map((job) => this.#precheck(job) ?? inline(job)));
    }
    return new Promise((resolve) => {
      const results = new Array<VerifyResult>(jobs.length);
      const call: Call = { ready: false, settle: () => { resolve(results); } };
      this.#calls.push(call);
      let left = jobs.length;
      if (left === 0) this.#ready(call);
      jobs.forEach((job, i) => {
        const done = (r: VerifyResult): void => {
          results[i] = r;
          if (--left === 0) this.#ready(call);
        };
        const pre = this.#precheck(job);
        if (pre !== undefined) done(pre);
        else this.#enqueue({ job, attempt: 0, done });
      });
    });
  }

  /**
   * The log leaves of `openings` (core's commitLeaf, byte for byte: a test holds the two side by
   * side), in order. With `inlineWhenIdle` and nothing queued or in flight, computed on the
   * calling thread, where a hand-off would only add latency. Rejects as commitLeaf throws.
   */
  leaves(openings: readonly LeafOpening[], options: { inlineWhenIdle?: boolean } = {}): Promise<Uint8Array[]> {
    if ((options.inlineWhenIdle === true && this.#idle()) || openings.some((o) => o.salt.length !== 32)) {
      try {
        return Promise.resolve(openings.map(commitLeaf));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    return new Promise((resolve) => {
      const out = new Array<Uint8Array>(openings.length);
      let left = openings.length;
      if (left === 0) resolve(out);
      openings.forEach((opening, i) => {
        this.#enqueueLeaf({
          opening,
          attempt: 0,
          done: (leaf) => {
            out[i] = leaf;
            if (--left === 0) resolve(out);
          },
        });
      });
    });
  }

  #idle(): boolean {
    return this.#queue.length === 0 && this.#leafQueue.length === 0 && this.#callsHead === this.#calls.length && this.#slots.every((s) => s.inFlight === 0);
  }

  #ready(call: Call): void {
    call.ready = true;
    while (this.#calls[this.#callsHead]?.ready === true) this.#calls[this.#callsHead++]!.settle();
    if (this.#callsHead > 1024 && this.#callsHead * 2 > this.#calls.length) {
      this.#calls = this.#calls.slice(this.#callsHead);
      this.#callsHead = 0;
    }
  }

  /** Stops the workers; jobs still queued are checked on the main thread. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const s of slots) {
      const batches = [...s.batches.values()];
      s.batches.clear();
      for (const batch of batches) for (const q of batch) q.done(inline(q.job));
      const leafBatches = [...s.leafBatches.values()];
      s.leafBatches.clear();
      for (const batch of leafBatches) for (const q of batch) q.done(commitLeaf(q.opening));
    }
    for (const q of this.#queue.splice(0)) q.done(inline(q.job));
    for (const q of this.#leafQueue.splice(0)) q.done(commitLeaf(q.opening));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** Makes one worker exit as if it had crashed (tests of the pool's recovery). */
  crashWorkerForTests(): void {
    this.#slots[0]?.worker.postMessage({ crash: true });
  }

  /** The strict rule's cheap parts; undefined when the signature must be checked. */
  #precheck(job: VerifyJob): VerifyResult | undefined {
    const { pub, sig } = job;
    if (!(pub instanceof Uint8Array) || pub.length !== 32 || !(sig instanceof Uint8Array) || sig.length !== 64) return 'key_invalid';
    const hex = Buffer.from(pub.buffer, pub.byteOffset, 32).toString('hex');
    let strict = this.#strict.get(hex);
    if (strict === undefined) {
      strict = isStrictPublicKey(pub);
      if (this.#strict.size >= 4096) this.#strict.delete(this.#strict.keys().next().value!);
      this.#strict.set(hex, strict);
    }
    if (!strict) return 'key_invalid';
    // S < L (RFC 8032 §5.1.7); S < 2^252 needs no big-integer comparison.
    if ((sig[63]! & 0xf0) !== 0 && leToBigint(sig.subarray(32)) >= L) return 'invalid';
    return undefined;
  }

  #enqueue(q: Queued): void {
    if (this.#closed || this.#size === 0 || this.#broken || q.attempt >= 2) {
      q.done(inline(q.job));
      return;
    }
    this.#queue.push(q);
    for (const p of q.job.parts) this.#queuedBytes += p.length;
    this.#scheduleFlush(this.#queue.length);
  }

  #enqueueLeaf(q: QueuedLeaf): void {
    if (this.#closed || this.#size === 0 || this.#broken || q.attempt >= 2) {
      q.done(commitLeaf(q.opening));
      return;
    }
    this.#leafQueue.push(q);
    this.#scheduleFlush(this.#leafQueue.length);
  }

  #scheduleFlush(queued: number): void {
    if (queued >= FLUSH_AT || this.#queuedBytes >= FLUSH_BYTES) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // The end of this turn of the event loop: every request parsed in it joins the batch.
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  #flush(): void {
    const jobs = this.#queue;
    const leaves = this.#leafQueue;
    if (jobs.length === 0 && leaves.length === 0) return;
    this.#queue = [];
    this.#leafQueue = [];
    this.#queuedBytes = 0;
    this.#ensureWorkers();
    if (this.#slots.length === 0) {
      for (const q of jobs) q.done(inline(q.job));
      for (const q of leaves) q.done(commitLeaf(q.opening));
      return;
    }
    this.#spread(jobs, (slot, batch) => { this.#send(slot, batch); });
    this.#spread(leaves, (slot, batch) => { this.#sendLeaves(slot, batch); });
  }

  /** Splits `items` across the least busy workers, so a burst uses every core. */
  #spread<T>(items: T[], send: (slot: Slot, batch: T[]) => void): void {
    if (items.length === 0) return;
    const slots = [...this.#slots].sort((a, b) => a.inFlight - b.inFlight);
    const parts = Math.min(slots.length, items.length);
    const per = Math.ceil(items.length / parts);
    for (let i = 0; i < parts; i++) send(slots[i]!, items.slice(i * per, (i + 1) * per));
  }

  /** Leaf jobs back to back: salt (32) | for each field, in LEAF_FIELDS order: length (u32 BE) | value. */
  #sendLeaves(slot: Slot, batch: QueuedLeaf[]): void {
    const values = batch.map((q) => leafFieldValues(q.opening));
    let size = 0;
    for (const vs of values) {
      size += 32;
      for (const v of vs) size += 4 + v.length;
    }
    const buf = new ArrayBuffer(size);
    const bytes = new Uint8Array(buf);
    const view = new DataView(buf);
    let at = 0;
    batch.forEach((q, i) => {
      bytes.set(q.opening.salt, at);
      at += 32;
      for (const v of values[i]!) {
        view.setUint32(at, v.length);
        bytes.set(v, at + 4);
        at += 4 + v.length;
      }
    });
    const id = this.#nextId++;
    slot.leafBatches.set(id, batch);
    slot.inFlight += batch.length;
    slot.worker.postMessage({ id, kind: 'leaf', buf, count: batch.length }, [buf]);
  }

  #send(slot: Slot, batch: Queued[]): void {
    let size = 0;
    const labels = batch.map((q) => labelled(q.job.label));
    batch.forEach((q, i) => {
      size += 100 + labels[i]!.length + 1;
      for (const p of q.job.parts) size += p.length;
    });
    const buf = new ArrayBuffer(size);
    const bytes = new Uint8Array(buf);
    const view = new DataView(buf);
    let at = 0;
    batch.forEach((q, i) => {
      const label = labels[i]!;
      bytes.set(q.job.pub, at);
      bytes.set(q.job.sig, at + 32);
      let len = label.length + 1;
      for (const p of q.job.parts) len += p.length;
      view.setUint32(at + 96, len);
      bytes.set(label, at + 100);
      // bytes[at + 100 + label.length] stays 0: the label separator.
      let m = at + 100 + label.length + 1;
      for (const p of q.job.parts) {
        bytes.set(p, m);
        m += p.length;
      }
      at += 100 + len;
    });
    const id = this.#nextId++;
    slot.batches.set(id, batch);
    slot.inFlight += batch.length;
    slot.worker.postMessage({ id, buf, count: batch.length }, [buf]);
  }

  #ensureWorkers(): void {
    while (!this.#closed && !this.#broken && this.#slots.length < this.#size) {
      let worker: Worker;
      try {
        // No loader hooks or flags from the parent: the worker is plain JavaScript.
        worker = new Worker(new URL('./ed25519-worker.js', import.meta.url), {
          execArgv: [],
          resourceLimits: { maxOldGenerationSizeMb: 64 },
          workerData: { leaf: leafHashConstants() },
        });
      } catch {
        this.#broken = true;
        return;
      }
      // Workers never keep the process alive on their own: a caller waiting for an answer does.
      worker.unref();
      const slot: Slot = { worker, inFlight: 0, batches: new Map(), leafBatches: new Map() };
      worker.on('message', (m: { id: number; results: Uint8Array }) => {
        const leaves = slot.leafBatches.get(m.id);
        if (leaves !== undefined) {
          slot.leafBatches.delete(m.id);
          slot.inFlight -= leaves.length;
          leaves.forEach((q, i) => {
            q.done(m.results.slice(i * 32, i * 32 + 32));
          });
          return;
        }
        const batch = slot.batches.get(m.id);
        if (batch === undefined) return;
        slot.batches.delete(m.id);
        slot.inFlight -= batch.length;
        batch.forEach((q, i) => {
          const r = m.results[i];
          q.done(r === 1 ? 'valid' : r === 2 ? 'key_invalid' : 'invalid');
        });
      });
      let gone = false;
      const lost = (): void => {
        if (gone) return;
        gone = true;
        const i = this.#slots.indexOf(slot);
        if (i >= 0) this.#slots.splice(i, 1);
        const orphans = [...slot.batches.values()].flat();
        const leafOrphans = [...slot.leafBatches.values()].flat();
        slot.batches.clear();
        slot.leafBatches.clear();
        // Their jobs go to a fresh worker (or, the second time, to the main thread).
        for (const q of orphans) this.#enqueue({ ...q, attempt: q.attempt + 1 });
        for (const q of leafOrphans) this.#enqueueLeaf({ ...q, attempt: q.attempt + 1 });
      };
      worker.on('error', lost);
      worker.on('exit', lost);
      this.#slots.push(slot);
    }
  }
}

let shared: Ed25519Pool | undefined;

/**
 * The process's pool, started on first use: relays in one process share its threads. One
 * thread per core by default; BACKCHANNEL_VERIFY_THREADS sets the number (0: verify on the
 * event loop, as a baseline or where threads are unwelcome).
 */
export function sharedVerifyPool(): Ed25519Pool {
  if (shared === undefined) {
    const env = process.env.BACKCHANNEL_VERIFY_THREADS;
    shared = new Ed25519Pool(env !== undefined && /^[0-9]{1,2}$/.test(env) ? { threads: Number(env) } : {});
  }
  return shared;
}
