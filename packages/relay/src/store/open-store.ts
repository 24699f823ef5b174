/**
 * Opens the relay's store from its database URL — 'sqlite:<path>' (the embedded default, a
 * file in the home folder) or 'postgres://…' — checks that it is durable, and brings the
 * schema to the latest migration.
 */
import Database from 'better-sqlite3';
import { cachingStatements } from '@backchannel/core';
import { CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig, type SqliteStatement } from 'kysely';
import pg from 'pg';
import type { TypeFormat, TypeId } from 'pg-types';
import { RelayError, storageFailureCode } from '../errors.js';
import { checkPostgresDurability, checkSqliteDurability } from './durability.js';
import { KyselyRelayStore } from './kysely-store.js';
import { relayMigrations, type Dialect } from './migrations.js';
import { SqliteWriter } from './sqlite-writer.js';
import type { RelayDatabase } from './schema.js';

export type DbLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

export function parseDbUrl(db: string): DbLocation {
  if (db.startsWith('sqlite:')) {
    const path = db.slice('sqlite:'.length);
    if (path.length === 0) throw new RelayError('config_invalid', 'the SQLite database URL names no file (sqlite:<path>)');
    return { dialect: 'sqlite', path };
  }
  if (db.startsWith('postgres://') || db.startsWith('postgresql://')) return { dialect: 'postgres', url: db };
  throw new RelayError('config_invalid', `database URL must be sqlite:<path> or postgres://…, not ${JSON.stringify(db.split(':')[0])}`);
}

// pg returns int8 as text to be safe with 64-bit values; every integer of ours is below 2^53
// (tree sizes, times in ms), so read them as numbers and refuse any that is not.
function parseInt8(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RelayError('store_inconsistent', `integer ${v} from the store is beyond 2^53`);
  return n;
}
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: (oid: TypeId, format?: TypeFormat): ((v: string) => unknown) => {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format) as (v: string) => unknown;
  },
};

/**
 * Every connection to the relay's SQLite file, the main one and the writer thread's, is set up
 * with these, in this order. busy_timeout (ms): another process (the CLI's `trust`) may write
 * while the relay runs, and within the relay the writer thread and the main connection take
 * turns at the write lock: wait, do not fail.
 */
export const SQLITE_PRAGMAS: readonly string[] = ['journal_mode = WAL', 'synchronous = FULL', 'busy_timeout = 5000'];

/**
 * Group commits go to a writer thread unless BACKCHANNEL_SQLITE_WRITER=0 keeps them on the
 * event loop (a baseline to compare, or where threads are unwelcome). No ':memory:' case: a
 * second connection would see another database, but such a database is refused as not
 * durable (its journal cannot be WAL) before this is reached.
 */
function sqliteWriterFor(path: string): SqliteWriter | undefined {
  if (process.env.BACKCHANNEL_SQLITE_WRITER === '0') return undefined;
  return new SqliteWriter({ path, pragmas: SQLITE_PRAGMAS });
}

/**
 * Transactions on the main connection take the write lock at BEGIN (IMMEDIATE). The writer
 * thread commits from a second connection at any moment, and a deferred transaction that read
 * before that commit and writes after it fails with SQLITE_BUSY_SNAPSHOT, which no busy_timeout
 * waits out (deleteEnvelopes reads, then writes). IMMEDIATE waits at BEGIN, on busy_timeout.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

export class RelaySqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

interface Opened {
  db: Kysely<RelayDatabase>;
  dialect: Dialect;
  check: () => Promise<void>;
  writer: SqliteWriter | undefined;
}

function kyselyFor(loc: DbLocation): Opened {
  if (loc.dialect === 'sqlite') {
    const sqlite = new Database(loc.path);
    try {
      for (const p of SQLITE_PRAGMAS) sqlite.pragma(p);
      checkSqliteDurability(sqlite);
    } catch (e) {
      sqlite.close();
      throw e;
    }
    // Prepared statements reused: the group commit's reads (findKnown, findDeliveries) and the
    // fetch and push pages run the same few dozen texts all day.
    return { db: new Kysely<RelayDatabase>({ dialect: new RelaySqliteDialect({ database: cachingStatements<SqliteStatement>(sqlite) }) }), dialect: 'sqlite', check: () => Promise.resolve(), writer: sqliteWriterFor(loc.path) };
  }
  const pool = new pg.Pool({ connectionString: loc.url, max: 8, types: pgTypes });
  // An idle client's error (the server restarted) must not crash the process; the next query fails and is answered 503.
  pool.on('error', () => undefined);
  // Nor must a checked-out client's (the server shut down between two queries of a transaction):
  // pg marks it unusable, its next query fails (503 storage_unavailable), the pool drops it on release.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return { db: new Kysely<RelayDatabase>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres', check: () => checkPostgresDurability(pool), writer: undefined };
}

async function migrator(db: Kysely<RelayDatabase>, dialect: Dialect): Promise<Migrator> {
  return Promise.resolve(new Migrator({ db, provider: relayMigrations(dialect) }));
}

/** Opens, checks durability, migrates to the latest schema. */
export async function openStore(db: string): Promise<KyselyRelayStore> {
  const loc = parseDbUrl(db);
  let k: Opened;
  try {
    k = kyselyFor(loc);
  } catch (e) {
    // A file that cannot be opened (a read-only or failing disk) is refused with a typed code, not a stack trace.
    if (e instanceof RelayError) throw e;
    throw new RelayError(storageFailureCode(e) ?? 'unavailable', `the relay database cannot be opened: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    await k.check();
    const m = await migrator(k.db, k.dialect);
    const { error } = await m.migrateToLatest();
    if (error !== undefined) throw new RelayError('unavailable', 'the relay database could not be migrated', { cause: error });
    return new KyselyRelayStore(k.db, k.dialect, k.writer);
  } catch (e) {
    // The writer has not started: it starts with the first batch.
    await k.db.destroy();
    if (e instanceof RelayError) throw e;
    throw new RelayError(storageFailureCode(e) ?? 'unavailable', `the relay database cannot be opened: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Reverts every migration (tests, and an operator's way back): the schema is gone afterwards. */
export async function migrateStoreDown(db: string): Promise<void> {
  const k = kyselyFor(parseDbUrl(db));
  try {
    const m = await migrator(k.db, k.dialect);
    for (;;) {
      const { error, results } = await m.migrateDown();
      if (error !== undefined) throw new RelayError('unavailable', 'migration down failed', { cause: error });
      if (results === undefined || results.length === 0) break;
    }
  } finally {
    await k.db.destroy();
  }
}
