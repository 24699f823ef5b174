/**
 * Publishing checkpoints with witness cosignatures (tlog-witness, client side).
 *
 * After every commit the publisher offers the newest checkpoint to each configured witness
 * (`RelayOptions.witnesses`), with a consistency proof from the size that witness last
 * cosigned. A 409 names the witness's size (text/x.tlog.size): the request is sent again from
 * that size. Valid cosignature lines (checked under the configured witness vkey; anything else
 * is ignored) are stored and appended to `/checkpoint`.
 *
 * It never blocks submissions: it runs after the commit, one request in flight per witness,
 * always for the newest checkpoint only (intermediate ones are skipped), with a timeout, and
 * retries failures with a bounded exponential backoff.
 */
import {
  consistencyNodes,
  formatAddCheckpointRequest,
  formatVkey,
  isBackchannelError,
  rehashProof,
  verifyCosignature,
  type Vkey,
} from '@backchannel/core';
import type { Logger } from 'pino';
import type { LogManager } from '../log/log-manager.js';
import type { RelayStore } from '../store/relay-store.js';
import { TLOG_SIZE_CONTENT_TYPE } from './witness.js';

export interface WitnessTarget {
  /** The witness's submission prefix: requests go to `${url}/add-checkpoint`. */
  url: string;
  /** Its cosigning key (type 0x04). */
  vkey: Vkey;
}

export interface PublisherOptions {
  store: RelayStore;
  log: LogManager;
  witnesses: readonly WitnessTarget[];
  logger: Logger;
  clock: () => number;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /** Largest backoff between retries, ms (default 60 s). */
  maxBackoffMs?: number;
}

interface WitnessState {
  target: WitnessTarget;
  key: string;
  /** The size the witness last cosigned for us, as far as we know. */
  known: number;
  running: Promise<void> | undefined;
  again: boolean;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

/** A 409 is answered by resending from the witness's size; more than this in a row is a failure. */
const MAX_CONFLICTS = 3;

export class CheckpointPublisher {
  readonly #o: PublisherOptions;
  readonly #witnesses: WitnessState[];
  readonly #abort = new AbortController();
  /** Cosignature lines on the checkpoint of `size`. */
  #cosigned: { size: number; lines: Map<string, string> } = { size: -1, lines: new Map() };
  #closed = false;

  constructor(o: PublisherOptions) {
    this.#o = o;
    this.#witnesses = o.witnesses.map((target) => ({ target, key: formatVkey(target.vkey), known: 0, running: undefined, again: false, failures: 0, timer: undefined }));
  }

  /** Loads the cosignatures already collected on the current checkpoint. */
  async load(): Promise<void> {
    const size = this.#o.log.checkpoint.size;
    const held = await this.#o.store.listCosignatures(size);
    this.#cosigned = { size, lines: new Map(held.map((c) => [c.witness, c.line])) };
    for (const w of this.#witnesses) if (this.#cosigned.lines.has(w.key)) w.known = size;
  }

  /** The latest checkpoint note, with every witness cosignature collected on it. */
  note(): string {
    const cp = this.#o.log.checkpoint;
    if (this.#cosigned.size !== cp.size || this.#cosigned.lines.size === 0) return cp.note;
    return cp.note + [...this.#cosigned.lines.values()].join('');
  }

  /** The note of the checkpoint of `size` with its stored cosignatures. */
  async noteFor(size: number): Promise<string | undefined> {
    const cp = await this.#o.store.getCheckpoint(size);
    if (cp === undefined) return undefined;
    const cos = await this.#o.store.listCosignatures(size);
    return cp.note + cos.map((c) => c.line).join('');
  }

  /** A new checkpoint was committed: offer it to every witness (returns at once). */
  kick(): void {
    if (this.#closed) return;
    for (const w of this.#witnesses) this.#schedule(w);
  }

  #schedule(w: WitnessState): void {
    if (w.running !== undefined) {
      w.again = true;
      return;
    }
    if (w.timer !== undefined) return; // a retry is already waiting; it will take the newest
    w.running = this.#run(w).finally(() => {
      w.running = undefined;
      if (w.again && !this.#closed) {
        w.again = false;
        this.#schedule(w);
      }
    });
  }

  async #run(w: WitnessState): Promise<void> {
    try {
      await this.#submit(w);
      w.failures = 0;
    } catch (err) {
      if (this.#closed) return;
      w.failures++;
      const delay = Math.min(this.#o.maxBackoffMs ?? 60_000, 500 * 2 ** Math.min(w.failures, 16));
      this.#o.logger.warn({ err: err instanceof Error ? err.message : String(err), witness: w.target.url, retryMs: delay }, 'witness did not cosign');
      w.timer = setTimeout(() => {
        w.timer = undefined;
        this.#schedule(w);
      }, delay);
      w.timer.unref();
    }
  }

  async #submit(w: WitnessState): Promise<void> {
    for (let conflicts = 0; ; ) {
      const cp = this.#o.log.checkpoint;
      if (w.known === cp.size && this.#cosigned.size === cp.size && this.#cosigned.lines.has(w.key)) return;
      if (w.known > cp.size) throw new Error(`witness holds size ${w.known}, beyond this log's ${cp.size}: it saw another history of this log`);
      const old = w.known;
      const proof = old === 0 || old === cp.size ? [] : await this.#proof(old, cp.size);
      const body = formatAddCheckpointRequest({ oldSize: old, consistencyProof: proof, checkpoint: cp.note });
      const res = await fetch(`${w.target.url.replace(/\/$/, '')}/add-checkpoint`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.timeoutMs ?? 10_000)]),
      });
      const text = await res.text();
      if (res.status === 409 && (res.headers.get('content-type') ?? '').startsWith(TLOG_SIZE_CONTENT_TYPE)) {
        const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(text);
        if (m === null) throw new Error('witness answered 409 without a valid tree size');
        const size = Number(m[1]);
        if (size === old || ++conflicts > MAX_CONFLICTS) throw new Error(`witness refused the checkpoint of size ${cp.size} (409, it holds ${size})`);
        w.known = size;
        continue;
      }
      if (res.status !== 200) throw new Error(`witness answered ${res.status}: ${text.slice(0, 200)}`);
      const cpText = cp.note.slice(0, cp.note.indexOf('\n\n') + 1);
      let line: string | undefined;
      for (const l of text.split(/(?<=\n)/)) {
        try {
          verifyCosignature(w.target.vkey, cpText, l);
          line = l;
          break;
        } catch (e) {
          if (!isBackchannelError(e)) throw e; // lines by other keys are ignored
        }
      }
      if (line === undefined) throw new Error('witness answered 200 without a valid cosignature by its key');
      await this.#o.store.addCosignature({ size: cp.size, witness: w.key, line }, this.#o.clock());
      w.known = cp.size;
      if (this.#cosigned.size !== cp.size) this.#cosigned = { size: cp.size, lines: new Map() };
      this.#cosigned.lines.set(w.key, line);
      return;
    }
  }

  async #proof(first: number, second: number): Promise<Uint8Array[]> {
    const ids = consistencyNodes(first, second);
    return rehashProof(ids, await this.#o.store.getNodes(ids.ids));
  }

  /** Waits until every witness is idle (tests), up to `ms`. */
  async settle(ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const busy = this.#witnesses.flatMap((w) => (w.running === undefined ? [] : [w.running]));
      if (busy.length === 0) return;
      await Promise.race([Promise.all(busy), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    for (const w of this.#witnesses) if (w.timer !== undefined) clearTimeout(w.timer);
    await Promise.allSettled(this.#witnesses.flatMap((w) => (w.running === undefined ? [] : [w.running])));
  }
}
