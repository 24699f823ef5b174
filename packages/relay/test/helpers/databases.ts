/**
 * Databases for tests: a SQLite file in a fresh temporary folder, or a PostgreSQL database of
 * its own per suite (created from the admin URL the global setup found, dropped afterwards),
 * so parallel runs never collide.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDb {
  url: string;
  /** Where the files are (SQLite), for scanning. */
  dir: string | undefined;
  /** PostgreSQL database name, for scanning. */
  pgName: string | undefined;
  drop(): Promise<void>;
}

export type Backend = 'sqlite' | 'postgres';

export const pgAdminUrl: string | null = inject('pgAdminUrl');

export function backends(): Backend[] {
  return pgAdminUrl === null ? ['sqlite'] : ['sqlite', 'postgres'];
}

export function sqliteDb(): TestDb {
  const dir = mkdtempSync(join(tmpdir(), 'bc-relay-'));
  return {
    url: `sqlite:${join(dir, 'relay.db')}`,
    dir,
    pgName: undefined,
    drop: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

let counter = 0;

export async function postgresDb(): Promise<TestDb> {
  if (pgAdminUrl === null) throw new Error('PostgreSQL is not available');
  const name = `bc_relay_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(pgAdminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    dir: undefined,
    pgName: name,
    drop: async () => {
      const a = new pg.Client({ connectionString: pgAdminUrl });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

export function testDb(backend: Backend): Promise<TestDb> {
  return backend === 'sqlite' ? Promise.resolve(sqliteDb()) : postgresDb();
}
