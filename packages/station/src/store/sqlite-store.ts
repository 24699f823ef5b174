/**
 * The station store on SQLite: Kysely over better-sqlite3, WAL, so a note whose sealed bytes the
 * station stored before submitting survives a crash (DESIGN.md, "The envelope": persisted
 * before the first submission, never re-sealed).
 *
 * A durable transaction (the default) commits at synchronous=NORMAL and returns once an fsync
 * of the write-ahead log that began after its commit has completed: the fsync runs on libuv's
 * thread pool, never on the event loop, and overlapping transactions share one (group commit,
 * see WalSync). Autocommit statements outside a transaction stay at synchronous=FULL.
 *
 * A transaction may ask not to be durable on its own (`{ durable: false }`): it commits the same
 * way but does not wait for an fsync. In WAL mode the log is appended in commit order, so the
 * next durable commit's fsync makes every earlier commit durable too: a received copy committed
 * that way is durable once the acknowledgement commit that follows it is (copy-acks.ts), before
 * the relay sees the acknowledgement.
 *
 * Opening refuses a store written under another storage key (a check value sealed at creation),
 * rather than failing later on the first note.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { open, type FileHandle } from 'node:fs/promises';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, Migrator, NO_MIGRATIONS, SqliteDialect, sql, type SqliteDatabase, type SqliteStatement, type Transaction } from 'kysely';
import { cachingStatements as cachingPrepared, equalBytes, openBundle, PRECEDENCES, utf8, fromUtf8, type ContentKind, type Precedence, type Random, type RelayCardJson, type SignedBundle } from '@backchannel/core';
import { StationError } from '../errors.js';
import { AtRestCipher } from './at-rest.js';
import { migrationProvider } from './migrations.js';
import type { ChannelRow, CopyRow, Database, IncomingRow, OutgoingRow, PartyRow, RelayRow, AlertRow, CheckpointRow, ThreadRow } from './schema.js';
import type { NoteFilter, StationStore, TransactionOptions } from './store.js';
import {
  ALERT_KINDS,
  type AckPending,
  type Alert,
  type AlertKind,
  type ChannelRole,
  type CopyRecord,
  type CursorStream,
  type Evidence,
  type IncomingNote,
  type NewAlert,
  type OutgoingChannel,
  type OutgoingNote,
  type PinnedParty,
  type RelayEntry,
  type RelayHealth,
  type SeenCheckpoint,
  type ThreadEntry,
} from './types.js';

export interface OpenStoreOptions {
  /** A file path, or ':memory:' (tests only: nothing is durable). */
  path: string;
  /** The per-station storage key, decrypted by the caller (32 bytes). */
  storageKey: Uint8Array;
  random: Random;
}

const CHECK_SETTING = 'store_check';
const CHECK_VALUE = 'backchannel/v1/store-check';

function bytes(b: Uint8Array): Uint8Array {
  // better-sqlite3 returns Buffers; hand out plain Uint8Arrays so callers never see Buffer semantics.
  return Uint8Array.from(b);
}
function opt<T>(v: T | null): T | undefined {
  return v ?? undefined;
}
function nul<T>(v: T | undefined): T | null {
  return v ?? null;
}
/**
 * The hot statements (about twenty a received note, a dozen a sent one) are SQL texts run
 * through Kysely's executeQuery, inside its transaction and under its connection lock like any
 * other query, but without building and compiling a query object each time: that JavaScript
 * cost the desks more than SQLite's own work (issue 9, profiled in docs/benchmarks.md). Column
 * names come from this file's row literals, never from input; the texts are made once per shape.
 */
const texts = new Map<string, string>();

function q(name: string): string {
  return `"${name}"`;
}

/** `insert into t (…) values (…)`, and with `conflict`, an upsert that rewrites every other column from the new row. */
function insertText(table: string, cols: readonly string[], conflict?: readonly string[]): string {
  const key = `${table}|${cols.join(',')}|${conflict?.join(',') ?? ''}`;
  let t = texts.get(key);
  if (t === undefined) {
    t = `insert into ${q(table)} (${cols.map(q).join(', ')}) values (${cols.map(() => '?').join(', ')})`;
    if (conflict !== undefined) {
      const rest = cols.filter((c) => !conflict.includes(c));
      t += ` on conflict (${conflict.map(q).join(', ')}) do update set ${rest.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`;
    }
    texts.set(key, t);
  }
  return t;
}

/** `update t set a = ?, … where k = ? and …`. */
function updateText(table: string, cols: readonly string[], where: readonly string[]): string {
  const key = `update|${table}|${cols.join(',')}|${where.join(',')}`;
  let t = texts.get(key);
  if (t === undefined) {
    t = `update ${q(table)} set ${cols.map((c) => `${q(c)} = ?`).join(', ')} where ${where.map((c) => `${q(c)} = ?`).join(' and ')}`;
    texts.set(key, t);
  }
  return t;
}

function precedence(s: string): Precedence {
  if (!(PRECEDENCES as readonly string[]).includes(s)) throw new StationError('store_invalid', `stored precedence ${s} is unknown`);
  return s as Precedence;
}

/** Opens (creating if needed) the station's SQLite store, migrated to the latest schema. */
export async function openSqliteStore(o: OpenStoreOptions): Promise<SqliteStationStore> {
  const cipher = new AtRestCipher(o.storageKey, o.random);
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(o.path);
  } catch (cause) {
    throw new StationError('store_invalid', `cannot open the station store at ${o.path}`, { cause });
  }
  try {
    configureDurability(sqlite, o.path === ':memory:');
  } catch (e) {
    sqlite.close();
    throw e;
  }
  const prepared = cachingStatements(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: prepared }) });
  try {
    await migrate(db, 'latest');
    const store = new SqliteStationStore(db, cipher, newShared(o.path === ':memory:' ? undefined : new WalSync(`${o.path}-wal`), prepared));
    await store.checkStorageKey();
    return store;
  } catch (e) {
    await db.destroy();
    throw e;
  }
}

function configureDurability(sqlite: BetterSqlite3.Database, memory: boolean): void {
  // Another process (the daemon, a second CLI command) may hold a write lock for a moment.
  sqlite.pragma('busy_timeout = 5000');
  const mode = sqlite.pragma('journal_mode = WAL', { simple: true });
  if (!memory && mode !== 'wal') throw new StationError('store_invalid', `the station store refused WAL mode (journal_mode=${String(mode)})`);
  sqlite.pragma('synchronous = FULL');
  const sync = sqlite.pragma('synchronous', { simple: true });
  if (sync !== 2) throw new StationError('store_invalid', `the station store refused synchronous=FULL (${String(sync)})`);
  sqlite.pragma('foreign_keys = ON');
}

/** Prepared statements kept, by SQL text; the store issues a few dozen distinct ones. */
const STATEMENT_CACHE_MAX = 256;

/** The database as Kysely sees it, with prepared statements reused (core's cachingStatements). */
export function cachingStatements(sqlite: BetterSqlite3.Database, max = STATEMENT_CACHE_MAX): SqliteDatabase {
  return cachingPrepared<SqliteStatement>(sqlite, max);
}

/** Runs the migrations up to the latest schema, or all the way down (tests of the down path). */
export async function migrate(db: Kysely<Database>, to: 'latest' | 'empty'): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const r = to === 'latest' ? await migrator.migrateToLatest() : await migrator.migrateTo(NO_MIGRATIONS);
  if (r.error !== undefined) throw new StationError('store_invalid', `station store migration failed: ${r.error instanceof Error ? r.error.message : 'unknown error'}`, { cause: r.error });
}

/**
 * The query behind `listOutgoing`. With `open` and `kinds` it is served by the partial index
 * `outgoing_open` (migration 0002): the notes whose deadline is still watched, not every note sent.
 */
export function outgoingQuery(db: Kysely<Database> | Transaction<Database>, f: NoteFilter) {
  let q = db.selectFrom('outgoing').selectAll();
  if (f.thread !== undefined) q = q.where('thread', '=', f.thread);
  if (f.kinds !== undefined) q = q.where('kind', 'in', [...f.kinds]);
  if (f.open === true) q = q.where('closed_at', 'is', null);
  q = q.orderBy('created').orderBy('id');
  if (f.limit !== undefined) q = q.limit(f.limit);
  return q;
}

/**
 * The query behind `listAckPending`, served by the partial index `incoming_ack_pending`
 * (migration 0002): the notes still to acknowledge, not every note received; `notFrom` is read
 * from that index too, and no blob is read.
 */
export function ackPendingQuery(db: Kysely<Database> | Transaction<Database>, kinds: readonly ContentKind[], notFrom: string) {
  return db
    .selectFrom('incoming')
    .select(['from_party', 'id', 'digest', 'precedence'])
    .where('kind', 'in', [...kinds])
    .where('ack_sent_at', 'is', null)
    .where('from_party', '<>', notFrom)
    .orderBy('received_at')
    .orderBy('from_party')
    .orderBy('id');
}

/**
 * Opened bundles by party, kept with the bytes they were opened from: opening one verifies its
 * root signature (~0.5 ms), and a send or a received copy reads one or two parties. A hit needs
 * the stored bytes to be identical, so a bundle that moved forward is opened afresh.
 */
class BundleCache {
  readonly #byParty = new Map<string, { bytes: Uint8Array; bundle: SignedBundle }>();

  open(party: string, stored: Uint8Array): SignedBundle {
    const hit = this.#byParty.get(party);
    if (hit !== undefined && equalBytes(hit.bytes, stored)) return hit.bundle;
    const b = bytes(stored);
    const bundle = openBundle(b);
    if (this.#byParty.size >= 1024) this.#byParty.clear();
    this.#byParty.set(party, { bytes: b, bundle });
    return bundle;
  }
}

/**
 * Group commit for durable transactions. Each commits at synchronous=NORMAL (no fsync, so the
 * event loop never waits on the disk), then waits for an fsync of the write-ahead log that
 * began after its commit, run on libuv's thread pool and shared by every commit made before it
 * began: the log is appended in commit order, so one fsync covers them all.
 *
 * Measured end to end (2 KiB FLASH notes, 32 in flight, three processes on two cores, three
 * alternating runs each): 316–350 notes/s against 232–239 when a transaction alone committed
 * with its own fsync on the event loop (and only overlapping ones shared a durable write there),
 * with less CPU a note in every process — a blocked desk feeds the relay smaller batches; one
 * note at a time, p50 9.3–12.0 ms against 11.8–13.2.
 *
 * One handle serves the store's life: while a connection is open SQLite neither deletes nor
 * replaces the log file (the last connection to close deletes it; a checkpoint rewinds or
 * truncates it in place).
 */
class WalSync {
  readonly #path: string;
  #handle: Promise<FileHandle> | undefined;
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /** Resolves once an fsync of the log that began after this call has completed. */
  sync(): Promise<void> {
    if (this.#running === undefined) return this.#start();
    // The fsync under way may have begun before the caller's commit: the next one covers it.
    this.#next ??= this.#running.then(noop, noop).then(() => {
      this.#next = undefined;
      return this.#start();
    });
    return this.#next;
  }

  #start(): Promise<void> {
    const run = this.#fsync().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #fsync(): Promise<void> {
    try {
      this.#handle ??= open(this.#path, 'r');
      await (await this.#handle).sync();
    } catch (cause) {
      this.#handle = undefined;
      throw new StationError('store_failed', `the station store's write-ahead log could not be synced to disk`, { cause });
    }
  }

  async close(): Promise<void> {
    await this.#next?.catch(noop);
    await this.#running?.catch(noop);
    const h = this.#handle;
    this.#handle = undefined;
    await (await h?.catch(() => undefined))?.close();
  }
}

const noop = (): void => undefined;

/** What every SqliteStationStore of one database shares, transactions included. */
interface Shared {
  bundles: BundleCache;
  /** Absent for ':memory:', where nothing is durable and no commit fsyncs. */
  group: WalSync | undefined;
  /** The batch (see `batch`) whose async context a call runs in, if any. */
  batches: AsyncLocalStorage<Batch>;
  /** Batches under way: the storage is disabled when none is (see `batch`). */
  running: number;
  /**
   * The connection's prepared statements, the very ones Kysely's driver runs, for statements
   * made inside an open transaction (see `#direct`).
   */
  prepared: SqliteDatabase | undefined;
}

/** A batch under way: the transaction that every call made in its async context joins. */
interface Batch {
  tx: SqliteStationStore;
  /** Whether a transaction joined into it asked to be durable. */
  durable: boolean;
  /** False once its body has settled: work it left behind uses the store as usual. */
  open: boolean;
}

function newShared(group: WalSync | undefined, prepared?: SqliteDatabase): Shared {
  return { bundles: new BundleCache(), group, batches: new AsyncLocalStorage<Batch>(), running: 0, prepared };
}

export class SqliteStationStore implements StationStore {
  readonly #own: Kysely<Database>;
  readonly #cipher: AtRestCipher;
  readonly #bundles: BundleCache;
  readonly #shared: Shared;
  /** A transaction's store, once its body has settled: its statements go through Kysely again. */
  #settled = false;

  constructor(db: Kysely<Database>, cipher: AtRestCipher, shared: Shared = newShared(undefined)) {
    this.#own = db;
    this.#cipher = cipher;
    this.#bundles = shared.bundles;
    this.#shared = shared;
  }

  /** The Kysely handle (a batch's transaction, inside one), for migrations in tests. */
  get kysely(): Kysely<Database> {
    return this.#db;
  }

  /** Where this store's statements go: its own handle, or the transaction of the batch it is called in. */
  get #db(): Kysely<Database> {
    const b = this.#batch();
    return b === undefined ? this.#own : b.tx.#own;
  }

  #batch(): Batch | undefined {
    if (this.#own.isTransaction) return undefined;
    const b = this.#shared.batches.getStore();
    return b?.open === true ? b : undefined;
  }

  async checkStorageKey(): Promise<void> {
    const v = await this.getSetting(CHECK_SETTING);
    if (v === undefined) {
      await this.setSetting(CHECK_SETTING, Buffer.from(this.#cipher.seal(CHECK_SETTING, utf8(CHECK_VALUE))).toString('base64'));
      return;
    }
    const opened = this.#cipher.open(CHECK_SETTING, new Uint8Array(Buffer.from(v, 'base64')));
    if (fromUtf8(opened) !== CHECK_VALUE) throw new StationError('storage_key_wrong', 'the station store was written under another storage key');
  }

  async transaction<T>(fn: (tx: StationStore) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    if (this.#own.isTransaction) return fn(this);
    const b = this.#batch();
    if (b !== undefined) {
      if (opts.durable !== false) b.durable = true;
      return fn(b.tx);
    }
    const group = this.#shared.group;
    if (group === undefined) return this.#run(this.#own, fn);
    if (opts.durable === false) return this.#withoutSync(fn);
    const result = await this.#withoutSync(fn);
    await group.sync();
    return result;
  }

  /**
   * One transaction for everything `fn` does with this store — its calls and its transactions,
   * wherever they are made in its async context (AsyncLocalStorage) — committed once at the end:
   * durable if any transaction inside asked to be. A sync page of 200 copies committed each copy
   * on its own, and the commits (and the pages they rewrote in the log) were a tenth of the
   * desk's thread. While it runs, calls from other contexts wait for the connection, as they
   * wait for any transaction: `fn` must not wait on them.
   */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#own.isTransaction || this.#batch() !== undefined) return fn();
    const shared = this.#shared;
    let b: Batch | undefined;
    const body = (tx: SqliteStationStore): Promise<T> => {
      const batch: Batch = (b = { tx, durable: false, open: true });
      shared.running++;
      return shared.batches.run(batch, fn).finally(() => {
        batch.open = false;
        // On Node 20 an enabled AsyncLocalStorage hooks every promise the process makes (~2 % of
        // a sync's main thread measured): it is on only while a batch runs.
        if (--shared.running === 0) shared.batches.disable();
      });
    };
    const group = this.#shared.group;
    if (group === undefined) return this.#run(this.#own, body);
    const result = await this.#withoutSync(body);
    if (b?.durable === true) await group.sync();
    return result;
  }

  #run<T>(db: Kysely<Database>, fn: (tx: SqliteStationStore) => Promise<T>): Promise<T> {
    return db.transaction().execute(async (trx: Transaction<Database>) => {
      const tx = new SqliteStationStore(trx, this.#cipher, this.#shared);
      try {
        return await fn(tx);
      } finally {
        tx.#settled = true;
      }
    });
  }

  /**
   * The prepared statements, when this call runs inside a transaction that is open: its own, or
   * the batch's it joins. The transaction holds the one connection from BEGIN to COMMIT (every
   * other caller waits on Kysely's lock for it), so its statements run there directly, each a
   * synchronous call to SQLite, without Kysely's query and connection machinery around each:
   * a received copy makes about a dozen statements, and that machinery was the largest piece of
   * what a desk allocated (~14 % of the bytes under load). Anywhere else — outside a
   * transaction, or a transaction's store used after its body settled — Kysely's lock decides.
   */
  #direct(): SqliteDatabase | undefined {
    const prepared = this.#shared.prepared;
    if (prepared === undefined) return undefined;
    if (this.#own.isTransaction) return this.#settled ? undefined : prepared;
    const b = this.#batch();
    return b !== undefined && !b.tx.#settled ? prepared : undefined;
  }

  /** Commits with synchronous=NORMAL: visible at once, durable with the next fsync of the log (WalSync's, or a FULL commit's). */
  #withoutSync<T>(fn: (tx: SqliteStationStore) => Promise<T>): Promise<T> {
    // SQLite refuses to change the safety level inside a transaction, so it is set around it,
    // on the one connection held throughout: no other statement runs between.
    return this.#own.connection().execute(async (conn) => {
      await sql`pragma synchronous = NORMAL`.execute(conn);
      try {
        return await this.#run(conn, fn);
      } finally {
        await sql`pragma synchronous = FULL`.execute(conn);
      }
    });
  }

  async close(): Promise<void> {
    if (this.#own.isTransaction) return;
    await this.#own.destroy();
    await this.#shared.group?.close();
  }

  async #rows<R>(text: string, params: readonly unknown[]): Promise<R[]> {
    const direct = this.#direct();
    if (direct !== undefined) return direct.prepare(text).all(params) as R[];
    return (await this.#db.executeQuery<R>(CompiledQuery.raw(text, [...params]))).rows;
  }

  async #first<R>(text: string, params: readonly unknown[]): Promise<R | undefined> {
    return (await this.#rows<R>(text, params))[0];
  }

  /** Rows changed. */
  async #write(text: string, params: readonly unknown[]): Promise<bigint> {
    const direct = this.#direct();
    if (direct !== undefined) return BigInt(direct.prepare(text).run(params).changes);
    return (await this.#db.executeQuery(CompiledQuery.raw(text, [...params]))).numAffectedRows ?? 0n;
  }

  async #insert(table: string, row: object, conflict?: readonly string[]): Promise<void> {
    await this.#write(insertText(table, Object.keys(row), conflict), Object.values(row));
  }

  async #update(table: string, set: object, where: object): Promise<bigint> {
    return this.#write(updateText(table, Object.keys(set), Object.keys(where)), [...(Object.values(set) as unknown[]), ...(Object.values(where) as unknown[])]);
  }

  // Settings

  async getSetting(key: string): Promise<string | undefined> {
    const r = await this.#db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.#db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  // Parties

  #party(r: PartyRow): PinnedParty {
    let bundle;
    try {
      bundle = this.#bundles.open(r.id, r.bundle);
    } catch (cause) {
      throw new StationError('store_invalid', `the stored bundle of party ${r.id} does not open`, { cause });
    }
    return { id: r.id, name: r.name, fingerprint: r.fingerprint, root: bytes(r.root), bundle, self: r.is_self === 1, pinnedAt: r.pinned_at, updatedAt: r.updated_at };
  }

  async getParty(id: string): Promise<PinnedParty | undefined> {
    const r = await this.#first<PartyRow>('select * from "parties" where "id" = ?', [id]);
    return r === undefined ? undefined : this.#party(r);
  }

  async listParties(): Promise<PinnedParty[]> {
    const rows = await this.#db.selectFrom('parties').selectAll().orderBy('id').execute();
    return rows.map((r) => this.#party(r));
  }

  async saveParty(p: PinnedParty): Promise<void> {
    const row: PartyRow = {
      id: p.id,
      name: p.name,
      fingerprint: p.fingerprint,
      root: p.root,
      seq: p.bundle.bundle.seq,
      bundle: p.bundle.bytes,
      is_self: p.self ? 1 : 0,
      pinned_at: p.pinnedAt,
      updated_at: p.updatedAt,
    };
    await this.#db
      .insertInto('parties')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name, fingerprint: row.fingerprint, root: row.root, seq: row.seq, bundle: row.bundle, updated_at: row.updated_at }))
      .execute();
  }

  // Relays

  #relay(r: RelayRow): RelayEntry {
    const health: RelayHealth = {
      lastContact: opt(r.last_contact),
      lastHeartbeat: opt(r.last_heartbeat),
      lagMs: opt(r.lag_ms),
      lastError:
        r.last_error_code === null ? undefined : { code: r.last_error_code, message: r.last_error_message ?? '', at: r.last_error_at ?? 0 },
    };
    return {
      id: r.id,
      name: r.name,
      url: r.url,
      origin: r.origin,
      fingerprint: r.fingerprint,
      card: JSON.parse(r.card) as RelayCardJson,
      rank: r.rank,
      addedAt: r.added_at,
      health,
    };
  }

  async getRelay(id: string): Promise<RelayEntry | undefined> {
    const r = await this.#db.selectFrom('relays').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? undefined : this.#relay(r);
  }

  async listRelays(): Promise<RelayEntry[]> {
    const rows = await this.#rows<RelayRow>('select * from "relays" order by "rank", "id"', []);
    return rows.map((r) => this.#relay(r));
  }

  async saveRelay(r: Omit<RelayEntry, 'health'>): Promise<void> {
    const v = { id: r.id, name: r.name, url: r.url, origin: r.origin, fingerprint: r.fingerprint, card: JSON.stringify(r.card), rank: r.rank, added_at: r.addedAt };
    await this.#db
      .insertInto('relays')
      .values(v)
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: v.name, url: v.url, origin: v.origin, fingerprint: v.fingerprint, card: v.card, rank: v.rank }))
      .execute();
  }

  async updateRelayHealth(id: string, patch: Partial<RelayHealth>): Promise<void> {
    const set: Partial<RelayRow> = {};
    if ('lastContact' in patch) set.last_contact = nul(patch.lastContact);
    if ('lastHeartbeat' in patch) set.last_heartbeat = nul(patch.lastHeartbeat);
    if ('lagMs' in patch) set.lag_ms = nul(patch.lagMs);
    if ('lastError' in patch) {
      set.last_error_code = nul(patch.lastError?.code);
      set.last_error_message = nul(patch.lastError?.message);
      set.last_error_at = nul(patch.lastError?.at);
    }
    if (Object.keys(set).length === 0) return;
    await this.#update('relays', set, { id });
  }

  // Cursors

  async getCursor(relay: string, stream: CursorStream): Promise<number> {
    const r = await this.#first<{ position: number }>('select "position" from "cursors" where "relay" = ? and "stream" = ?', [relay, stream]);
    return r?.position ?? 0;
  }

  async setCursor(relay: string, stream: CursorStream, value: number): Promise<void> {
    await this.#insert('cursors', { relay, stream, position: value }, ['relay', 'stream']);
  }

  // Outgoing notes

  #outgoing(r: OutgoingRow): OutgoingNote {
    return {
      id: r.id,
      to: r.to_party,
      precedence: precedence(r.precedence),
      kind: r.kind as ContentKind,
      created: r.created,
      deadline: r.deadline,
      digest: bytes(r.digest),
      envelope: bytes(r.envelope),
      content: this.#cipher.open(`outgoing/${r.id}/content`, r.content),
      thread: opt(r.thread),
      replyTo: r.reply_from === null || r.reply_id === null ? undefined : { from: r.reply_from, id: r.reply_id },
      signer: r.signer,
      failover: JSON.parse(r.failover) as string[],
      ackedAt: opt(r.acked_at),
      readAt: opt(r.read_at),
      closedAt: opt(r.closed_at),
      lateFailoverAt: opt(r.late_failover_at),
    };
  }

  async insertOutgoing(n: OutgoingNote): Promise<void> {
    await this.#insert('outgoing', {
        id: n.id,
        to_party: n.to,
        precedence: n.precedence,
        kind: n.kind,
        created: n.created,
        deadline: n.deadline,
        digest: n.digest,
        envelope: n.envelope,
        content: this.#cipher.seal(`outgoing/${n.id}/content`, n.content),
        thread: nul(n.thread),
        reply_from: nul(n.replyTo?.from),
        reply_id: nul(n.replyTo?.id),
        signer: n.signer,
        failover: JSON.stringify(n.failover),
        acked_at: nul(n.ackedAt),
        read_at: nul(n.readAt),
        closed_at: nul(n.closedAt),
        late_failover_at: nul(n.lateFailoverAt),
    } satisfies OutgoingRow);
  }

  async getOutgoing(id: string): Promise<OutgoingNote | undefined> {
    const r = await this.#first<OutgoingRow>('select * from "outgoing" where "id" = ?', [id]);
    return r === undefined ? undefined : this.#outgoing(r);
  }

  async listOutgoing(f: NoteFilter = {}): Promise<OutgoingNote[]> {
    const rows = await outgoingQuery(this.#db, f).execute();
    return rows.map((r) => this.#outgoing(r));
  }

  async updateOutgoing(id: string, patch: Partial<Pick<OutgoingNote, 'failover' | 'ackedAt' | 'readAt' | 'closedAt' | 'lateFailoverAt'>>): Promise<void> {
    const set: Partial<OutgoingRow> = {};
    if (patch.failover !== undefined) set.failover = JSON.stringify(patch.failover);
    if ('ackedAt' in patch) set.acked_at = nul(patch.ackedAt);
    if ('readAt' in patch) set.read_at = nul(patch.readAt);
    if ('closedAt' in patch) set.closed_at = nul(patch.closedAt);
    if ('lateFailoverAt' in patch) set.late_failover_at = nul(patch.lateFailoverAt);
    if (Object.keys(set).length === 0) return;
    await this.#update('outgoing', set, { id });
  }

  #channel(r: ChannelRow): OutgoingChannel {
    return {
      noteId: r.note_id,
      relay: r.relay,
      role: r.role as ChannelRole,
      reason: opt(r.reason),
      startedAt: r.started_at,
      token: r.token === null ? undefined : bytes(r.token),
      submittedAt: opt(r.submitted_at),
      receipt: opt(r.receipt),
      logIndex: opt(r.log_index),
      error: r.error_code === null ? undefined : { code: r.error_code, message: r.error_message ?? '', at: r.error_at ?? 0 },
      deliveredAt: opt(r.delivered_at),
      deliveryRecord: r.delivery_record === null ? undefined : bytes(r.delivery_record),
      deliveryReceipt: opt(r.delivery_receipt),
      ackedAt: opt(r.acked_at),
      recipientArrivalAt: opt(r.recipient_arrival_at),
      readAt: opt(r.read_at),
    };
  }

  async getChannel(noteId: string, relay: string): Promise<OutgoingChannel | undefined> {
    const r = await this.#first<ChannelRow>('select * from "channels" where "note_id" = ? and "relay" = ?', [noteId, relay]);
    return r === undefined ? undefined : this.#channel(r);
  }

  async saveChannel(c: OutgoingChannel): Promise<void> {
    const row: ChannelRow = {
      note_id: c.noteId,
      relay: c.relay,
      role: c.role,
      reason: nul(c.reason),
      started_at: c.startedAt,
      token: nul(c.token),
      submitted_at: nul(c.submittedAt),
      receipt: nul(c.receipt),
      log_index: nul(c.logIndex),
      error_code: nul(c.error?.code),
      error_message: nul(c.error?.message),
      error_at: nul(c.error?.at),
      delivered_at: nul(c.deliveredAt),
      delivery_record: nul(c.deliveryRecord),
      delivery_receipt: nul(c.deliveryReceipt),
      acked_at: nul(c.ackedAt),
      recipient_arrival_at: nul(c.recipientArrivalAt),
      read_at: nul(c.readAt),
    };
    await this.#insert('channels', row, ['note_id', 'relay']);
  }

  async listChannels(noteId: string): Promise<OutgoingChannel[]> {
    const rows = await this.#rows<ChannelRow>('select * from "channels" where "note_id" = ? order by "started_at", "relay"', [noteId]);
    return rows.map((r) => this.#channel(r));
  }

  // Incoming notes

  #incoming(r: IncomingRow): IncomingNote {
    const a = JSON.parse(r.attribution) as Omit<IncomingNote['attribution'], 'certificate'>;
    return {
      from: r.from_party,
      id: r.id,
      to: r.to_party,
      precedence: precedence(r.precedence),
      kind: r.kind as ContentKind,
      created: r.created,
      digest: bytes(r.digest),
      envelope: bytes(r.envelope),
      content: this.#cipher.open(`incoming/${r.from_party}/${r.id}/content`, r.content),
      attribution: { ...a, certificate: bytes(r.certificate) },
      thread: opt(r.thread),
      replyTo: r.reply_from === null || r.reply_id === null ? undefined : { from: r.reply_from, id: r.reply_id },
      receivedAt: r.received_at,
      firstRelay: r.first_relay,
      equivocated: r.equivocated === 1,
      readAt: opt(r.read_at),
      ackSentAt: opt(r.ack_sent_at),
    };
  }

  async getIncoming(from: string, id: string): Promise<IncomingNote | undefined> {
    const r = await this.#first<IncomingRow>('select * from "incoming" where "from_party" = ? and "id" = ?', [from, id]);
    return r === undefined ? undefined : this.#incoming(r);
  }

  async getIncomingDigest(from: string, id: string): Promise<Uint8Array | undefined> {
    const r = await this.#first<Pick<IncomingRow, 'digest'>>('select "digest" from "incoming" where "from_party" = ? and "id" = ?', [from, id]);
    return r === undefined ? undefined : bytes(r.digest);
  }

  async findIncomingById(id: string): Promise<IncomingNote[]> {
    const rows = await this.#db.selectFrom('incoming').selectAll().where('id', '=', id).execute();
    return rows.map((r) => this.#incoming(r));
  }

  async insertIncoming(n: IncomingNote): Promise<void> {
    const { certificate, ...attribution } = n.attribution;
    await this.#insert('incoming', {
        from_party: n.from,
        id: n.id,
        to_party: n.to,
        precedence: n.precedence,
        kind: n.kind,
        created: n.created,
        digest: n.digest,
        envelope: n.envelope,
        content: this.#cipher.seal(`incoming/${n.from}/${n.id}/content`, n.content),
        attribution: JSON.stringify(attribution),
        certificate,
        thread: nul(n.thread),
        reply_from: nul(n.replyTo?.from),
        reply_id: nul(n.replyTo?.id),
        received_at: n.receivedAt,
        first_relay: n.firstRelay,
        equivocated: n.equivocated ? 1 : 0,
        read_at: nul(n.readAt),
        ack_sent_at: nul(n.ackSentAt),
    } satisfies IncomingRow);
  }

  async updateIncoming(from: string, id: string, patch: Partial<Pick<IncomingNote, 'equivocated' | 'readAt' | 'ackSentAt'>>): Promise<void> {
    const set: Partial<IncomingRow> = {};
    if (patch.equivocated !== undefined) set.equivocated = patch.equivocated ? 1 : 0;
    if ('readAt' in patch) set.read_at = nul(patch.readAt);
    if ('ackSentAt' in patch) set.ack_sent_at = nul(patch.ackSentAt);
    if (Object.keys(set).length === 0) return;
    await this.#update('incoming', set, { from_party: from, id });
  }

  async listIncoming(f: NoteFilter = {}): Promise<IncomingNote[]> {
    let q = this.#db.selectFrom('incoming').selectAll();
    if (f.thread !== undefined) q = q.where('thread', '=', f.thread);
    if (f.kinds !== undefined) q = q.where('kind', 'in', [...f.kinds]);
    q = q.orderBy('received_at').orderBy('from_party').orderBy('id');
    if (f.limit !== undefined) q = q.limit(f.limit);
    const rows = await q.execute();
    return rows.map((r) => this.#incoming(r));
  }

  async listAckPending(kinds: readonly ContentKind[], notFrom: string): Promise<AckPending[]> {
    const rows = await ackPendingQuery(this.#db, kinds, notFrom).execute();
    return rows.map((r) => ({ from: r.from_party, id: r.id, digest: bytes(r.digest), precedence: precedence(r.precedence) }));
  }

  // Copies

  #copy(r: CopyRow): CopyRecord {
    return {
      from: r.from_party,
      id: r.id,
      relay: r.relay,
      digest: bytes(r.digest),
      receivedAt: r.received_at,
      seq: r.seq,
      token: bytes(r.token),
      receipt: r.receipt,
      logIndex: opt(r.log_index),
      valid: r.valid === 1,
      errorCode: opt(r.error_code),
      envelope: r.envelope === null ? undefined : bytes(r.envelope),
      copyAck: r.copy_ack === null ? undefined : bytes(r.copy_ack),
      deliveryRecord: r.delivery_record === null ? undefined : bytes(r.delivery_record),
      deliveryReceipt: opt(r.delivery_receipt),
      ackedAt: opt(r.acked_at),
      redeliveries: r.redeliveries,
    };
  }

  async getCopy(from: string, id: string, relay: string, digest: Uint8Array): Promise<CopyRecord | undefined> {
    const r = await this.#first<CopyRow>('select * from "copies" where "from_party" = ? and "id" = ? and "relay" = ? and "digest" = ?', [from, id, relay, digest]);
    return r === undefined ? undefined : this.#copy(r);
  }

  async listCopies(from: string, id: string): Promise<CopyRecord[]> {
    const rows = await this.#rows<CopyRow>('select * from "copies" where "from_party" = ? and "id" = ? order by "received_at", "relay"', [from, id]);
    return rows.map((r) => this.#copy(r));
  }

  async updateCopy(from: string, id: string, relay: string, digest: Uint8Array, patch: Partial<Pick<CopyRecord, 'copyAck' | 'deliveryRecord' | 'deliveryReceipt' | 'ackedAt' | 'redeliveries'>>): Promise<boolean> {
    const set: Partial<CopyRow> = {};
    if (patch.redeliveries !== undefined) set.redeliveries = patch.redeliveries;
    if ('copyAck' in patch) set.copy_ack = nul(patch.copyAck);
    if ('deliveryRecord' in patch) set.delivery_record = nul(patch.deliveryRecord);
    if ('deliveryReceipt' in patch) set.delivery_receipt = nul(patch.deliveryReceipt);
    if ('ackedAt' in patch) set.acked_at = nul(patch.ackedAt);
    if (Object.keys(set).length === 0) return (await this.getCopy(from, id, relay, digest)) !== undefined;
    return (await this.#update('copies', set, { from_party: from, id, relay, digest })) > 0n;
  }

  async saveCopy(c: CopyRecord): Promise<void> {
    const row: CopyRow = {
      from_party: c.from,
      id: c.id,
      relay: c.relay,
      digest: c.digest,
      received_at: c.receivedAt,
      seq: c.seq,
      token: c.token,
      receipt: c.receipt,
      log_index: nul(c.logIndex),
      valid: c.valid ? 1 : 0,
      error_code: nul(c.errorCode),
      envelope: nul(c.envelope),
      copy_ack: nul(c.copyAck),
      delivery_record: nul(c.deliveryRecord),
      delivery_receipt: nul(c.deliveryReceipt),
      acked_at: nul(c.ackedAt),
      redeliveries: c.redeliveries,
    };
    await this.#insert('copies', row, ['from_party', 'id', 'relay', 'digest']);
  }

  // Threads

  async getThread(id: string): Promise<ThreadEntry | undefined> {
    const r = await this.#first<ThreadRow>('select * from "threads" where "id" = ?', [id]);
    if (r === undefined) return undefined;
    return { id: r.id, party: r.party, subject: fromUtf8(this.#cipher.open(`threads/${r.id}/subject`, r.subject)), startedAt: r.started_at, lastAt: r.last_at };
  }

  async saveThread(t: ThreadEntry): Promise<void> {
    const subject = this.#cipher.seal(`threads/${t.id}/subject`, utf8(t.subject));
    await this.#insert('threads', { id: t.id, party: t.party, subject, started_at: t.startedAt, last_at: t.lastAt } satisfies ThreadRow, ['id']);
  }

  // Alerts

  #alert(r: Omit<AlertRow, 'id'> & { id: number }): Alert {
    if (!(ALERT_KINDS as readonly string[]).includes(r.kind)) throw new StationError('store_invalid', `stored alert kind ${r.kind} is unknown`);
    return {
      id: r.id,
      kind: r.kind as AlertKind,
      at: r.at,
      relay: opt(r.relay),
      party: opt(r.party),
      note: r.note_from === null || r.note_id === null ? undefined : { from: r.note_from, id: r.note_id },
      message: r.message,
      evidence: JSON.parse(r.evidence) as Evidence,
      resolvedAt: opt(r.resolved_at),
    };
  }

  async raiseAlert(a: NewAlert): Promise<{ alert: Alert; created: boolean }> {
    const existing = await this.#db.selectFrom('alerts').selectAll().where('dedupe_key', '=', a.dedupeKey).executeTakeFirst();
    if (existing !== undefined) return { alert: this.#alert(existing), created: false };
    const r = await this.#db
      .insertInto('alerts')
      .values({
        kind: a.kind,
        at: a.at,
        relay: nul(a.relay),
        party: nul(a.party),
        note_from: nul(a.note?.from),
        note_id: nul(a.note?.id),
        message: a.message,
        evidence: JSON.stringify(a.evidence),
        dedupe_key: a.dedupeKey,
        resolved_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { alert: this.#alert(r), created: true };
  }

  async listAlerts(f: { open?: boolean; kind?: AlertKind } = {}): Promise<Alert[]> {
    let q = this.#db.selectFrom('alerts').selectAll();
    if (f.open === true) q = q.where('resolved_at', 'is', null);
    if (f.kind !== undefined) q = q.where('kind', '=', f.kind);
    const rows = await q.orderBy('id').execute();
    return rows.map((r) => this.#alert(r));
  }

  async resolveAlert(id: number, at: number): Promise<void> {
    const r = await this.#db.updateTable('alerts').set({ resolved_at: at }).where('id', '=', id).where('resolved_at', 'is', null).executeTakeFirst();
    if (r.numUpdatedRows === 0n) {
      const exists = await this.#db.selectFrom('alerts').select('id').where('id', '=', id).executeTakeFirst();
      if (exists === undefined) throw new StationError('not_found', `no alert ${id}`);
    }
  }

  // Checkpoints

  #checkpoint(r: CheckpointRow): SeenCheckpoint {
    return { relay: r.relay, size: r.size, rootHash: bytes(r.root_hash), note: r.note, seenAt: r.seen_at, consistent: r.consistent === 1 };
  }

  async saveCheckpoint(c: SeenCheckpoint): Promise<void> {
    // Seen again: keep the first note and time; once proven consistent, it stays so.
    await this.#write(
      'insert into "checkpoints" ("relay", "size", "root_hash", "note", "seen_at", "consistent") values (?, ?, ?, ?, ?, ?) on conflict ("relay", "size", "root_hash") do update set "consistent" = max("checkpoints"."consistent", excluded."consistent")',
      [c.relay, c.size, c.rootHash, c.note, c.seenAt, c.consistent ? 1 : 0],
    );
  }

  async latestCheckpoint(relay: string): Promise<SeenCheckpoint | undefined> {
    const r = await this.#first<CheckpointRow>('select * from "checkpoints" where "relay" = ? order by "size" desc, "seen_at" desc limit 1', [relay]);
    return r === undefined ? undefined : this.#checkpoint(r);
  }

  async listCheckpoints(relay: string, f: { size?: number } = {}): Promise<SeenCheckpoint[]> {
    const rows =
      f.size === undefined
        ? await this.#rows<CheckpointRow>('select * from "checkpoints" where "relay" = ? order by "size", "seen_at"', [relay])
        : await this.#rows<CheckpointRow>('select * from "checkpoints" where "relay" = ? and "size" = ? order by "size", "seen_at"', [relay, f.size]);
    return rows.map((r) => this.#checkpoint(r));
  }
}
