/**
 * RelayStore over Kysely: the same queries for SQLite (better-sqlite3) and PostgreSQL (pg).
 * The two differences are named where they occur: row locks (`FOR UPDATE`, PostgreSQL only;
 * SQLite's single writer serializes transactions anyway) and the error codes of a full disk.
 */
import { BoundedCache, PRECEDENCES, type NodeId } from '@backchannel/core';
import { CompiledQuery, type Insertable, type Kysely, type Transaction } from 'kysely';
import { RelayError, storageFailureCode } from '../errors.js';
import type { Dialect } from './migrations.js';
import { KyselyOperatorStore, type OperatorStore } from './operator-store.js';
import type { SqliteWriter } from './sqlite-writer.js';
import type {
  CommitBatch,
  Committed,
  DeliveredCopy,
  DeskAssignment,
  DeskItem,
  EnvelopeKey,
  Equivocation,
  FetchRequest,
  FetchResult,
  KnownEnvelope,
  RelayStore,
  StoredCheckpoint,
  StoredCosignature,
  StoredDelivery,
  StoredEnvelope,
  StoredParty,
} from './relay-store.js';
import type { EnvelopesTable, RelayDatabase } from './schema.js';
import { KyselyWitnessStore, type WitnessDatabase } from '../witness/witness-store.js';
import type { WitnessStore } from '../witness/witness.js';

/** Bind parameters as Buffers: both drivers take them as BLOB / bytea. */
function blob(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Read byte columns back as plain Uint8Array views (no copy), so callers compare them as the core's values. */
function view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The values of `items` in lists by key, keys in first-seen order. */
function groupBy<T, K, V>(items: Iterable<T>, key: (t: T) => K, value: (t: T) => V): Map<K, V[]> {
  const out = new Map<K, V[]>();
  for (const t of items) {
    const k = key(t);
    const l = out.get(k);
    if (l === undefined) out.set(k, [value(t)]);
    else l.push(value(t));
  }
  return out;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// Bounded by SQLite's 32,766 bound parameters per statement (PostgreSQL allows 65,535).
const ROWS_PER_INSERT = 1000;
const ENVELOPE_ROWS_PER_INSERT = 500;

const ENVELOPE_COLUMNS = [
  'leaf_index',
  'from_party',
  'env_id',
  'digest',
  'bytes',
  'to_party',
  'prec',
  'created',
  'size',
  'token',
  'station',
  'received',
  'salt',
  'receipt',
] as const;

function envelopeFromRow(r: EnvelopesTable): StoredEnvelope {
  return {
    index: r.leaf_index,
    from: r.from_party,
    id: view(r.env_id),
    digest: view(r.digest),
    bytes: view(r.bytes),
    to: r.to_party,
    prec: r.prec,
    created: r.created,
    size: r.size,
    token: view(r.token),
    station: view(r.station),
    received: r.received,
    salt: view(r.salt),
    receipt: r.receipt,
  };
}

function envelopeToRow(e: StoredEnvelope): EnvelopesTable {
  return {
    leaf_index: e.index,
    from_party: e.from,
    env_id: blob(e.id),
    digest: blob(e.digest),
    bytes: blob(e.bytes),
    to_party: e.to,
    prec: e.prec,
    created: e.created,
    size: e.size,
    token: blob(e.token),
    station: blob(e.station),
    received: e.received,
    salt: blob(e.salt),
    receipt: e.receipt,
  };
}

function partyFromRow(r: RelayDatabase['parties']): StoredParty {
  return {
    party: r.party,
    root: view(r.root),
    bundle: view(r.bundle),
    seq: r.seq,
    bundleHash: view(r.bundle_hash),
    allow: r.allow === null ? undefined : (JSON.parse(r.allow) as string[]),
    // 0: counts only; 1: consents to opening precedence and digest; 2: forbids statements.
    statements: r.statements === 1,
    ...(r.statements === 2 ? { forbidStatements: true } : {}),
    updated: r.updated,
  };
}

function deliveryFromRow(r: RelayDatabase['delivery_records']): StoredDelivery {
  return {
    index: r.leaf_index,
    envIndex: r.env_index,
    from: r.from_party,
    to: r.to_party,
    desk: view(r.desk),
    record: view(r.record),
    salt: view(r.salt),
    receipt: r.receipt,
    created: r.created,
  };
}

/**
 * Maps a driver error of a write to the relay's codes: a full disk is 507 `storage_full`, a
 * database away, read-only or failing 503 `storage_unavailable`, anything else 503 `unavailable`.
 */
export function storageError(e: unknown): RelayError {
  if (e instanceof RelayError) return e;
  const code = storageFailureCode(e);
  if (code === 'storage_full') return new RelayError('storage_full', 'the relay is out of storage', { cause: e });
  if (code === 'storage_unavailable') return new RelayError('storage_unavailable', 'the relay database is unavailable or read-only; retry shortly', { cause: e });
  return new RelayError('unavailable', 'the relay store did not complete the write', { cause: e });
}

type InsertTable = 'envelopes' | 'delivery_records' | 'leaves' | 'nodes';

// The SQL of the group commit's multi-row INSERTs, by Kysely instance (its dialect writes the
// placeholders), table, columns and row count. Shape keys that Kysely compiled differently
// from the plain row-major order are remembered as such and always compiled.
const insertTexts = new WeakMap<object, BoundedCache<string, string | null>>();
const INSERT_TEXTS_MAX = 2048;

/**
 * `INSERT INTO table (columns) VALUES (…), (…)` for rows of one shape (built by one of this
 * file's row functions, so their keys come in one order and none is undefined). Kysely builds
 * and compiles an immutable tree per row for every batch (~20 µs per envelope on the relay's
 * event loop); the text depends only on the shape, so it is compiled once and reused with the
 * values in row-major column order. The first compile of a shape checks that Kysely's
 * parameters are exactly that order before its text is ever reused.
 */
function insertRows<T extends InsertTable>(db: Kysely<RelayDatabase>, table: T, rows: readonly Insertable<RelayDatabase[T]>[]): CompiledQuery {
  const columns = Object.keys(rows[0]!);
  const values = (): unknown[] => {
    const out: unknown[] = [];
    for (const r of rows) for (const c of columns) out.push((r as Record<string, unknown>)[c]);
    return out;
  };
  let texts = insertTexts.get(db);
  if (texts === undefined) {
    texts = new BoundedCache<string, string | null>(INSERT_TEXTS_MAX);
    insertTexts.set(db, texts);
  }
  const key = `${table}(${columns.join(',')})x${rows.length}`;
  const known = texts.get(key);
  if (typeof known === 'string') return CompiledQuery.raw(known, values());
  const q = db.insertInto(table).values(rows).compile();
  if (known === undefined) {
    const mine = values();
    const same = mine.length === q.parameters.length && mine.every((v, i) => v === q.parameters[i]);
    texts.set(key, same ? q.sql : null);
  }
  return q;
}

/**
 * PostgreSQL: the envelopes and tombstones a batch's (sender, id) pairs name, in one round trip
 * whatever the batch's size: the pairs travel as two arrays, so the text never changes (and
 * PostgreSQL plans no chain of ORs). SQLite has no arrays: knownSqlite below.
 */
const KNOWN_PG = `select e.from_party, e.env_id, e.leaf_index, e.digest, e.receipt, false as deleted
  from unnest($1::text[], $2::bytea[]) as k(from_party, env_id) join envelopes e on e.from_party = k.from_party and e.env_id = k.env_id
union all
select t.from_party, t.env_id, t.leaf_index, t.digest, t.receipt, true as deleted
  from unnest($1::text[], $2::bytea[]) as k(from_party, env_id) join tombstones t on t.from_party = k.from_party and t.env_id = k.env_id`;

/**
 * SQLite: the same in one statement, the pairs a VALUES list (SQLite has no arrays), so one
 * text per count of pairs, kept: the query builder's OR of ANDs, two statements a batch, cost
 * ~200 µs of the event loop for 28 pairs. CROSS JOIN keeps the pairs the outer loop, each a
 * lookup in the unique index (from_party, env_id) or the tombstones' primary key, whatever the
 * planner would guess of a VALUES list's size.
 */
function knownSqlite(pairs: number): string {
  let text = knownSqliteTexts.get(pairs);
  if (text === undefined) {
    const values = Array.from({ length: pairs }, () => '(?, ?)').join(', ');
    text = `with k(from_party, env_id) as (values ${values})
select e.from_party, e.env_id, e.leaf_index, e.digest, e.receipt, 0 as deleted
  from k cross join envelopes e on e.from_party = k.from_party and e.env_id = k.env_id
union all
select t.from_party, t.env_id, t.leaf_index, t.digest, t.receipt, 1 as deleted
  from k cross join tombstones t on t.from_party = k.from_party and t.env_id = k.env_id`;
    knownSqliteTexts.set(pairs, text);
  }
  return text;
}
const knownSqliteTexts = new BoundedCache<number, string>(INSERT_TEXTS_MAX);

/**
 * PostgreSQL: a group commit that skipped `findKnown` must still not take an id a tombstone
 * remembers. The unique constraints refuse an id held or a copy recorded; nothing refuses an
 * id whose envelope was deleted, so this statement of the commit copies each tombstone of the
 * batch's ids onto itself, and its primary key refuses the whole commit (KNOWN_CONSTRAINTS).
 */
const TOMBSTONE_GUARD_PG = `insert into tombstones (from_party, env_id, digest, leaf_index, receipt, deleted)
  select t.from_party, t.env_id, t.digest, t.leaf_index, t.receipt, t.deleted
  from unnest($1::text[], $2::bytea[]) as k(from_party, env_id) join tombstones t on t.from_party = k.from_party and t.env_id = k.env_id`;

/** The constraints that refuse a group commit holding something the store knows (commitRefusesKnown). */
const KNOWN_CONSTRAINTS = new Set(['envelopes_from_id', 'tombstones_pk', 'delivery_records_copy']);

/** A PostgreSQL unique violation (23505) of one of KNOWN_CONSTRAINTS, as thrown or as a typed error's cause. */
function refusedAsKnown(e: unknown): boolean {
  const err = e instanceof RelayError ? e.cause : e;
  if (typeof err !== 'object' || err === null) return false;
  const { code, constraint } = err as { code?: unknown; constraint?: unknown };
  return code === '23505' && typeof constraint === 'string' && KNOWN_CONSTRAINTS.has(constraint);
}

interface KnownRow {
  from_party: string;
  env_id: Uint8Array;
  leaf_index: number;
  digest: Uint8Array;
  receipt: string;
  deleted: boolean;
}

function knownFromRow(r: KnownRow): KnownEnvelope {
  return { from: r.from_party, id: view(r.env_id), index: r.leaf_index, digest: view(r.digest), receipt: r.receipt, deleted: r.deleted };
}

/** PostgreSQL's limit on a statement's parameters (the wire protocol counts them in 16 bits). */
const PG_MAX_PARAMETERS = 65_535;

/**
 * Merged texts by their statements' texts: a batch's shape recurs (the INSERT texts are reused
 * per shape already), and renumbering ~500 placeholders cost ~70 µs a batch on the event loop.
 */
const oneStatementTexts = new BoundedCache<string, string>(INSERT_TEXTS_MAX);

/**
 * PostgreSQL: a group commit's statements as one, each a data-modifying WITH query of it. They
 * touch different rows (every INSERT its own table; the UPDATEs one desk item each, acknowledged
 * once per batch), so running on one snapshot changes nothing; PostgreSQL runs each to
 * completion and the statement commits or fails whole. Each statement's placeholders are
 * renumbered after the ones before it (our statements carry every value as a parameter, never a
 * literal, so `$n` occurs nowhere else). Undefined when there is nothing to run or too many
 * parameters for one statement: then they run one by one in a transaction.
 */
export function oneStatement(queries: readonly CompiledQuery[]): CompiledQuery | undefined {
  if (queries.length <= 1) return queries[0];
  const total = queries.reduce((n, q) => n + q.parameters.length, 0);
  if (total > PG_MAX_PARAMETERS) return undefined;
  // A loop, not flatMap: ~1,000 parameters a batch, and flatMap took ~40 µs of them.
  const parameters: unknown[] = [];
  for (const q of queries) for (const p of q.parameters) parameters.push(p);
  // A statement's text fixes its number of placeholders, so equal texts renumber equally.
  const key = queries.map((q) => q.sql).join('\u0000');
  let text = oneStatementTexts.get(key);
  if (text === undefined) {
    let offset = 0;
    const parts = queries.map((q, i) => {
      const shift = offset;
      offset += q.parameters.length;
      return `s${i} as (${q.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`)})`;
    });
    text = `with ${parts.join(', ')} select 1`;
    oneStatementTexts.set(key, text);
  }
  return CompiledQuery.raw(text, parameters);
}

/**
 * A group commit's statements, in the order they run: compiled here, so the SQLite writer
 * thread executes exactly what the in-thread path and PostgreSQL execute.
 */
export function buildCommitStatements(db: Kysely<RelayDatabase>, b: CommitBatch): CompiledQuery[] {
  const out: CompiledQuery[] = [];
  for (const part of chunks(b.envelopes, ENVELOPE_ROWS_PER_INSERT)) {
    out.push(insertRows(db, 'envelopes', part.map(envelopeToRow)));
  }
  for (const part of chunks(b.deliveries, ROWS_PER_INSERT)) {
    out.push(
      insertRows(
        db,
        'delivery_records',
        part.map((d) => ({
          leaf_index: d.index,
          env_index: d.envIndex,
          from_party: d.from,
          to_party: d.to,
          desk: blob(d.desk),
          record: blob(d.record),
          salt: blob(d.salt),
          receipt: d.receipt,
          created: d.created,
        })),
      ),
    );
  }
  // A delivery record confirms the copy for the desk that acknowledged it.
  for (const d of b.deliveries) {
    out.push(db.updateTable('desk_items').set({ fetched: d.created }).where('desk', '=', blob(d.desk)).where('leaf_index', '=', d.envIndex).where('fetched', 'is', null).compile());
  }
  for (const part of chunks(b.equivocations, ENVELOPE_ROWS_PER_INSERT)) {
    out.push(
      db
        .insertInto('equivocations')
        .values(
          part.map((q) => ({
            from_party: q.from,
            env_id: blob(q.id),
            digest: blob(q.digest),
            bytes: blob(q.bytes),
            token: blob(q.token),
            station: blob(q.station),
            received: q.received,
          })),
        )
        .onConflict((oc) => oc.columns(['from_party', 'env_id', 'digest']).doNothing())
        .compile(),
    );
  }
  for (const part of chunks(b.leaves, ROWS_PER_INSERT)) {
    out.push(insertRows(db, 'leaves', part.map((l) => ({ idx: l.index, leaf: blob(l.leaf) }))));
  }
  for (const part of chunks(b.nodes, ROWS_PER_INSERT)) {
    out.push(insertRows(db, 'nodes', part.map((n) => ({ level: n.level, idx: n.index, hash: blob(n.hash) }))));
  }
  const c = b.checkpoint;
  if (c !== undefined) {
    out.push(db.insertInto('checkpoints').values({ size: c.size, root: blob(c.root), note: c.note, signed_at: c.signedAt }).compile());
  }
  return out;
}

/**
 * SQLite: a DeskAssignment's statements (relay-store.ts). The UPDATE is the comparison: it moves
 * the desk on only from the state the assignment was planned on, and each item is inserted only
 * if it did. No other state can have the desk's `scanned_to` at this batch's highest envelope:
 * no fetch saw this batch's envelopes before its commit. The texts are fixed, not compiled per
 * batch (Kysely's compiler cost ~40 µs a statement on the event loop, one per item), and the
 * writer thread prepares each once.
 */
const ASSIGN_DESK = 'update "desks" set "last_seq" = ?, "scanned_to" = ? where "desk" = ? and "last_seq" = ? and "scanned_to" = ? and "scan_party" = ?';
const ASSIGN_ITEM =
  'insert into "desk_items" ("desk", "seq", "leaf_index", "assigned", "fetched") select "desk", ?, ?, ?, null from "desks" where "desk" = ? and "last_seq" = ? and "scanned_to" = ?';

export function assignmentStatements(a: DeskAssignment): CompiledQuery[] {
  const desk = blob(a.desk);
  const lastSeq = a.lastSeq + a.envelopes.length;
  const out = [CompiledQuery.raw(ASSIGN_DESK, [lastSeq, a.scanTo, desk, a.lastSeq, a.scannedTo, a.party])];
  a.envelopes.forEach((e, i) => {
    out.push(CompiledQuery.raw(ASSIGN_ITEM, [a.lastSeq + 1 + i, e.index, a.assigned, desk, lastSeq, a.scanTo]));
  });
  return out;
}

export class KyselyRelayStore implements RelayStore {
  readonly dialect: Dialect;
  readonly db: Kysely<RelayDatabase>;
  readonly #writer: SqliteWriter | undefined;
  /** SQLite: the main connection's durable `synchronous` level, read at the first nonce (useNonce). */
  #durableSync: number | undefined;

  /** `writer`: SQLite only, where group commits run off the event loop; without it they run on `db`. */
  constructor(db: Kysely<RelayDatabase>, dialect: Dialect, writer?: SqliteWriter) {
    this.db = db;
    this.dialect = dialect;
    this.#writer = writer;
  }

  /** The writer thread group commits run on, if any (tests reach it to crash it). */
  get sqliteWriter(): SqliteWriter | undefined {
    return this.#writer;
  }

  /**
   * A transaction whose failure reports the error that caused it. SQLite rolls a transaction
   * back by itself on some errors (SQLITE_FULL, SQLITE_IOERR among them), also when COMMIT is
   * what fails; a ROLLBACK then fails with "no transaction is active", and Kysely's managed
   * transaction would throw that instead, hiding the real cause (a full disk is 507, a
   * read-only one 503 `storage_unavailable`). So the commit and the rollback are ours: the
   * rollback's own failure is ignored (the transaction is gone either way, and the connection
   * is released), and the first error is the one reported.
   */
  private async transaction<T>(fn: (trx: Transaction<RelayDatabase>) => Promise<T>): Promise<T> {
    let trx;
    try {
      trx = await this.db.startTransaction().execute();
    } catch (e) {
      throw storageError(e);
    }
    try {
      const result = await fn(trx);
      await trx.commit().execute();
      return result;
    } catch (e) {
      await trx.rollback().execute().catch(() => undefined);
      throw storageError(e);
    }
  }

  async close(): Promise<void> {
    try {
      await this.#writer?.close();
    } finally {
      await this.db.destroy();
    }
  }

  operatorStore(): OperatorStore {
    return new KyselyOperatorStore(this.db);
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('checkpoints').select('size').limit(1).execute();
  }

  // ── The mandate ────────────────────────────────────────────────────────────────────────

  async listParties(): Promise<StoredParty[]> {
    const rows = await this.db.selectFrom('parties').selectAll().orderBy('party').execute();
    return rows.map(partyFromRow);
  }

  async getParty(party: string): Promise<StoredParty | undefined> {
    const r = await this.db.selectFrom('parties').selectAll().where('party', '=', party).executeTakeFirst();
    return r === undefined ? undefined : partyFromRow(r);
  }

  async putParty(p: StoredParty): Promise<void> {
    const row = {
      party: p.party,
      root: blob(p.root),
      bundle: blob(p.bundle),
      seq: p.seq,
      bundle_hash: blob(p.bundleHash),
      allow: p.allow === undefined ? null : JSON.stringify(p.allow),
      statements: p.forbidStatements === true ? 2 : p.statements ? 1 : 0,
      updated: p.updated,
    };
    await this.db
      .insertInto('parties')
      .values(row)
      .onConflict((oc) =>
        oc.column('party').doUpdateSet({ root: row.root, bundle: row.bundle, seq: row.seq, bundle_hash: row.bundle_hash, allow: row.allow, statements: row.statements, updated: row.updated }),
      )
      .execute();
  }

  // ── The log ────────────────────────────────────────────────────────────────────────────

  async logSize(): Promise<number> {
    const r = await this.db.selectFrom('leaves').select((eb) => eb.fn.max('idx').as('m')).executeTakeFirst();
    // MAX over no rows is NULL, whatever Kysely's column type says.
    const m: unknown = r?.m;
    return typeof m === 'number' ? m + 1 : 0;
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const r = await this.db.selectFrom('checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
    return r === undefined ? undefined : { size: r.size, root: view(r.root), note: r.note, signedAt: r.signed_at };
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | undefined> {
    const r = await this.db.selectFrom('checkpoints').selectAll().where('size', '=', size).executeTakeFirst();
    return r === undefined ? undefined : { size: r.size, root: view(r.root), note: r.note, signedAt: r.signed_at };
  }

  async getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    if (ids.length === 0) return [];
    const byLevel = groupBy(ids, (id) => id.level, (id) => id.index);
    // One query for the whole proof: a few small IN lists, one per level.
    const rows = await this.db
      .selectFrom('nodes')
      .select(['level', 'idx', 'hash'])
      .where((eb) => eb.or([...byLevel].map(([level, idxs]) => eb.and([eb('level', '=', level), eb('idx', 'in', idxs)]))))
      .execute();
    const found = new Map<string, Uint8Array>();
    for (const r of rows) found.set(`${r.level}/${r.idx}`, view(r.hash));
    return ids.map((id) => {
      const h = found.get(`${id.level}/${id.index}`);
      if (h === undefined) throw new RelayError('store_inconsistent', `log node ${id.level}/${id.index} is missing from the store`);
      return h;
    });
  }

  async getLeaves(start: number, end: number): Promise<Uint8Array[]> {
    if (end <= start) return [];
    const rows = await this.db.selectFrom('leaves').select(['idx', 'leaf']).where('idx', '>=', start).where('idx', '<', end).orderBy('idx').execute();
    const out: Uint8Array[] = [];
    for (const [i, r] of rows.entries()) {
      if (r.idx !== start + i) throw new RelayError('store_inconsistent', `log leaf ${start + i} is missing from the store`);
      out.push(view(r.leaf));
    }
    return out;
  }

  /**
   * One transaction for the whole batch. The statements are built once, the same for both
   * dialects; on SQLite with a writer they run on its thread (sqlite-writer.ts), otherwise here.
   */
  async commitBatch(b: CommitBatch): Promise<Committed | 'known'> {
    const queries = buildCommitStatements(this.db, b);
    if (this.dialect === 'postgres') {
      if (b.envelopes.length > 0) queries.unshift(CompiledQuery.raw(TOMBSTONE_GUARD_PG, [b.envelopes.map((e) => e.from), b.envelopes.map((e) => blob(e.id))]));
      try {
        // One statement is one round trip and commits atomically on its own; the statements of
        // a transaction were one round trip each, BEGIN and COMMIT included.
        const one = oneStatement(queries);
        if (one !== undefined) await this.db.executeQuery(one);
        else await this.#runInTransaction(queries);
      } catch (e) {
        if (refusedAsKnown(e)) return 'known';
        throw storageError(e);
      }
      return { assigned: [] };
    }
    // The assignments' statements run last; each one's first statement, its UPDATE, changes the
    // desk's row only if the desk is still in the state it was planned on.
    const assignments = b.assignments ?? [];
    const updates: number[] = [];
    for (const a of assignments) {
      updates.push(queries.length);
      queries.push(...assignmentStatements(a));
    }
    let changes: number[];
    if (this.#writer !== undefined) {
      try {
        changes = await this.#writer.commit(queries);
      } catch (e) {
        throw storageError(e);
      }
    } else {
      changes = await this.#runInTransaction(queries);
    }
    return { assigned: assignments.filter((_, i) => changes[updates[i]!] === 1) };
  }

  /** Only PostgreSQL's commit refuses what the store knows: SQLite's reads are in-process and cheap. */
  get commitRefusesKnown(): boolean {
    return this.dialect === 'postgres';
  }

  /**
   * Only SQLite's commit makes desk assignments. PostgreSQL's commit is one statement, and its
   * UPDATE of a desk would wait on the row lock of that desk's fetch in progress (which holds it
   * for a transaction of several round trips), holding every receipt of the batch behind it.
   */
  get assignsInCommit(): boolean {
    return this.dialect === 'sqlite';
  }

  /** Runs the statements in one transaction: the rows each changed. */
  async #runInTransaction(queries: readonly CompiledQuery[]): Promise<number[]> {
    return this.transaction(async (trx) => {
      const changes: number[] = [];
      for (const q of queries) {
        const r = await trx.executeQuery(q);
        changes.push(Number(r.numAffectedRows ?? 0n));
      }
      return changes;
    });
  }

  // ── Witnesses ──────────────────────────────────────────────────────────────────────────

  witnessStore(): WitnessStore {
    return new KyselyWitnessStore(this.db as unknown as Kysely<WitnessDatabase>);
  }

  async addCosignature(c: StoredCosignature, now: number): Promise<void> {
    await this.db
      .insertInto('cosignatures')
      .values({ size: c.size, witness: c.witness, line: c.line, added: now })
      .onConflict((oc) => oc.columns(['size', 'witness']).doNothing())
      .execute();
  }

  async listCosignatures(size: number): Promise<StoredCosignature[]> {
    const rows = await this.db.selectFrom('cosignatures').select(['size', 'witness', 'line']).where('size', '=', size).orderBy('witness').execute();
    return rows;
  }

  async latestCosignedSize(min: number): Promise<number | undefined> {
    const r = await this.db
      .selectFrom('cosignatures')
      .select('size')
      .groupBy('size')
      .having((eb) => eb.fn.countAll(), '>=', min)
      .orderBy('size', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r?.size;
  }

  async listPairEnvelopes(a: string, b: string, since: number, until: number, limit: number): Promise<Omit<StoredEnvelope, 'bytes' | 'receipt'>[]> {
    const cols = ENVELOPE_COLUMNS.filter((c) => c !== 'bytes' && c !== 'receipt');
    const rows = await this.db
      .selectFrom('envelopes')
      .select(cols)
      .where((eb) => eb.or([eb.and([eb('from_party', '=', a), eb('to_party', '=', b)]), eb.and([eb('from_party', '=', b), eb('to_party', '=', a)])]))
      .where('received', '>=', since)
      .where('received', '<', until)
      .orderBy('leaf_index')
      .limit(limit)
      .execute();
    return rows.map((r) => {
      const { bytes: _b, receipt: _r, ...e } = envelopeFromRow({ ...r, bytes: Buffer.alloc(0), receipt: '' });
      return e;
    });
  }

  // ── Envelopes ──────────────────────────────────────────────────────────────────────────

  async findKnown(keys: readonly EnvelopeKey[]): Promise<KnownEnvelope[]> {
    if (keys.length === 0) return [];
    if (this.dialect === 'postgres') {
      const { rows } = await this.db.executeQuery<KnownRow>(CompiledQuery.raw(KNOWN_PG, [keys.map((k) => k.from), keys.map((k) => blob(k.id))]));
      return rows.map(knownFromRow);
    }
    const out: KnownEnvelope[] = [];
    for (const part of chunks(keys, ROWS_PER_INSERT)) {
      const params: unknown[] = [];
      for (const k of part) params.push(k.from, blob(k.id));
      // SQLite has no booleans: `deleted` comes back 0 or 1.
      const { rows } = await this.db.executeQuery<Omit<KnownRow, 'deleted'> & { deleted: number }>(CompiledQuery.raw(knownSqlite(part.length), params));
      for (const r of rows) out.push(knownFromRow({ ...r, deleted: r.deleted !== 0 }));
    }
    return out;
  }

  async getEnvelope(index: number): Promise<StoredEnvelope | undefined> {
    const r = await this.db.selectFrom('envelopes').select(ENVELOPE_COLUMNS).where('leaf_index', '=', index).executeTakeFirst();
    return r === undefined ? undefined : envelopeFromRow(r);
  }

  async listEquivocations(key: EnvelopeKey): Promise<Equivocation[]> {
    const rows = await this.db.selectFrom('equivocations').selectAll().where('from_party', '=', key.from).where('env_id', '=', blob(key.id)).execute();
    return rows.map((r) => ({
      from: r.from_party,
      id: view(r.env_id),
      digest: view(r.digest),
      bytes: view(r.bytes),
      token: view(r.token),
      station: view(r.station),
      received: r.received,
    }));
  }

  // ── Desks ──────────────────────────────────────────────────────────────────────────────

  /**
   * A page for the desk: with a cursor, first what was handed out after it and not confirmed,
   * then envelopes never handed to it, FLASH first, each under the desk's next sequence.
   *
   * What the desk has not been handed is kept in `desk_pending`, filled from the envelopes
   * committed since its last fetch (`scanNewEnvelopes`) and emptied as items are assigned, so
   * a fetch walks what is new and the page it returns, never the party's retained history.
   * One transaction per fetch, and one desk's fetches are serialized: SQLite's transactions
   * take the write lock at BEGIN (open-store.ts), PostgreSQL locks the desk's row.
   */
  async fetchForDesk(req: FetchRequest): Promise<FetchResult> {
    const desk = blob(req.desk);
    return this.transaction(async (trx) => {
      await trx
        .insertInto('desks')
        .values({ desk, party: req.party, last_seq: 0, created: req.now })
        .onConflict((oc) => oc.column('desk').doNothing())
        .execute();
      // Two requests of one desk must not hand out the same sequence numbers.
      let q = trx.selectFrom('desks').select(['last_seq', 'confirmed_to', 'scanned_to', 'scan_party']).where('desk', '=', desk);
      if (this.dialect === 'postgres') q = q.forUpdate();
      const state = await q.executeTakeFirstOrThrow();
      const lastSeq = state.last_seq;

      const items: DeskItem[] = [];
      const maxBytes = req.maxBytes ?? Infinity;
      let bytes = 0;
      // Whether an envelope of this size still goes in the page: the first always does.
      const fits = (taken: number, size: number): boolean => {
        if (taken > 0 && bytes + size > maxBytes) return false;
        bytes += size;
        return true;
      };
      if (req.after !== undefined) {
        const cursor = Math.min(req.after, lastSeq);
        // Every item up to `confirmed_to` is confirmed already (items are only ever added above
        // `last_seq`, and `fetched` is never cleared): only the range the cursor newly passed
        // is walked, not the desk's whole history.
        if (cursor > state.confirmed_to) {
          await trx
            .updateTable('desk_items')
            .set({ fetched: req.now })
            .where('desk', '=', desk)
            .where('seq', '>', state.confirmed_to)
            .where('seq', '<=', cursor)
            .where('fetched', 'is', null)
            .execute();
          await trx.updateTable('desks').set({ confirmed_to: cursor }).where('desk', '=', desk).execute();
        }
        // Items handed out before but not confirmed: the last response may have been lost.
        const again = await this.selectDeskItems(trx, desk, cursor, req.limit + 1);
        for (const it of again.slice(0, req.limit)) {
          if (!fits(items.length, it.envelope.bytes.length)) break;
          items.push(it);
        }
        if (again.length > items.length) return { items, more: true, desk: { lastSeq, scannedTo: state.scanned_to } };
      }
      const scannedTo = await this.scanNewEnvelopes(trx, desk, req.party, state.scanned_to, state.scan_party);
      const room = req.limit - items.length;
      const pending = await this.selectPending(trx, desk, room + 1);
      const fresh: StoredEnvelope[] = [];
      for (const e of pending.slice(0, room)) {
        if (!fits(items.length + fresh.length, e.bytes.length)) break;
        fresh.push(e);
      }
      if (fresh.length > 0) {
        await trx
          .insertInto('desk_items')
          .values(fresh.map((e, i) => ({ desk, seq: lastSeq + 1 + i, leaf_index: e.index, assigned: req.now, fetched: null })))
          .execute();
        await this.dropPending(trx, desk, fresh.map((e) => ({ prec: e.prec, index: e.index })));
      }
      if (fresh.length > 0 || scannedTo !== state.scanned_to || state.scan_party !== req.party) {
        await trx.updateTable('desks').set({ last_seq: lastSeq + fresh.length, scanned_to: scannedTo, scan_party: req.party }).where('desk', '=', desk).execute();
      }
      for (const [i, e] of fresh.entries()) items.push({ seq: lastSeq + 1 + i, assigned: req.now, envelope: e });
      return { items, more: pending.length > fresh.length, desk: { lastSeq: lastSeq + fresh.length, scannedTo } };
    });
  }

  private async selectDeskItems(trx: Transaction<RelayDatabase>, desk: Buffer, after: number, limit: number): Promise<DeskItem[]> {
    const rows = await trx
      .selectFrom('desk_items as d')
      .innerJoin('envelopes as e', 'e.leaf_index', 'd.leaf_index')
      .select(['d.seq', 'd.assigned'])
      .select(ENVELOPE_COLUMNS.map((c) => `e.${c}` as const))
      .where('d.desk', '=', desk)
      .where('d.seq', '>', after)
      .orderBy('d.seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ seq: r.seq, assigned: r.assigned, envelope: envelopeFromRow(r) }));
  }

  /**
   * Adds to `desk_pending` the envelopes for the desk committed since its last scan: to its
   * party, or sent by its party from another desk; returns the new `scanned_to`.
   *
   * The scan stops at M, the highest envelope leaf index visible now. Every envelope with an
   * index up to M is committed and visible too: the log manager commits one batch at a time,
   * awaiting each before the next, with leaf indexes growing from batch to batch, so a batch
   * that commits while this runs holds indexes above M and the next fetch picks it up (the
   * push hub fetches again after every commit). M is read in a statement of its own and bounds
   * the inserts, since PostgreSQL's READ COMMITTED gives each statement a newer snapshot.
   * Retention may have deleted the newest envelopes, so M can be below the last scan's; the
   * mark never moves back.
   *
   * Each insert is a range scan over new rows only: `prec IN (0..3)` with the leaf index range
   * lets an index seek each precedence's rows of `envelopes_to` / `envelopes_from` (party,
   * prec, leaf_index) past the mark, which neither PostgreSQL 15 nor SQLite without ANALYZE
   * does over a middle column left open (`prec` holds only PRECEDENCES' codes: the log manager
   * stores `precedenceCode`). SQLite takes those seeks; PostgreSQL takes them or, for a short
   * range, the primary key's range over the new leaves. The "not yet handed" filter matters
   * only for the first scan of a desk (from -1), the one-off walk through its party's history
   * for a new desk or a desk of a database older than `desk_pending`.
   *
   * A desk whose last scan was made for another party (its key enrolled in two bundles)
   * starts over from -1, so the page is always what the plain definition gives for `party`.
   */
  private async scanNewEnvelopes(trx: Transaction<RelayDatabase>, desk: Buffer, party: string, scannedTo: number, scanParty: string | null): Promise<number> {
    let from = scannedTo;
    if (scanParty !== party) {
      await trx.deleteFrom('desk_pending').where('desk', '=', desk).execute();
      from = -1;
    }
    const r = await trx.selectFrom('envelopes').select((eb) => eb.fn.max('leaf_index').as('m')).executeTakeFirst();
    // MAX over no rows is NULL, whatever Kysely's column type says.
    const m: unknown = r?.m;
    const top = typeof m === 'number' ? m : -1;
    if (top <= from) return from;
    const precs = PRECEDENCES.map((_, i) => i);
    const scan = (by: 'to' | 'from') =>
      trx
        .selectFrom('envelopes as e')
        .select((eb) => [eb.val(desk).as('desk'), 'e.prec', 'e.leaf_index'])
        .where(by === 'to' ? 'e.to_party' : 'e.from_party', '=', party)
        .where('e.prec', 'in', precs)
        .where('e.leaf_index', '>', from)
        .where('e.leaf_index', '<=', top)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('desk_items as d').select('d.seq').where('d.desk', '=', desk).whereRef('d.leaf_index', '=', 'e.leaf_index'))));
    await trx.insertInto('desk_pending').columns(['desk', 'prec', 'leaf_index']).expression(scan('to')).execute();
    // Disjoint from the first: an envelope of the party to itself was taken there, whichever desk sent it.
    await trx
      .insertInto('desk_pending')
      .columns(['desk', 'prec', 'leaf_index'])
      .expression(scan('from').where('e.to_party', '!=', party).where('e.station', '!=', desk))
      .execute();
    return top;
  }

  /**
   * The first `limit` envelopes waiting for the desk: FLASH first, then by leaf index. A row
   * whose envelope is gone is dropped and the page read again. Retention deletes the pending
   * rows of what it deletes, but on PostgreSQL a fetch that read an envelope before the
   * deletion committed can still add its row after; nothing may stall behind such a row.
   */
  private async selectPending(trx: Transaction<RelayDatabase>, desk: Buffer, limit: number): Promise<StoredEnvelope[]> {
    if (limit <= 0) return [];
    for (;;) {
      const rows = await trx
        .selectFrom('desk_pending as p')
        .leftJoin('envelopes as e', 'e.leaf_index', 'p.leaf_index')
        .select(['p.prec as pending_prec', 'p.leaf_index as pending_index'])
        .select(ENVELOPE_COLUMNS.map((c) => `e.${c}` as const))
        .where('p.desk', '=', desk)
        .orderBy('p.prec')
        .orderBy('p.leaf_index')
        .limit(limit)
        .execute();
      const gone = rows.filter((x) => x.leaf_index === null);
      if (gone.length === 0) return rows.map((x) => envelopeFromRow(x as EnvelopesTable));
      await this.dropPending(trx, desk, gone.map((x) => ({ prec: x.pending_prec, index: x.pending_index })));
    }
  }

  /**
   * Deletes the desk's pending rows by their whole key, one statement per precedence: with the
   * precedences OR-ed in one statement SQLite walks every pending row of the desk instead of
   * seeking each key, and a desk far behind would pay for its whole backlog on every page.
   */
  private async dropPending(trx: Transaction<RelayDatabase>, desk: Buffer, keys: readonly { prec: number; index: number }[]): Promise<void> {
    for (const [prec, idxs] of groupBy(keys, (k) => k.prec, (k) => k.index)) {
      for (const part of chunks(idxs, ROWS_PER_INSERT)) {
        await trx.deleteFrom('desk_pending').where('desk', '=', desk).where('prec', '=', prec).where('leaf_index', 'in', part).execute();
      }
    }
  }

  /**
   * Driven by the keys: each sender's ids as one IN list on the envelopes' (from_party, env_id)
   * index, then the desk's item by (desk, leaf_index). Written as an OR of (from, id) pairs,
   * SQLite's planner walks every item the desk was ever handed once there are a handful of
   * pairs (an acknowledgement cost ~4.5 ms at 5,000 items, and grew with the history).
   */
  async findDeliveredCopies(desk: Uint8Array, keys: readonly EnvelopeKey[]): Promise<DeliveredCopy[]> {
    if (keys.length === 0) return [];
    const rows = [];
    for (const [from, ids] of groupBy(keys, (k) => k.from, (k) => blob(k.id))) {
      for (const part of chunks(ids, ROWS_PER_INSERT)) {
        rows.push(
          ...(await this.db
            .selectFrom('envelopes as e')
            .innerJoin('desk_items as d', (j) => j.onRef('d.leaf_index', '=', 'e.leaf_index').on('d.desk', '=', blob(desk)))
            .select(['d.desk', 'd.seq', 'd.assigned', 'e.leaf_index', 'e.from_party', 'e.env_id', 'e.to_party', 'e.prec', 'e.digest', 'e.received'])
            .where('e.from_party', '=', from)
            .where('e.env_id', 'in', part)
            .execute()),
        );
      }
    }
    return rows.map((r) => ({
      desk: view(r.desk),
      seq: r.seq,
      assigned: r.assigned,
      index: r.leaf_index,
      from: r.from_party,
      id: view(r.env_id),
      to: r.to_party,
      prec: r.prec,
      digest: view(r.digest),
      received: r.received,
    }));
  }

  async findDeliveries(copies: readonly { envIndex: number; desk: Uint8Array }[]): Promise<StoredDelivery[]> {
    if (copies.length === 0) return [];
    const rows = await this.db
      .selectFrom('delivery_records')
      .selectAll()
      .where((eb) => eb.or(copies.map((c) => eb.and([eb('env_index', '=', c.envIndex), eb('desk', '=', blob(c.desk))]))))
      .execute();
    return rows.map(deliveryFromRow);
  }

  async listDeliveries(from: string, after: number, limit: number): Promise<{ items: StoredDelivery[]; more: boolean }> {
    const rows = await this.db
      .selectFrom('delivery_records')
      .selectAll()
      .where('from_party', '=', from)
      .where('leaf_index', '>', after)
      .orderBy('leaf_index')
      .limit(limit + 1)
      .execute();
    return { items: rows.slice(0, limit).map(deliveryFromRow), more: rows.length > limit };
  }

  // ── Housekeeping ───────────────────────────────────────────────────────────────────────

  /**
   * On SQLite a nonce's commit does not wait for an fsync of its own (synchronous=NORMAL for
   * this one statement, on the held connection): it cost ~0.6 ms of blocked event loop for
   * every signed request. It loses nothing a request relies on. The nonce's WAL frames precede
   * every later commit, and an fsync of the WAL file covers them whichever connection makes it,
   * so a request that changes anything (an acknowledgement's group commit, a fetch's
   * transaction) has made its nonce durable before it answers. What a power loss can take is
   * the nonce of a request that only read, or of one refused before its commit; a replay of
   * such a request within its few minutes' window gets a read answered again or is refused
   * on its own merits. PostgreSQL commits it as any other statement.
   */
  async useNonce(nonce: Uint8Array, expires: number): Promise<boolean> {
    const insert = (db: Kysely<RelayDatabase>): Promise<boolean> =>
      db
        .insertInto('request_nonces')
        .values({ nonce: blob(nonce), expires })
        .onConflict((oc) => oc.column('nonce').doNothing())
        .executeTakeFirst()
        .then((r) => r.numInsertedOrUpdatedRows !== undefined && r.numInsertedOrUpdatedRows > 0n);
    try {
      if (this.dialect !== 'sqlite') return await insert(this.db);
      return await this.db.connection().execute(async (c) => {
        if (this.#durableSync === undefined) {
          const level = Number((await c.executeQuery<{ synchronous: number }>(CompiledQuery.raw('pragma synchronous'))).rows[0]?.synchronous);
          // The store was opened durable (open-store.ts refuses less than FULL): anything else read here is FULL.
          this.#durableSync = Number.isInteger(level) && level >= 2 ? level : 2;
        }
        await c.executeQuery(CompiledQuery.raw('pragma synchronous = normal'));
        try {
          return await insert(c);
        } finally {
          await c.executeQuery(CompiledQuery.raw(`pragma synchronous = ${this.#durableSync}`));
        }
      });
    } catch (e) {
      throw storageError(e);
    }
  }

  async pruneNonces(now: number): Promise<number> {
    const r = await this.db.deleteFrom('request_nonces').where('expires', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async listRetentionCandidates(before: number, limit: number): Promise<{ envelope: Omit<StoredEnvelope, 'bytes'>; confirmedBy: Uint8Array[] }[]> {
    const cols = ENVELOPE_COLUMNS.filter((c) => c !== 'bytes');
    const rows = await this.db.selectFrom('envelopes').select(cols).where('received', '<', before).orderBy('received').limit(limit).execute();
    if (rows.length === 0) return [];
    const confirmed = await this.db
      .selectFrom('desk_items')
      .select(['leaf_index', 'desk'])
      .where('leaf_index', 'in', rows.map((r) => r.leaf_index))
      .where('fetched', 'is not', null)
      .execute();
    const by = groupBy(confirmed, (c) => c.leaf_index, (c) => view(c.desk));
    return rows.map((r) => {
      const { bytes: _bytes, ...envelope } = envelopeFromRow({ ...r, bytes: Buffer.alloc(0) });
      return { envelope, confirmedBy: by.get(r.leaf_index) ?? [] };
    });
  }

  async deleteEnvelopes(indexes: readonly number[], now: number): Promise<void> {
    if (indexes.length === 0) return;
    await this.transaction(async (trx) => {
      for (const part of chunks(indexes, ROWS_PER_INSERT)) {
        const rows = await trx.selectFrom('envelopes').select(['from_party', 'env_id', 'digest', 'leaf_index', 'receipt']).where('leaf_index', 'in', part).execute();
        if (rows.length === 0) continue;
        await trx
          .insertInto('tombstones')
          .values(rows.map((r) => ({ ...r, deleted: now })))
          .onConflict((oc) => oc.columns(['from_party', 'env_id']).doNothing())
          .execute();
        await trx.deleteFrom('desk_items').where('leaf_index', 'in', part).execute();
        await trx.deleteFrom('desk_pending').where('leaf_index', 'in', part).execute();
        await trx.deleteFrom('envelopes').where('leaf_index', 'in', part).execute();
      }
    });
  }

  async pruneTombstones(before: number): Promise<number> {
    const r = await this.db.deleteFrom('tombstones').where('deleted', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
