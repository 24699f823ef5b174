/**
 * The SQLite group commit on a writer thread (issue 9). On the embedded store every statement
 * of a commit, and the COMMIT's fsync (synchronous=FULL), ran on the event loop: ~130 µs per
 * envelope under load, while the event loop was the bottleneck. The writer thread
 * (sqlite-writer-worker.js) holds a second connection to the same file and runs each batch's
 * statements, compiled by Kysely here, in one transaction; a batch's promise resolves only
 * after its COMMIT returned.
 *
 * Everything else stays on the main connection. WAL lets the two share the file: readers there
 * see only committed transactions, so a batch is visible to them once its promise resolved; a
 * write there while the writer commits waits on busy_timeout, a few milliseconds at most,
 * since a batch is one short transaction.
 *
 * A writer that dies (a crash, `process.exit`) fails the batch in flight with 503
 * `storage_unavailable`, and the next batch starts a fresh one. The dead writer's transaction
 * is rolled back by SQLite (its connection closes with the thread, or the next connection
 * finds an uncommitted WAL tail), so nothing of it is half-written; if it died between its
 * COMMIT and its answer, the batch is whole in the store, and the log manager, which reloads
 * its head from the store after any failed commit, picks it up.
 */
import { Worker } from 'node:worker_threads';
import type { CompiledQuery } from 'kysely';
import { RelayError } from '../errors.js';

export interface SqliteWriterOptions {
  /** The database file (not ':memory:': a second connection would see another database). */
  path: string;
  /** The main connection's pragmas, applied in this order on the writer's connection too. */
  pragmas: readonly string[];
}

interface Pending {
  resolve: (changes: number[]) => void;
  reject: (e: Error) => void;
}

interface Answer {
  id: number;
  /** A commit's: the rows each statement changed. */
  changes?: number[];
  error?: { code: string | undefined; message: string };
}

// Distinct SQL texts a relay's commits produce: one per statement kind and row count.
const STATEMENT_CACHE = 512;

/** A failure the writer's connection reported, with the driver's `code` (storageFailureCode maps it). */
export class SqliteWriteError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'SqliteWriteError';
    this.code = code;
  }
}

/**
 * Moves every byte parameter into one buffer that is transferred, not cloned: cloning a view
 * would copy its whole backing buffer (a Buffer pool slab, a request body), and transferring
 * the caller's own buffers would take them from the main thread, which still uses them.
 */
function pack(queries: readonly CompiledQuery[]): { sql: string[]; params: unknown[][]; blobs: ArrayBuffer; slots: Uint32Array; slotBuffer: ArrayBuffer } {
  let bytes = 0;
  let count = 0;
  for (const q of queries) {
    for (const p of q.parameters) {
      if (p instanceof Uint8Array) {
        bytes += p.byteLength;
        count++;
      }
    }
  }
  const blobs = new ArrayBuffer(bytes);
  const into = new Uint8Array(blobs);
  const slotBuffer = new ArrayBuffer(count * 16);
  const slots = new Uint32Array(slotBuffer);
  let at = 0;
  let s = 0;
  const params = queries.map((q, qi) =>
    q.parameters.map((p, pi) => {
      if (!(p instanceof Uint8Array)) return p;
      into.set(p, at);
      slots[s++] = qi;
      slots[s++] = pi;
      slots[s++] = at;
      slots[s++] = p.byteLength;
      at += p.byteLength;
      return null;
    }),
  );
  return { sql: queries.map((q) => q.sql), params, blobs, slots, slotBuffer };
}

interface Writer {
  worker: Worker;
  pending: Map<number, Pending>;
}

export class SqliteWriter {
  readonly #options: SqliteWriterOptions;
  #writer: Writer | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: SqliteWriterOptions) {
    this.#options = options;
  }

  /**
   * Runs the statements, in order, in one transaction on the writer thread; resolves once
   * committed, with the number of rows each statement changed.
   */
  commit(queries: readonly CompiledQuery[]): Promise<number[]> {
    const { sql, params, blobs, slots, slotBuffer } = pack(queries);
    return this.#request({ sql, params, blobs, slots }, [blobs, slotBuffer]);
  }

  /**
   * Sets a pragma on the writer's connection (tests: a connection's own settings, such as
   * max_page_count for a full disk, no longer reach the commits when set on the main one).
   */
  async pragmaForTests(pragma: string): Promise<void> {
    await this.#request({ pragma }, []);
  }

  #request(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<number[]> {
    if (this.#closed) return Promise.reject(new RelayError('storage_unavailable', 'the relay store is closed'));
    return new Promise((resolve, reject) => {
      let w: Writer;
      try {
        w = this.#ensureWriter();
      } catch (e) {
        reject(new RelayError('storage_unavailable', 'the SQLite writer thread cannot be started', { cause: e }));
        return;
      }
      const id = this.#nextId++;
      w.pending.set(id, { resolve, reject });
      // A batch in flight keeps the process alive until it is answered; an idle writer does not.
      if (w.pending.size === 1) w.worker.ref();
      w.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** Stops the writer after the batches already sent are answered. */
  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#writer;
    if (w === undefined) return;
    const exited = new Promise<void>((resolve) => w.worker.once('exit', () => { resolve(); }));
    // Held until it has exited: an idle writer is unref'd, and a process with nothing else to
    // do would otherwise end with this promise unsettled (exit code 13 under a top-level await).
    w.worker.ref();
    // Messages are handled in order: the writer answers every batch sent before it closes its connection.
    w.worker.postMessage({ close: true });
    await exited;
  }

  /**
   * Makes the writer exit as if it had crashed (tests of the recovery): 'now' before it handles
   * the next batch, 'inside' in the middle of the next batch's transaction, before its COMMIT.
   */
  crashForTests(where: 'now' | 'inside'): void {
    this.#ensureWriter().worker.postMessage({ crash: where });
  }

  #ensureWriter(): Writer {
    if (this.#writer !== undefined) return this.#writer;
    // No loader hooks or flags from the parent: the worker is plain JavaScript.
    const worker = new Worker(new URL('./sqlite-writer-worker.js', import.meta.url), {
      execArgv: [],
      workerData: { path: this.#options.path, pragmas: [...this.#options.pragmas], cacheMax: STATEMENT_CACHE },
    });
    worker.unref();
    const w: Writer = { worker, pending: new Map() };
    worker.on('message', (m: Answer) => {
      const p = w.pending.get(m.id);
      if (p === undefined) return;
      w.pending.delete(m.id);
      if (w.pending.size === 0) worker.unref();
      if (m.error === undefined) p.resolve(m.changes ?? []);
      else if (m.error.code === 'storage_not_durable') p.reject(new RelayError('storage_not_durable', m.error.message));
      else p.reject(new SqliteWriteError(m.error.message, m.error.code));
    });
    let gone = false;
    const lost = (cause: unknown): void => {
      if (gone) return;
      gone = true;
      if (this.#writer === w) this.#writer = undefined;
      const orphans = [...w.pending.values()];
      w.pending.clear();
      for (const p of orphans) {
        p.reject(new RelayError('storage_unavailable', 'the SQLite writer thread stopped before it answered; retry shortly', { cause }));
      }
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      lost(new Error(`the SQLite writer thread exited with code ${code}`));
    });
    this.#writer = w;
    return w;
  }
}
