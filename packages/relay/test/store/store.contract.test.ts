/**
 * The storage contract: every behaviour the relay relies on, run against SQLite and
 * PostgreSQL alike (STYLE.md §8; kysely's test-setup runs every test on every dialect).
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { appendLeaves, EMPTY_FRONTIER, hashLeaf, rootOf, type Frontier } from '@backchannel/core';
import pg from 'pg';
import { sql, type Kysely, type Transaction } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyRelayStore } from '../../src/store/kysely-store.js';
import { checkSqliteDurability } from '../../src/store/durability.js';
import { migrateStoreDown, openStore } from '../../src/store/open-store.js';
import type { CommitBatch, NewEnvelope } from '../../src/store/relay-store.js';
import type { RelayDatabase } from '../../src/store/schema.js';
import { backends, pgAdminUrl, sqliteDb, testDb, type TestDb } from '../helpers/databases.js';

const TABLES = ['parties', 'envelopes', 'equivocations', 'tombstones', 'leaves', 'nodes', 'checkpoints', 'desks', 'desk_items', 'desk_pending', 'delivery_records', 'request_nonces'];

async function wipe(store: KyselyRelayStore): Promise<void> {
  const k = store.db;
  for (const t of TABLES) await sql`DELETE FROM ${sql.table(t)}`.execute(k);
}

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const T = 1_780_000_000_000;

describe.each(backends())('storage contract on %s', (backend) => {
  let db: TestDb;
  let store: KyselyRelayStore;
  let frontier: Frontier;

  // One database per backend; every test starts from empty tables (creating a PostgreSQL
  // database per test would cost a second each).
  beforeAll(async () => {
    db = await testDb(backend);
    store = await openStore(db.url);
  });
  beforeEach(async () => {
    await wipe(store);
    frontier = EMPTY_FRONTIER;
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  /** A batch appending `n` leaves (one envelope row per entry of `envelopes`), with its checkpoint. */
  function batch(envelopes: NewEnvelope[], extraLeaves = 0): CommitBatch {
    const leaves = Array.from({ length: envelopes.length + extraLeaves }, (_, i) => ({ index: frontier.size + i, leaf: rnd(32) }));
    const a = appendLeaves(frontier, leaves.map((l) => hashLeaf(l.leaf)));
    frontier = a.frontier;
    return { envelopes, deliveries: [], equivocations: [], leaves, nodes: a.completed, checkpoint: { size: a.frontier.size, root: rootOf(a.frontier), note: `cp ${a.frontier.size}\n`, signedAt: T } };
  }

  let next = 0;
  function envelope(p: { from?: string; to?: string; prec?: number; station?: Uint8Array; received?: number } = {}): NewEnvelope {
    return {
      index: frontier.size + next++,
      from: p.from ?? 'us',
      id: rnd(16),
      digest: rnd(32),
      bytes: rnd(4096),
      to: p.to ?? 'ir',
      prec: p.prec ?? 3,
      created: T,
      size: 4096,
      token: rnd(150),
      station: p.station ?? rnd(32),
      received: p.received ?? T,
      salt: rnd(32),
      receipt: `receipt ${next}`,
    };
  }

  /** Commits envelopes, indexes assigned in order from the current size. */
  async function commit(...envs: NewEnvelope[]): Promise<NewEnvelope[]> {
    next = 0;
    envs.forEach((e, i) => (e.index = frontier.size + i));
    await store.commitBatch(batch(envs));
    return envs;
  }

  it('keeps the mandate: put, get, list, update in place', async () => {
    const p = { party: 'us', root: rnd(32), bundle: rnd(500), seq: 1, bundleHash: rnd(32), allow: ['ir'], statements: true, updated: T };
    await store.putParty(p);
    await store.putParty({ ...p, party: 'ir', allow: undefined, statements: false });
    expect(await store.getParty('us')).toEqual(p);
    await store.putParty({ ...p, seq: 2 });
    expect((await store.getParty('us'))?.seq).toBe(2);
    expect((await store.listParties()).map((x) => x.party)).toEqual(['ir', 'us']);
    expect(await store.getParty('zz')).toBeUndefined();
  });

  it('commits a batch atomically: leaves, nodes, checkpoint, envelopes', async () => {
    const [e] = await commit(envelope());
    await store.commitBatch(batch([], 6));
    expect(await store.logSize()).toBe(7);
    const cp = await store.latestCheckpoint();
    expect(cp?.size).toBe(7);
    expect(cp?.root).toEqual(rootOf(frontier));
    expect((await store.getCheckpoint(1))?.size).toBe(1);
    expect(await store.getLeaves(0, 100)).toHaveLength(7);
    expect(await store.getNodes([{ level: 2, index: 0 }, { level: 0, index: 6 }])).toHaveLength(2);
    await expect(store.getNodes([{ level: 3, index: 0 }])).rejects.toMatchObject({ code: 'store_inconsistent' });
    expect(await store.getEnvelope(e!.index)).toEqual(e);

    // A batch that fails (a leaf index taken) leaves nothing behind.
    const before = frontier;
    const bad = batch([envelope()]);
    bad.leaves[0]!.index = 0;
    bad.envelopes[0]!.index = 7;
    await expect(store.commitBatch(bad)).rejects.toMatchObject({ code: 'unavailable' });
    frontier = before;
    expect(await store.logSize()).toBe(7);
    expect(await store.getEnvelope(7)).toBeUndefined();
    expect((await store.latestCheckpoint())?.size).toBe(7);
  });

  it('refuses a second envelope under one (from, id) and keeps equivocations as evidence', async () => {
    const [e] = await commit(envelope());
    const twin = { ...envelope(), id: e!.id };
    if (store.commitRefusesKnown) {
      // Refused whole as known, writing nothing (the log manager then asks findKnown and builds the batch again).
      next = 0;
      twin.index = frontier.size;
      expect(await store.commitBatch(batch([twin]))).toBe('known');
      expect(await store.logSize()).toBe(1);
    } else {
      await expect(commit(twin)).rejects.toMatchObject({ code: 'unavailable' });
    }
    frontier = EMPTY_FRONTIER;
    frontier = appendLeaves(EMPTY_FRONTIER, [hashLeaf(rnd(32))]).frontier; // size back to 1 for the next batch
    const evidence = { from: 'us', id: e!.id, digest: rnd(32), bytes: rnd(4096), token: rnd(100), station: rnd(32), received: T };
    await store.commitBatch({ envelopes: [], deliveries: [], equivocations: [evidence, evidence], leaves: [], nodes: [], checkpoint: undefined });
    expect(await store.listEquivocations({ from: 'us', id: e!.id })).toEqual([evidence]);
  });

  it('finds known ids, and remembers deleted ones as tombstones', async () => {
    const [a, b] = await commit(envelope(), envelope({ from: 'ir', to: 'us' }));
    const known = await store.findKnown([{ from: 'us', id: a!.id }, { from: 'ir', id: b!.id }, { from: 'us', id: b!.id }]);
    expect(known.map((k) => [k.from, k.index, k.deleted])).toEqual(expect.arrayContaining([['us', a!.index, false], ['ir', b!.index, false]]));
    expect(known).toHaveLength(2);
    await store.deleteEnvelopes([a!.index], T + 5);
    expect(await store.getEnvelope(a!.index)).toBeUndefined();
    const after = await store.findKnown([{ from: 'us', id: a!.id }]);
    expect(after).toEqual([{ from: 'us', id: a!.id, index: a!.index, digest: a!.digest, receipt: a!.receipt, deleted: true }]);
    expect(await store.pruneTombstones(T + 5)).toBe(0);
    expect(await store.pruneTombstones(T + 6)).toBe(1);
    expect(await store.findKnown([{ from: 'us', id: a!.id }])).toEqual([]);
  });

  // Only PostgreSQL's commit refuses what the store knows (commitRefusesKnown); SQLite is asked
  // first, so on SQLite there is no such test (rather than a skipped one).
  if (backend === 'postgres') it('refuses, whole, a commit holding what it knows: a held id, a tombstoned id, a recorded copy', async () => {
    expect(store.commitRefusesKnown).toBe(true);
    const desk = rnd(32);
    const [held, gone] = await commit(envelope(), envelope());
    await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 10, now: T + 1 });
    const recorded = batch([], 1);
    recorded.deliveries = [{ index: recorded.leaves[0]!.index, envIndex: held!.index, from: 'us', to: 'ir', desk, record: rnd(300), salt: rnd(32), receipt: 'r', created: T + 2 }];
    expect(await store.commitBatch(recorded)).toEqual({ assigned: [] });
    await store.deleteEnvelopes([gone!.index], T + 3);
    const size = await store.logSize();
    const start = frontier;
    // Each batch adds a new envelope beside the one thing the store knows; none of it lands.
    const attempts = [
      (b: CommitBatch) => b.envelopes.push({ ...envelope(), index: b.envelopes[0]!.index + 1, id: held!.id }),
      (b: CommitBatch) => b.envelopes.push({ ...envelope(), index: b.envelopes[0]!.index + 1, id: gone!.id }),
      (b: CommitBatch) => b.deliveries.push({ ...recorded.deliveries[0]!, index: b.envelopes[0]!.index + 1, record: rnd(300) }),
    ];
    for (const add of attempts) {
      frontier = start;
      next = 0;
      const fresh = envelope();
      const b = batch([fresh], 1);
      add(b);
      expect(await store.commitBatch(b)).toBe('known');
      expect(await store.logSize()).toBe(size);
      expect(await store.findKnown([{ from: 'us', id: fresh.id }])).toEqual([]);
    }
    // What is new commits.
    frontier = start;
    next = 0;
    expect(await store.commitBatch(batch([envelope()]))).toEqual({ assigned: [] });
    expect(await store.logSize()).toBe(size + 1);
  });

  it('hands envelopes to desks: FLASH first, per-desk sequence, cursor confirms, unconfirmed items come again', async () => {
    const desk = rnd(32);
    const sender = rnd(32);
    const envs = await commit(envelope({ prec: 3, station: sender }), envelope({ prec: 0, station: sender }), envelope({ prec: 2, station: sender }), envelope({ to: 'zz' }));
    const f1 = await store.fetchForDesk({ desk, party: 'ir', after: 0, limit: 2, now: T + 1 });
    expect(f1.items.map((i) => [i.seq, i.envelope.prec])).toEqual([[1, 0], [2, 2]]);
    expect(f1.more).toBe(true);
    expect(f1.items[0]!.envelope.bytes).toEqual(envs[1]!.bytes);
    // Lost response: from 0 again, the same items under the same sequence numbers, then the rest.
    const f2 = await store.fetchForDesk({ desk, party: 'ir', after: 0, limit: 10, now: T + 2 });
    expect(f2.items.map((i) => [i.seq, i.envelope.prec])).toEqual([[1, 0], [2, 2], [3, 3]]);
    expect(f2.more).toBe(false);
    // Confirm up to 3: nothing comes again.
    const f3 = await store.fetchForDesk({ desk, party: 'ir', after: 3, limit: 10, now: T + 3 });
    expect(f3.items).toEqual([]);
    // A new FLASH envelope: the next sequence number.
    const [late] = await commit(envelope({ prec: 0, station: sender }));
    const f4 = await store.fetchForDesk({ desk, party: 'ir', after: 3, limit: 10, now: T + 4 });
    expect(f4.items.map((i) => [i.seq, i.envelope.index])).toEqual([[4, late!.index]]);
    // Push mode assigns only what was never handed to the desk.
    const [pushed] = await commit(envelope({ prec: 1, station: sender }));
    const p1 = await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 10, now: T + 5 });
    expect(p1.items.map((i) => [i.seq, i.envelope.index])).toEqual([[5, pushed!.index]]);
    expect((await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 10, now: T + 6 })).items).toEqual([]);
    // The sender's other desk sees what its colleague sent; the sending desk does not.
    expect((await store.fetchForDesk({ desk: rnd(32), party: 'us', after: 0, limit: 100, now: T })).items).toHaveLength(6);
    // (only the envelope to 'zz', sent from another station)
    expect((await store.fetchForDesk({ desk: sender, party: 'us', after: 0, limit: 100, now: T })).items.map((i) => i.envelope.to)).toEqual(['zz']);
    // Confirmation is visible to retention.
    const cands = await store.listRetentionCandidates(T + 1, 100);
    const confirmed = cands.find((c) => c.envelope.index === envs[1]!.index)!;
    expect(confirmed.confirmedBy).toEqual([desk]);
    expect(cands.find((c) => c.envelope.index === late!.index)?.confirmedBy ?? []).toEqual([]);
  });

  it('records delivery records per copy, pages them for the sender, and confirms the copy', async () => {
    const desk = rnd(32);
    const [e] = await commit(envelope());
    const f = await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 10, now: T + 1 });
    expect(f.items).toHaveLength(1);
    const copies = await store.findDeliveredCopies(desk, [{ from: 'us', id: e!.id }, { from: 'us', id: rnd(16) }]);
    expect(copies).toEqual([{ desk, seq: 1, assigned: T + 1, index: e!.index, from: 'us', id: e!.id, to: 'ir', prec: 3, digest: e!.digest, received: T }]);
    expect(await store.findDeliveredCopies(rnd(32), [{ from: 'us', id: e!.id }])).toEqual([]);
    const d = { index: 0, envIndex: e!.index, from: 'us', to: 'ir', desk, record: rnd(300), salt: rnd(32), receipt: 'delivery receipt', created: T + 2 };
    const withDelivery = batch([], 1);
    withDelivery.deliveries = [{ ...d, index: withDelivery.leaves[0]!.index }];
    await store.commitBatch(withDelivery);
    const found = await store.findDeliveries([{ envIndex: e!.index, desk }]);
    expect(found).toEqual(withDelivery.deliveries);
    const page = await store.listDeliveries('us', 0, 10);
    expect(page).toEqual({ items: withDelivery.deliveries, more: false });
    expect((await store.listDeliveries('ir', 0, 10)).items).toEqual([]);
    expect((await store.listDeliveries('us', withDelivery.leaves[0]!.index, 10)).items).toEqual([]);
    const cands = await store.listRetentionCandidates(T + 1, 10);
    expect(cands[0]?.confirmedBy).toEqual([desk]);
  });

  it('finds the copies a desk was handed among many keys of several senders, and only those', async () => {
    const desk = rnd(32);
    const other = rnd(32);
    const envs = await commit(...Array.from({ length: 30 }, (_, i) => envelope({ from: i % 3 === 0 ? 'om' : 'us' })));
    // The desk is handed the first 20, another desk of the party all 30.
    await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 20, now: T + 1 });
    await store.fetchForDesk({ desk: other, party: 'ir', after: undefined, limit: 30, now: T + 1 });
    const asked = [...envs.map((e) => ({ from: e.from, id: e.id })), { from: 'us', id: rnd(16) }, { from: 'nobody', id: envs[0]!.id }];
    const copies = await store.findDeliveredCopies(desk, asked);
    expect(copies.map((c) => c.index).sort((a, b) => a - b)).toEqual(envs.slice(0, 20).map((e) => e.index));
    for (const c of copies) {
      expect(c.desk).toEqual(desk);
      const e = envs.find((x) => x.index === c.index)!;
      expect({ from: c.from, id: c.id, digest: c.digest }).toEqual({ from: e.from, id: e.id, digest: e.digest });
    }
    expect(await store.findDeliveredCopies(other, asked)).toHaveLength(30);
  });

  it('remembers request nonces until they expire', async () => {
    const n = rnd(48);
    expect(await store.useNonce(n, T + 10)).toBe(true);
    expect(await store.useNonce(n, T + 10)).toBe(false);
    expect(await store.pruneNonces(T + 10)).toBe(0);
    expect(await store.pruneNonces(T + 11)).toBe(1);
    expect(await store.useNonce(n, T + 20)).toBe(true);
  });

  it('answers a ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe.each(backends())('migrations on %s', (backend) => {
  it('go up and down, and up again', async () => {
    const db = await testDb(backend);
    try {
      const s = await openStore(db.url);
      await s.putParty({ party: 'us', root: rnd(32), bundle: rnd(10), seq: 1, bundleHash: rnd(32), allow: undefined, statements: false, updated: T });
      await s.close();
      await migrateStoreDown(db.url);
      expect(await tableNames(db)).toEqual([]);
      const again = await openStore(db.url);
      expect(await again.listParties()).toEqual([]);
      await again.close();
      expect(await tableNames(db)).toEqual(
        ['checkpoints', 'cosignatures', 'delivery_records', 'desk_items', 'desk_pending', 'desks', 'envelopes', 'equivocations', 'leaves', 'nodes', 'parties', 'request_nonces', 'statements', 'tombstones', 'witness_logs'],
      );
    } finally {
      await db.drop();
    }
  });
});

async function tableNames(db: TestDb): Promise<string[]> {
  if (db.dir !== undefined) {
    const d = new Database(db.url.slice('sqlite:'.length));
    try {
      const rows = d.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%' ORDER BY name").all() as { name: string }[];
      return rows.map((r) => r.name);
    } finally {
      d.close();
    }
  }
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const r = await c.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%' ORDER BY table_name");
    return r.rows.map((x) => x.table_name);
  } finally {
    await c.end();
  }
}

describe('durability checks', () => {
  it('refuse SQLite without WAL or with synchronous below FULL', async () => {
    await expect(openStore('sqlite::memory:')).rejects.toMatchObject({ code: 'storage_not_durable' });
    const db = sqliteDb();
    const d = new Database(db.url.slice('sqlite:'.length));
    d.pragma('journal_mode = WAL');
    d.pragma('synchronous = NORMAL');
    expect(() => {
      checkSqliteDurability(d);
    }).toThrow(expect.objectContaining({ code: 'storage_not_durable' }));
    d.pragma('synchronous = FULL');
    checkSqliteDurability(d);
    d.close();
    await db.drop();
  });

  it('SQLite: storing a nonce leaves the connection durable, for whatever waited meanwhile and after a failure', async () => {
    const db = sqliteDb();
    const store = await openStore(db.url);
    const level = async (k: Kysely<RelayDatabase> | Transaction<RelayDatabase>): Promise<number> =>
      (await sql<{ synchronous: number }>`pragma synchronous`.execute(k)).rows[0]!.synchronous;
    try {
      expect(await level(store.db)).toBe(2);
      expect(await store.useNonce(rnd(48), T + 10)).toBe(true);
      const n = rnd(48);
      // A transaction asked for while the nonce is stored (at synchronous=NORMAL) runs after it, at FULL.
      const [fresh, inside] = await Promise.all([store.useNonce(n, T + 10), store.db.transaction().execute((trx) => level(trx))]);
      expect(fresh).toBe(true);
      expect(inside).toBe(2);
      expect(await store.useNonce(n, T + 10)).toBe(false);
      expect(await level(store.db)).toBe(2);
      // A nonce that fails to store still gives the connection back at FULL.
      await expect(store.useNonce({} as Uint8Array, T + 10)).rejects.toThrow();
      expect(await level(store.db)).toBe(2);
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it.skipIf(pgAdminUrl === null)('refuse PostgreSQL with synchronous_commit off', async () => {
    const db = await testDb('postgres');
    try {
      const u = new URL(db.url);
      u.searchParams.set('options', '-c synchronous_commit=off');
      await expect(openStore(u.toString())).rejects.toMatchObject({ code: 'storage_not_durable' });
    } finally {
      await db.drop();
    }
  });

  it('refuse a database URL of another kind', async () => {
    await expect(openStore('mysql://x')).rejects.toMatchObject({ code: 'config_invalid' });
    await expect(openStore('sqlite:')).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
