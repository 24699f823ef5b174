/**
 * What the store does to spend fewer fsyncs and statement preparations without losing what
 * must be durable: prepared statements reused by SQL text; a transaction that is not durable
 * on its own commits with synchronous=NORMAL and leaves the connection at FULL; durable
 * transactions that overlap wait for one durable write after their commits (group commit).
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicRandomForTests } from '@backchannel/core';
import { cachingStatements, openSqliteStore, SqliteStationStore } from '../src/store/sqlite-store.js';
import type { StationStore } from '../src/store/store.js';
import { tempDir } from './fixtures/parties.js';

const random = deterministicRandomForTests('store-durability');

async function synchronousOf(s: StationStore): Promise<number> {
  // The store handed to a transaction's callback is a SqliteStationStore on that transaction.
  if (!(s instanceof SqliteStationStore)) throw new Error('not the SQLite store');
  const r = await sql<{ synchronous: number }>`pragma synchronous`.execute(s.kysely);
  return r.rows[0]!.synchronous;
}

describe('prepared statements, reused', () => {
  it('hands back the statement prepared for the same SQL, and drops the least recently used beyond its bound', () => {
    const raw = new BetterSqlite3(':memory:');
    const db = cachingStatements(raw, 2);
    try {
      const a = db.prepare('select 1 as x');
      expect(db.prepare('select 1 as x')).toBe(a);
      const b = db.prepare('select 2 as x');
      expect(b).not.toBe(a);
      db.prepare('select 1 as x'); // a is now the most recent
      db.prepare('select 3 as x'); // evicts b
      expect(db.prepare('select 1 as x')).toBe(a);
      const b2 = db.prepare('select 2 as x');
      expect(b2).not.toBe(b);
      expect(b2.all([])).toEqual([{ x: 2 }]);
      expect(a.all([])).toEqual([{ x: 1 }]);
    } finally {
      db.close();
    }
    expect(raw.open).toBe(false);
  });
});

describe('durability of commits', () => {
  const tmp = tempDir('bc-station-durability-');
  const path = join(tmp.dir, 'station.db');
  let store: SqliteStationStore;

  beforeAll(async () => {
    store = await openSqliteStore({ path, storageKey: random(32), random });
  });
  afterAll(async () => {
    await store.close();
    tmp.remove();
  });

  const other = <T>(f: (db: BetterSqlite3.Database) => T): T => {
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      return f(db);
    } finally {
      db.close();
    }
  };
  const settingSeen = (key: string): string | undefined =>
    other((db) => (db.prepare('select value from settings where key = ?').get(key) as { value: string } | undefined)?.value);

  it('a transaction alone is durable on its own: it runs at synchronous=FULL', async () => {
    expect(await synchronousOf(store)).toBe(2);
    const inside = await store.transaction(async (tx) => {
      await tx.setSetting('alone', '1');
      return synchronousOf(tx);
    });
    expect(inside).toBe(2);
    expect(settingSeen('alone')).toBe('1');
  });

  it('{ durable: false } commits at synchronous=NORMAL, visible at once, and leaves the connection at FULL', async () => {
    const inside = await store.transaction(async (tx) => {
      await tx.setSetting('deferred', '1');
      return synchronousOf(tx);
    }, { durable: false });
    expect(inside).toBe(1);
    expect(settingSeen('deferred')).toBe('1');
    expect(await synchronousOf(store)).toBe(2);
    // Autocommit statements after it are durable as before.
    await store.setSetting('after', '1');
    expect(await synchronousOf(store)).toBe(2);
  });

  it('a failing { durable: false } transaction rolls back and still leaves the connection at FULL', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.setSetting('rolled-back', '1');
        throw new Error('boom');
      }, { durable: false }),
    ).rejects.toThrow('boom');
    expect(settingSeen('rolled-back')).toBeUndefined();
    expect(await synchronousOf(store)).toBe(2);
  });

  it('inside a transaction, { durable: false } joins it', async () => {
    const modes = await store.transaction(async (tx) => {
      const inner = await tx.transaction(async (t2) => {
        await t2.setSetting('joined', '1');
        return synchronousOf(t2);
      }, { durable: false });
      return [await synchronousOf(tx), inner];
    });
    expect(modes).toEqual([2, 2]);
    expect(settingSeen('joined')).toBe('1');
  });

  it('overlapping durable transactions share a durable write made after each of their commits', async () => {
    const before = settingSeen('store_sync');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store
          .transaction(async (tx) => {
            await tx.setSetting(`group-${i}`, String(i));
            return synchronousOf(tx);
          })
          .then((mode) => ({ mode, syncAfter: settingSeen('store_sync') })),
      ),
    );
    // The first commits alone at FULL; those that came while it ran commit without an fsync...
    expect(results[0]!.mode).toBe(2);
    const grouped = results.filter((r) => r.mode === 1);
    expect(grouped.length).toBeGreaterThan(0);
    // ...and return only once a durable write followed them: the sync setting has moved on.
    for (const g of grouped) {
      expect(g.syncAfter).toBeDefined();
      expect(g.syncAfter).not.toBe(before);
    }
    for (let i = 0; i < 6; i++) expect(settingSeen(`group-${i}`)).toBe(String(i));
    expect(await synchronousOf(store)).toBe(2);
  });

  it('a store in memory ignores the option (nothing there is durable anyway)', async () => {
    const mem = await openSqliteStore({ path: ':memory:', storageKey: random(32), random });
    try {
      await mem.transaction((tx) => tx.setSetting('m', '1'), { durable: false });
      expect(await mem.getSetting('m')).toBe('1');
    } finally {
      await mem.close();
    }
  });
});
