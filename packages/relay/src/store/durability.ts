/**
 * The relay refuses to start on a store that could lose a committed write (DESIGN.md,
 * "Submitting, receipts, the log"): a receipt promises that its envelope survives a crash, so
 * the commit it follows must reach the disk. The checks read the settings back from the
 * database rather than trusting that a SET took effect.
 */
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { Pool } from 'pg';
import { RelayError } from '../errors.js';

/** SQLite: WAL journal and synchronous=FULL (2) or EXTRA (3). */
export function checkSqliteDurability(db: Pick<SqliteDatabase, 'pragma'>): void {
  const journal = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
  const sync = Number(db.pragma('synchronous', { simple: true }));
  const problems: string[] = [];
  if (journal !== 'wal') problems.push(`journal_mode is ${journal}, not wal`);
  if (sync < 2) problems.push(`synchronous is ${sync}, not FULL (2) or EXTRA (3)`);
  if (problems.length > 0) {
    throw new RelayError('storage_not_durable', `SQLite settings are not durable: ${problems.join('; ')}`, { details: { problems } });
  }
}

// synchronous_commit values that flush the local WAL before COMMIT returns.
const DURABLE_COMMIT = new Set(['on', 'local', 'remote_write', 'remote_apply']);

/** PostgreSQL: fsync on, full_page_writes on, synchronous_commit flushing locally. */
export async function checkPostgresDurability(pool: Pick<Pool, 'query'>): Promise<void> {
  const show = async (name: string): Promise<string> => {
    const r = await pool.query<Record<string, string>>(`SHOW ${name}`);
    return (r.rows[0]?.[name] ?? '').toLowerCase();
  };
  const fsync = await show('fsync');
  const commit = await show('synchronous_commit');
  const fpw = await show('full_page_writes');
  const problems: string[] = [];
  if (fsync !== 'on') problems.push(`fsync is ${fsync}`);
  if (!DURABLE_COMMIT.has(commit)) problems.push(`synchronous_commit is ${commit}`);
  if (fpw !== 'on') problems.push(`full_page_writes is ${fpw}`);
  if (problems.length > 0) {
    throw new RelayError('storage_not_durable', `PostgreSQL settings are not durable: ${problems.join('; ')}`, { details: { problems } });
  }
}
