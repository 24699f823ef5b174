/**
 * The SQLite group commit on a writer thread (sqlite-writer.ts): what the main connection sees
 * when a commit resolves, what survives a restart, what a dead or failing writer leaves behind,
 * and that the writer writes exactly the rows the in-thread path writes.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendLeaves, EMPTY_FRONTIER, hashLeaf, rootOf, type Frontier } from '@backchannel/core';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { statusForCode, storageFailureCode } from '../../src/errors.js';
import { storageError, type KyselyRelayStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open-store.js';
import type { CommitBatch, NewEnvelope } from '../../src/store/relay-store.js';
import { SqliteWriter } from '../../src/store/sqlite-writer.js';
import { sqliteDb, type TestDb } from '../helpers/databases.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const T = 1_780_000_000_000;

/** Builds consecutive batches over one log, the way the log manager does. */
class Batches {
  frontier: Frontier = EMPTY_FRONTIER;

  envelope(index: number, p: { to?: string; bytes?: number } = {}): NewEnvelope {
    return {
      index,
      from: 'us',
      id: rnd(16),
      digest: rnd(32),
      bytes: rnd(p.bytes ?? 2048),
      to: p.to ?? 'ir',
      prec: 3,
      created: T,
      size: p.bytes ?? 2048,
      token: rnd(150),
      station: rnd(32),
      received: T,
      salt: rnd(32),
      receipt: `receipt ${index}`,
    };
  }

  /** `n` envelopes at the next indexes, their leaves, nodes and checkpoint. */
  next(n: number, p: { to?: string; bytes?: number } = {}): CommitBatch {
    const start = this.frontier.size;
    const envelopes = Array.from({ length: n }, (_, i) => this.envelope(start + i, p));
    const leaves = envelopes.map((e) => ({ index: e.index, leaf: rnd(40) }));
    const a = appendLeaves(this.frontier, leaves.map((l) => hashLeaf(l.leaf)));
    this.frontier = a.frontier;
    return { envelopes, deliveries: [], equivocations: [], leaves, nodes: a.completed, checkpoint: { size: a.frontier.size, root: rootOf(a.frontier), note: `cp ${a.frontier.size}\n`, signedAt: T } };
  }
}

const TABLES = ['envelopes', 'equivocations', 'leaves', 'nodes', 'checkpoints', 'desks', 'desk_items', 'delivery_records'];

async function dump(store: KyselyRelayStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) out[t] = (await sql`SELECT * FROM ${sql.table(t)} ORDER BY 1, 2`.execute(store.db)).rows;
  return out;
}

async function withWriterEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.BACKCHANNEL_SQLITE_WRITER;
  if (value === undefined) delete process.env.BACKCHANNEL_SQLITE_WRITER;
  else process.env.BACKCHANNEL_SQLITE_WRITER = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.BACKCHANNEL_SQLITE_WRITER;
    else process.env.BACKCHANNEL_SQLITE_WRITER = before;
  }
}

describe('the SQLite writer thread', () => {
  const open: { db: TestDb; stores: KyselyRelayStore[] }[] = [];

  async function fresh(env?: string): Promise<{ db: TestDb; store: KyselyRelayStore }> {
    const db = sqliteDb();
    const store = await withWriterEnv(env, () => openStore(db.url));
    open.push({ db, stores: [store] });
    return { db, store };
  }

  afterEach(async () => {
    for (const o of open.splice(0)) {
      for (const s of o.stores) await s.close();
      await o.db.drop();
    }
  });

  it('is used by default, and not with BACKCHANNEL_SQLITE_WRITER=0', async () => {
    expect((await fresh()).store.sqliteWriter).toBeInstanceOf(SqliteWriter);
    expect((await fresh('0')).store.sqliteWriter).toBeUndefined();
  });

  it('commits a batch that the main connection sees as soon as commitBatch resolves', async () => {
    const { store } = await fresh();
    const b = new Batches();
    for (let i = 0; i < 20; i++) {
      const batch = b.next(1 + (i % 5));
      await store.commitBatch(batch);
      // No waiting, no retry: the read right after the commit sees all of it.
      expect(await store.logSize()).toBe(b.frontier.size);
      expect((await store.latestCheckpoint())?.root).toEqual(rootOf(b.frontier));
      const last = batch.envelopes.at(-1)!;
      expect(await store.getEnvelope(last.index)).toEqual(last);
    }
  });

  it('keeps every batch across close and reopen, including one still in flight when close was called', async () => {
    const { db, store } = await fresh();
    const b = new Batches();
    const batches = [b.next(3), b.next(1), b.next(7)];
    for (const batch of batches.slice(0, 2)) await store.commitBatch(batch);
    const inFlight = store.commitBatch(batches[2]!);
    await Promise.all([inFlight, store.close()]);
    open[0]!.stores = [];

    const again = await openStore(db.url);
    open[0]!.stores.push(again);
    expect(await again.logSize()).toBe(11);
    expect((await again.latestCheckpoint())?.size).toBe(11);
    for (const e of batches.flatMap((x) => x.envelopes)) expect(await again.getEnvelope(e.index)).toEqual(e);
    expect(await again.getLeaves(0, 11)).toEqual(batches.flatMap((x) => x.leaves.map((l) => l.leaf)));
  });

  for (const where of ['now', 'inside'] as const) {
    it(`fails the batch in flight with storage_unavailable when the writer dies (${where === 'now' ? 'before it starts' : 'before its COMMIT'}), and recovers with a new writer`, async () => {
      const { store } = await fresh();
      const b = new Batches();
      await store.commitBatch(b.next(2));
      const before = b.frontier;
      const lost = b.next(3);
      store.sqliteWriter!.crashForTests(where);
      const err: unknown = await store.commitBatch(lost).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'storage_unavailable' });
      expect(statusForCode('storage_unavailable')).toBe(503);
      // Nothing of it is in the store.
      expect(await store.logSize()).toBe(2);
      expect((await store.latestCheckpoint())?.size).toBe(2);
      expect(await store.getEnvelope(lost.envelopes[0]!.index)).toBeUndefined();

      // The same indexes again, as after the log manager's reload: a fresh writer commits them.
      b.frontier = before;
      const retry = b.next(3);
      await store.commitBatch(retry);
      expect(await store.logSize()).toBe(5);
      expect(await store.getEnvelope(4)).toEqual(retry.envelopes[2]);
    });
  }

  it('rolls back a batch that breaks a constraint (a leaf index taken) and reports it as before', async () => {
    const { store } = await fresh();
    const b = new Batches();
    await store.commitBatch(b.next(2));
    const before = b.frontier;
    const bad = b.next(2);
    bad.leaves[1]!.index = 0;
    const err: unknown = await store.commitBatch(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    // The in-thread path's answer: a constraint is 503 `unavailable`, not a storage failure.
    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as Error).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    // The envelopes came first in the transaction: they are gone with it.
    expect(await store.getEnvelope(bad.envelopes[0]!.index)).toBeUndefined();
    expect(await store.logSize()).toBe(2);
    expect((await store.latestCheckpoint())?.size).toBe(2);

    b.frontier = before;
    await store.commitBatch(b.next(2));
    expect(await store.logSize()).toBe(4);
  });

  it("carries the SQLite error's code across the thread: a full database is 507 storage_full, until room returns", async () => {
    const { store } = await fresh();
    const pages = (await sql<{ page_count: number }>`PRAGMA page_count`.execute(store.db)).rows[0]!.page_count;
    // The writer's connection may not grow the file: the first insert that needs a page fails with SQLITE_FULL.
    await store.sqliteWriter!.pragmaForTests(`max_page_count = ${pages}`);
    const b = new Batches();
    const full = b.next(4, { bytes: 64 * 1024 });
    const err: unknown = await store.commitBatch(full).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'storage_full' });
    const cause = (err as Error).cause;
    expect(cause).toMatchObject({ code: 'SQLITE_FULL' });
    expect(storageFailureCode(cause)).toBe('storage_full');
    expect(storageError(cause).code).toBe('storage_full');
    expect(await store.logSize()).toBe(0);

    await store.sqliteWriter!.pragmaForTests(`max_page_count = ${pages + 10_000}`);
    await store.commitBatch(full);
    expect(await store.logSize()).toBe(4);
  });

  it('shares the file with main-connection transactions that read before they write: they hold the write lock from BEGIN', async () => {
    const { store } = await fresh();
    const b = new Batches();
    await store.commitBatch(b.next(1));
    const trx = await store.db.startTransaction().execute();
    let committed = false;
    try {
      await trx.selectFrom('checkpoints').select('size').execute();
      const committing = store.commitBatch(b.next(2)).then(() => (committed = true));
      // A deferred BEGIN would let the writer commit now, and the write below would fail with
      // SQLITE_BUSY_SNAPSHOT; the writer waits instead (busy_timeout).
      await new Promise((r) => setTimeout(r, 300));
      expect(committed).toBe(false);
      await trx.insertInto('request_nonces').values({ nonce: Buffer.from(rnd(16)), expires: T }).execute();
      await trx.commit().execute();
      await committing;
    } catch (e) {
      await trx.rollback().execute().catch(() => undefined);
      throw e;
    }
    expect(committed).toBe(true);
    expect(await store.logSize()).toBe(3);
  });

  it('writes exactly the rows the in-thread path writes', async () => {
    const threaded = (await fresh()).store;
    const inThread = (await fresh('0')).store;
    expect(threaded.sqliteWriter).toBeDefined();
    expect(inThread.sqliteWriter).toBeUndefined();

    const b = new Batches();
    const desk = rnd(32);
    const first = b.next(4);
    const second = b.next(1);
    const [e0] = first.envelopes;
    // A delivery record (confirming the desk's copy) and an equivocation ride along with the second batch.
    second.leaves.push({ index: b.frontier.size, leaf: rnd(40) });
    const a = appendLeaves(b.frontier, [hashLeaf(second.leaves[1]!.leaf)]);
    b.frontier = a.frontier;
    second.nodes.push(...a.completed);
    second.checkpoint = { size: a.frontier.size, root: rootOf(a.frontier), note: `cp ${a.frontier.size}\n`, signedAt: T + 2 };
    second.deliveries.push({ index: 5, envIndex: e0!.index, from: 'us', to: 'ir', desk, record: rnd(300), salt: rnd(32), receipt: 'delivery receipt', created: T + 2 });
    second.equivocations.push({ from: e0!.from, id: e0!.id, digest: rnd(32), bytes: rnd(100), token: rnd(150), station: rnd(32), received: T + 2 });

    for (const store of [threaded, inThread]) {
      await store.commitBatch(first);
      await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 10, now: T + 1 });
      await store.commitBatch(second);
    }
    const rows = await dump(threaded);
    expect(rows.delivery_records).toHaveLength(1);
    expect(rows.equivocations).toHaveLength(1);
    expect(rows.desk_items!.filter((r) => (r as { fetched: number | null }).fetched === T + 2)).toHaveLength(1);
    expect(rows).toEqual(await dump(inThread));
  });
});

describe('closing the writer', () => {
  it('finishes in a process with nothing else to keep it alive', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bc-writer-close-'));
    try {
      const fixture = join(import.meta.dirname, '../fixtures/commit-and-close.ts');
      const r = spawnSync(process.execPath, ['--import', 'tsx', fixture, join(dir, 'relay.db')], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: 'closed\n', stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
