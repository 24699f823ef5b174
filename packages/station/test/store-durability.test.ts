/**
 * What the store does to spend fewer fsyncs and statement preparations without losing what
 * must be durable: prepared statements reused by SQL text; a transaction that is not durable
 * on its own commits with synchronous=NORMAL and leaves the connection at FULL; a durable one
 * commits the same way and waits for an fsync of the write-ahead log begun after its commit,
 * shared with the transactions that overlap it (group commit).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

  /** Where every FileHandle's `sync` lives, so a test can watch or fail the store's fsyncs. */
  async function fileHandlePrototype(): Promise<{ sync: (this: FileHandle) => Promise<void> }> {
    const probe = await open(path, 'r');
    await probe.close();
    return Object.getPrototypeOf(probe) as { sync: (this: FileHandle) => Promise<void> };
  }

  /** Records every fsync of a file handle, start and end, in order with what the test records. */
  async function recordingSyncs<T>(events: string[], run: () => Promise<T>): Promise<T> {
    const proto = await fileHandlePrototype();
    const realSync = proto.sync;
    const spy = vi.spyOn(proto, 'sync').mockImplementation(async function (this: FileHandle) {
      const n = events.filter((e) => e.startsWith('sync-start')).length;
      events.push(`sync-start ${n}`);
      await realSync.call(this);
      events.push(`sync-end ${n}`);
    });
    try {
      return await run();
    } finally {
      spy.mockRestore();
    }
  }

  /** True when an fsync began after `after` and ended before `before` (indexes into events). */
  const syncedBetween = (events: readonly string[], after: number, before: number): boolean =>
    events.some((e, at) => e.startsWith('sync-start') && at > after && events.indexOf(e.replace('start', 'end')) < before);

  it('a durable transaction alone returns only after an fsync of the write-ahead log that began after its commit', async () => {
    const events: string[] = [];
    const mode = await recordingSyncs(events, async () => {
      const m = await store.transaction(async (tx) => {
        await tx.setSetting('alone', '1');
        const inside = await synchronousOf(tx);
        events.push('body');
        return inside;
      });
      events.push('done');
      return m;
    });
    // The commit itself does not fsync (the event loop never waits on the disk)...
    expect(mode).toBe(1);
    // ...the fsync of the log, on the thread pool, does, and the transaction waited for it.
    expect(syncedBetween(events, events.indexOf('body'), events.indexOf('done')), events.join(', ')).toBe(true);
    expect(settingSeen('alone')).toBe('1');
    expect(await synchronousOf(store)).toBe(2);
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
    // One transaction, one commit: the inner one runs in the outer (durable) one.
    expect(modes).toEqual([1, 1]);
    expect(settingSeen('joined')).toBe('1');
  });

  it('a batch runs every call made in its async context in one transaction, which other connections see only once it commits', async () => {
    const inside = await store.batch(async () => {
      await store.setSetting('batch-a', '1');
      await store.transaction((tx) => tx.setSetting('batch-b', '1'), { durable: false });
      await Promise.resolve().then(() => store.setSetting('batch-c', '1'));
      return [settingSeen('batch-a'), settingSeen('batch-b'), await store.getSetting('batch-a'), await synchronousOf(store)];
    });
    expect(inside).toEqual([undefined, undefined, '1', 1]);
    expect(['batch-a', 'batch-b', 'batch-c'].map(settingSeen)).toEqual(['1', '1', '1']);
    expect(await synchronousOf(store)).toBe(2);
  });

  it('a batch that fails rolls back everything written in it', async () => {
    await expect(
      store.batch(async () => {
        await store.setSetting('batch-x', '1');
        await store.transaction((tx) => tx.setSetting('batch-y', '1'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect([settingSeen('batch-x'), settingSeen('batch-y')]).toEqual([undefined, undefined]);
    expect(await store.getSetting('batch-x')).toBeUndefined();
    expect(await synchronousOf(store)).toBe(2);
  });

  it('calls from outside a batch wait for its commit, and work it leaves behind runs on the store as usual', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let resume!: () => void;
    const later = new Promise<void>((r) => { resume = r; });
    let leftBehind: Promise<string | undefined> | undefined;
    const batch = store.batch(async () => {
      await store.setSetting('batch-wait', 'inside');
      leftBehind = later.then(() => store.getSetting('batch-wait'));
      await gate;
    });
    const outside = store.getSetting('batch-wait').then((v) => { order.push(`outside read ${v}`); });
    await new Promise((r) => setTimeout(r, 20));
    order.push('batch released');
    release();
    await batch;
    await outside;
    expect(order).toEqual(['batch released', 'outside read inside']);
    resume();
    expect(await leftBehind).toBe('inside');
  });

  it('a batch commits durably only when a transaction in it asked to be durable', async () => {
    const durable: string[] = [];
    await recordingSyncs(durable, async () => {
      await store.batch(async () => {
        await store.transaction((tx) => tx.setSetting('batch-durable', '1'));
        durable.push('body');
      });
      durable.push('done');
    });
    expect(syncedBetween(durable, durable.indexOf('body'), durable.indexOf('done')), durable.join(', ')).toBe(true);
    const deferred: string[] = [];
    await recordingSyncs(deferred, () => store.batch(() => store.transaction((tx) => tx.setSetting('batch-deferred', '1'), { durable: false })));
    expect(deferred).toEqual([]);
    expect(settingSeen('batch-deferred')).toBe('1');
  });

  it('overlapping durable transactions each return only after an fsync of the write-ahead log that began after their commit, and share them', async () => {
    const events: string[] = [];
    const modes = await recordingSyncs(events, () =>
      Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store
            .transaction(async (tx) => {
              await tx.setSetting(`group-${i}`, String(i));
              const mode = await synchronousOf(tx);
              events.push(`body ${i}`);
              return mode;
            })
            .then((mode) => {
              events.push(`done ${i}`);
              return mode;
            }),
        ),
      ),
    );
    expect(modes).toEqual([1, 1, 1, 1, 1, 1]);
    for (let i = 0; i < 6; i++) {
      expect(syncedBetween(events, events.indexOf(`body ${i}`), events.indexOf(`done ${i}`)), events.join(', ')).toBe(true);
      expect(settingSeen(`group-${i}`)).toBe(String(i));
    }
    // Fewer fsyncs than transactions: commits made while one ran share the next.
    expect(events.filter((e) => e.startsWith('sync-start')).length).toBeLessThan(6);
    expect(await synchronousOf(store)).toBe(2);
  });

  it('a durable transaction whose log cannot be synced fails with store_failed, and the next one syncs again', async () => {
    const proto = await fileHandlePrototype();
    const spy = vi.spyOn(proto, 'sync').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    try {
      const results = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => store.transaction((tx) => tx.setSetting(`eio-${i}`, '1'))));
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed.length).toBeGreaterThan(0);
      for (const f of failed) expect(f.reason).toMatchObject({ code: 'store_failed' });
      const again = await Promise.all(Array.from({ length: 3 }, (_, i) => store.transaction((tx) => tx.setSetting(`after-eio-${i}`, '1'))));
      expect(again).toHaveLength(3);
    } finally {
      spy.mockRestore();
    }
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
