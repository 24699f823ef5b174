/**
 * The witness's durable state over Kysely: one table, `witness_logs`, one row per witnessed
 * origin (size, root and note of the last checkpoint cosigned). The same table lives in a
 * relay's database (migration 0002) or in a stand-alone witness's own SQLite file
 * (`openWitnessStore`), with the same durability checks as the relay's store.
 *
 * `advance` is a single conditional statement (compare-and-set on the size), so two requests
 * racing on one origin can never roll the recorded size back (tlog-witness: "checking the old
 * size against the latest checkpoint and persisting the new checkpoint must be performed
 * atomically"). Sizes only grow, so comparing the size alone is enough.
 */
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import { RelayError } from '../errors.js';
import { checkSqliteDurability } from '../store/durability.js';
import type { WitnessedLog, WitnessStore } from './witness.js';

export interface WitnessLogsTable {
  origin: string;
  size: number;
  root: Uint8Array;
  note: string;
  updated: number;
}

export interface WitnessDatabase {
  witness_logs: WitnessLogsTable;
}

/** Creates the witness table (shared by the relay's migration 0002 and the stand-alone witness). */
export async function createWitnessTable(db: Kysely<unknown>, bytes: 'blob' | 'bytea'): Promise<void> {
  await db.schema
    .createTable('witness_logs')
    .addColumn('origin', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('root', bytes, (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('updated', 'bigint', (c) => c.notNull())
    .execute();
}

function blob(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export class KyselyWitnessStore implements WitnessStore {
  readonly #db: Kysely<WitnessDatabase>;

  constructor(db: Kysely<WitnessDatabase>) {
    this.#db = db;
  }

  async getLog(origin: string): Promise<WitnessedLog | undefined> {
    const r = await this.#db.selectFrom('witness_logs').selectAll().where('origin', '=', origin).executeTakeFirst();
    return r === undefined ? undefined : { origin: r.origin, size: r.size, root: new Uint8Array(r.root.buffer, r.root.byteOffset, r.root.byteLength), note: r.note, updated: r.updated };
  }

  async advance(oldSize: number, next: WitnessedLog): Promise<number | undefined> {
    const values = { size: next.size, root: blob(next.root), note: next.note, updated: next.updated };
    if (oldSize === 0) {
      // No record yet, or a record of size 0 (an empty tree cosigned before).
      const ins = await this.#db
        .insertInto('witness_logs')
        .values({ origin: next.origin, ...values })
        .onConflict((oc) => oc.column('origin').doUpdateSet(values).where('witness_logs.size', '=', 0))
        .executeTakeFirst();
      if ((ins.numInsertedOrUpdatedRows ?? 0n) > 0n) return undefined;
    } else {
      const up = await this.#db.updateTable('witness_logs').set(values).where('origin', '=', next.origin).where('size', '=', oldSize).executeTakeFirst();
      if (up.numUpdatedRows > 0n) return undefined;
    }
    return (await this.getLog(next.origin))?.size ?? 0;
  }
}

function witnessMigrations(): MigrationProvider {
  const initial: Migration = {
    up: (db) => createWitnessTable(db, 'blob'),
    down: async (db) => {
      await db.schema.dropTable('witness_logs').execute();
    },
  };
  return { getMigrations: () => Promise.resolve({ '0001_witness': initial }) };
}

/** A stand-alone witness's store: its own SQLite file, WAL and synchronous=FULL (checked). */
export async function openWitnessStore(path: string): Promise<{ store: KyselyWitnessStore; close: () => Promise<void> }> {
  const sqlite = new Database(path);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    checkSqliteDurability(sqlite);
  } catch (e) {
    sqlite.close();
    throw e;
  }
  const db = new Kysely<WitnessDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error } = await new Migrator({ db, provider: witnessMigrations() }).migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    throw new RelayError('unavailable', 'the witness database could not be migrated', { cause: error });
  }
  return { store: new KyselyWitnessStore(db), close: () => db.destroy() };
}
