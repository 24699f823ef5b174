/**
 * `fetchForDesk` keeps what each desk has still to be handed in `desk_pending`, filled from
 * the envelopes committed since the desk's last fetch. Its pages are checked against a naive
 * reference computed from the plain definition (every retained envelope for the desk not yet
 * handed to it, by precedence then leaf index: transparency-dev's reference-tree habit), under
 * random interleavings of commits, fetches and retention deletions, on SQLite and PostgreSQL.
 * Commits carry desk assignments planned as the push hub plans them (DeskAssignment), on a
 * desk state that cursor fetches may have moved meanwhile: those the store makes must be what
 * a fetch would have handed, and those it refuses must change nothing.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyRelayStore } from '../../src/store/kysely-store.js';
import { relayMigrations } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/open-store.js';
import type { DeskAssignment, FetchResult, NewEnvelope } from '../../src/store/relay-store.js';
import { backends, testDb, type TestDb } from '../helpers/databases.js';

const TABLES = ['envelopes', 'tombstones', 'desks', 'desk_items', 'desk_pending'];
const T = 1_780_000_000_000;
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** The relay's desks in these tests: two of 'ir', one of 'us', and one key enrolled by both. */
const DESKS = [rnd(32), rnd(32), rnd(32), rnd(32)] as const;
const DESK_PARTY = ['ir', 'ir', 'us', 'either'] as const;
/** Sending stations: the desks above, and a station the relay never sees fetch. */
const STATIONS = [...DESKS, rnd(32)];
const PARTIES = ['us', 'ir', 'zz'] as const;

interface RefEnvelope {
  index: number;
  prec: number;
  from: string;
  to: string;
  station: number;
  size: number;
}

interface RefDesk {
  lastSeq: number;
  items: { seq: number; index: number; confirmed: boolean }[];
}

/** The plain definition, kept in memory: what a fetch must answer, computed the slow way. */
class Reference {
  readonly envelopes = new Map<number, RefEnvelope>();
  readonly desks = new Map<number, RefDesk>();

  fetch(desk: number, party: string, after: number | undefined, limit: number, maxBytes = Infinity): { items: [number, number][]; more: boolean } {
    let d = this.desks.get(desk);
    if (d === undefined) {
      d = { lastSeq: 0, items: [] };
      this.desks.set(desk, d);
    }
    const out: [number, number][] = [];
    // Items go in while their envelopes' bytes stay within maxBytes; the first always goes.
    let bytes = 0;
    const fits = (index: number): boolean => {
      const size = this.envelopes.get(index)!.size;
      if (out.length > 0 && bytes + size > maxBytes) return false;
      bytes += size;
      return true;
    };
    if (after !== undefined) {
      const cursor = Math.min(after, d.lastSeq);
      for (const it of d.items) if (it.seq <= cursor) it.confirmed = true;
      const again = d.items.filter((it) => it.seq > cursor).map((it): [number, number] => [it.seq, it.index]);
      for (const it of again.slice(0, limit)) {
        if (!fits(it[1])) break;
        out.push(it);
      }
      if (again.length > out.length) return { items: out, more: true };
    }
    const room = limit - out.length;
    const handed = new Set(d.items.map((it) => it.index));
    const pending = [...this.envelopes.values()]
      .filter((e) => !handed.has(e.index) && (e.to === party || (e.from === party && e.station !== desk)))
      .sort((a, b) => a.prec - b.prec || a.index - b.index);
    let taken = 0;
    for (const e of pending.slice(0, room)) {
      if (!fits(e.index)) break;
      d.lastSeq += 1;
      d.items.push({ seq: d.lastSeq, index: e.index, confirmed: false });
      out.push([d.lastSeq, e.index]);
      taken++;
    }
    return { items: out, more: pending.length > taken };
  }

  /** Retention: the envelope and every desk's item for it go; sequence numbers do not move. */
  delete(index: number): void {
    this.envelopes.delete(index);
    for (const d of this.desks.values()) d.items = d.items.filter((it) => it.index !== index);
  }
}

const envelopeArb = fc.record({
  prec: fc.integer({ min: 0, max: 3 }),
  from: fc.constantFrom(...PARTIES),
  to: fc.constantFrom(...PARTIES),
  station: fc.integer({ min: 0, max: STATIONS.length - 1 }),
  size: fc.integer({ min: 1, max: 200 }),
});

type Op =
  | { kind: 'commit'; envelopes: { prec: number; from: string; to: string; station: number; size: number }[]; gap: number; assign: boolean }
  | { kind: 'fetch'; desk: number; asUs: boolean; mode: 'cursor' | 'replay' | 'push'; pick: number; limit: number; maxBytes: number | null }
  | { kind: 'delete'; picks: number[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('commit' as const), envelopes: fc.array(envelopeArb, { minLength: 1, maxLength: 6 }), gap: fc.integer({ min: 0, max: 2 }), assign: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('fetch' as const),
      desk: fc.integer({ min: 0, max: DESKS.length - 1 }),
      asUs: fc.boolean(),
      mode: fc.constantFrom('cursor' as const, 'replay' as const, 'push' as const),
      pick: fc.nat(),
      limit: fc.integer({ min: 1, max: 5 }),
      maxBytes: fc.option(fc.integer({ min: 1, max: 600 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }) },
);

describe.each(backends())('desk pending on %s', (backend) => {
  let db: TestDb;
  let store: KyselyRelayStore;
  let size: number;

  beforeAll(async () => {
    db = await testDb(backend);
    store = await openStore(db.url);
  });
  beforeEach(async () => {
    await wipe();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  async function wipe(): Promise<void> {
    for (const t of TABLES) await sql`DELETE FROM ${sql.table(t)}`.execute(store.db);
    size = 0;
  }

  function envelope(p: { prec: number; from: string; to: string; station: Uint8Array; size?: number }): NewEnvelope {
    const index = size++;
    const bytes = p.size ?? 64;
    return { index, from: p.from, id: rnd(16), digest: rnd(32), bytes: rnd(bytes), to: p.to, prec: p.prec, created: T, size: bytes, token: rnd(16), station: p.station, received: T, salt: rnd(32), receipt: `receipt ${index}` };
  }

  /** Envelope rows are all a fetch reads; the log's leaves and nodes are left out. */
  async function commit(envelopes: NewEnvelope[], assignments: DeskAssignment[] = []): Promise<DeskAssignment[]> {
    const c = await store.commitBatch({ envelopes, deliveries: [], equivocations: [], leaves: [], nodes: [], checkpoint: undefined, assignments });
    if (c === 'known') throw new Error('the commit was refused as known');
    return c.assigned;
  }

  async function pendingRows(): Promise<{ desk: Uint8Array; leaf_index: number }[]> {
    return store.db.selectFrom('desk_pending').select(['desk', 'leaf_index']).execute();
  }

  const page = (r: FetchResult): { items: [number, number][]; more: boolean } => ({ items: r.items.map((it): [number, number] => [it.seq, it.envelope.index]), more: r.more });

  it('matches the plain definition under random commits, fetches and deletions', async () => {
    const assignments = { made: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 50, size: 'max' }), async (ops) => {
        await wipe();
        const ref = new Reference();
        // The push hub's view (push-hub.ts): each desk's state as its last push fetch left it
        // with nothing pending, kept through commits that do not concern the desk, and blind to
        // the desk's cursor fetches.
        const caughtUp = new Map<number, { party: string; lastSeq: number; scannedTo: number }>();
        const concerns = (e: { from: string; to: string; station: number }, desk: number, party: string): boolean => e.to === party || (e.from === party && e.station !== desk);
        for (const op of ops) {
          if (op.kind === 'commit') {
            size += op.gap; // leaves of other records (delivery records) between envelopes
            const envs = op.envelopes.map((e) => envelope({ ...e, station: STATIONS[e.station]! }));
            const scanTo = envs.at(-1)!.index;
            const planned = new Map<number, DeskAssignment>();
            for (const [desk, seen] of caughtUp) {
              const mine = envs.filter((_, i) => concerns(op.envelopes[i]!, desk, seen.party));
              if (mine.length === 0) continue;
              if (!op.assign) {
                caughtUp.delete(desk); // the hub pumps it
                continue;
              }
              mine.sort((a, b) => a.prec - b.prec || a.index - b.index);
              planned.set(desk, { desk: DESKS[desk]!, party: seen.party, lastSeq: seen.lastSeq, scannedTo: seen.scannedTo, envelopes: mine, scanTo, assigned: T });
            }
            const made = await commit(envs, [...planned.values()]);
            for (const [i, e] of envs.entries()) ref.envelopes.set(e.index, { index: e.index, ...op.envelopes[i]! });
            for (const [desk, a] of planned) {
              if (made.includes(a)) {
                assignments.made++;
                // Exactly what a push fetch would have handed the desk, under the same numbers.
                const want = ref.fetch(desk, a.party, undefined, a.envelopes.length + 1);
                expect(want).toEqual({ items: a.envelopes.map((e, i) => [a.lastSeq + 1 + i, e.index]), more: false });
                caughtUp.set(desk, { party: a.party, lastSeq: a.lastSeq + a.envelopes.length, scannedTo: scanTo });
              } else {
                assignments.refused++;
                caughtUp.delete(desk);
              }
            }
          } else if (op.kind === 'delete') {
            const held = [...ref.envelopes.keys()];
            if (held.length === 0) continue;
            const gone = [...new Set(op.picks.map((p) => held[p % held.length]!))];
            await store.deleteEnvelopes(gone, T);
            for (const g of gone) ref.delete(g);
          } else {
            const fixed = DESK_PARTY[op.desk]!;
            const party = fixed === 'either' ? (op.asUs ? 'us' : 'ir') : fixed;
            const lastSeq = ref.desks.get(op.desk)?.lastSeq ?? 0;
            // A desk's cursor: the last sequence it saw, or any value up to past its last (a desk
            // that lost responses, or a confused one; the relay clamps it).
            const after = op.mode === 'push' ? undefined : op.mode === 'cursor' ? lastSeq : op.pick % (lastSeq + 3);
            const maxBytes = op.maxBytes ?? undefined;
            const want = ref.fetch(op.desk, party, after, op.limit, maxBytes);
            const got = await store.fetchForDesk({ desk: DESKS[op.desk]!, party, after, limit: op.limit, ...(maxBytes === undefined ? {} : { maxBytes }), now: T });
            expect(page(got)).toEqual(want);
            expect(got.desk.lastSeq).toBe(ref.desks.get(op.desk)!.lastSeq);
            if (op.mode === 'push') {
              if (got.more) caughtUp.delete(op.desk);
              else caughtUp.set(op.desk, { party, ...got.desk });
            }
            for (const it of got.items) expect(it.envelope.prec).toBe(ref.envelopes.get(it.envelope.index)!.prec);
          }
        }
        // Cursors confirmed exactly the items the reference confirmed.
        const cands = await store.listRetentionCandidates(T + 1, 10_000);
        for (const [desk, d] of ref.desks) {
          const want = d.items.filter((it) => it.confirmed).map((it) => it.index).sort((a, b) => a - b);
          const got = cands.filter((c) => c.confirmedBy.some((x) => Buffer.from(x).equals(DESKS[desk]!))).map((c) => c.envelope.index).sort((a, b) => a - b);
          expect(got).toEqual(want);
        }
        // Nothing waits for an envelope that is gone.
        for (const r of await pendingRows()) expect(ref.envelopes.has(r.leaf_index)).toBe(true);
      }),
      { numRuns: backend === 'sqlite' ? 60 : 25 },
    );
    if (store.assignsInCommit) {
      // Assignments were made, not only refused (refusals are rarer here, and have a test below).
      expect(assignments.made).toBeGreaterThan(0);
    } else {
      expect(assignments.made).toBe(0);
    }
  }, 240_000);

  it('hands a desk first seen after 500 envelopes all of them, in order', async () => {
    const sender = rnd(32);
    const envs: NewEnvelope[] = [];
    for (let i = 0; i < 600; i++) {
      // 500 for the party, 100 between others interleaved.
      const to = i % 6 === 5 ? 'zz' : 'ir';
      envs.push(envelope({ prec: (i * 7) % 4, from: 'us', to, station: sender }));
    }
    for (let i = 0; i < envs.length; i += 100) await commit(envs.slice(i, i + 100));
    const want = envs.filter((e) => e.to === 'ir').sort((a, b) => a.prec - b.prec || a.index - b.index);
    expect(want).toHaveLength(500);
    for (const after of [0, undefined]) {
      const desk = rnd(32);
      const got: [number, number][] = [];
      let cursor = 0;
      for (;;) {
        const r = await store.fetchForDesk({ desk, party: 'ir', after: after === undefined ? undefined : cursor, limit: 64, now: T });
        got.push(...page(r).items);
        cursor = r.items.at(-1)?.seq ?? cursor;
        if (!r.more) break;
      }
      expect(got).toEqual(want.map((e, i) => [i + 1, e.index]));
      expect((await pendingRows()).length).toBe(0);
    }
  });

  // Only SQLite's commit makes desk assignments (kysely-store.ts, `assignsInCommit`).
  if (backend === 'sqlite') it('makes a desk assignment only from the desk state it was planned on', async () => {
    expect(store.assignsInCommit).toBe(true);
    const desk = DESKS[3]; // enrolled by both parties
    const plan = (party: string, state: { lastSeq: number; scannedTo: number }, envelopes: NewEnvelope[]): DeskAssignment => ({
      desk,
      party,
      ...state,
      envelopes,
      scanTo: envelopes.at(-1)!.index,
      assigned: T,
    });
    const seen = (await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 10, now: T })).desk;
    // Made: the desk is as it was; its next fetch hands nothing more and scans from after the batch.
    const a = [envelope({ prec: 3, from: 'us', to: 'ir', station: rnd(32) }), envelope({ prec: 0, from: 'us', to: 'ir', station: rnd(32) })];
    const planned = plan('ir', seen, [a[1]!, a[0]!]);
    expect(await commit(a, [planned])).toEqual([planned]);
    const after = await store.fetchForDesk({ desk, party: 'ir', after: 0, limit: 10, now: T });
    expect(page(after)).toEqual({ items: [[1, a[1]!.index], [2, a[0]!.index]], more: false });
    expect(after.desk).toEqual({ lastSeq: 2, scannedTo: a[1]!.index });
    // Refused: a cursor fetch for the other party moved the desk on; nothing of it was written.
    await store.fetchForDesk({ desk, party: 'us', after: 2, limit: 10, now: T });
    const b = [envelope({ prec: 0, from: 'us', to: 'us', station: rnd(32) }), envelope({ prec: 0, from: 'ir', to: 'us', station: rnd(32) })];
    expect(await commit(b, [plan('ir', after.desk, [b[1]!])])).toEqual([]);
    expect(await pendingRows()).toEqual([]);
    // Refused: the sequence moved (a fetch handed something since).
    const c = [envelope({ prec: 1, from: 'zz', to: 'ir', station: rnd(32) })];
    const moved = (await store.fetchForDesk({ desk, party: 'ir', after: 2, limit: 10, now: T })).desk;
    expect(await commit(c, [plan('ir', { ...moved, lastSeq: moved.lastSeq - 1 }, c)])).toEqual([]);
    expect(page(await store.fetchForDesk({ desk, party: 'ir', after: moved.lastSeq, limit: 10, now: T }))).toEqual({ items: [[moved.lastSeq + 1, c[0]!.index]], more: false });
  });

  it('leaves no pending row behind an envelope retention deleted, and fetches go on', async () => {
    const desk = rnd(32);
    const envs = Array.from({ length: 10 }, (_, i) => envelope({ prec: i % 2 === 0 ? 3 : 0, from: 'us', to: 'ir', station: rnd(32) }));
    await commit(envs);
    // FLASH first: the odd indexes 1, 3, 5 are handed out; 1, 3 are confirmed by the next cursor.
    const first = await store.fetchForDesk({ desk, party: 'ir', after: 0, limit: 3, now: T });
    expect(page(first).items).toEqual([[1, 1], [2, 3], [3, 5]]);
    expect((await pendingRows()).map((r) => r.leaf_index).sort((a, b) => a - b)).toEqual([0, 2, 4, 6, 7, 8, 9]);
    // Deleted: one handed out (3), pending ones of each precedence (7, 0, 8).
    await store.deleteEnvelopes([3, 7, 0, 8], T + 1);
    expect((await pendingRows()).map((r) => r.leaf_index).sort((a, b) => a - b)).toEqual([2, 4, 6, 9]);
    const next = await store.fetchForDesk({ desk, party: 'ir', after: 1, limit: 10, now: T + 2 });
    expect(page(next)).toEqual({ items: [[3, 5], [4, 9], [5, 2], [6, 4], [7, 6]], more: false });
    expect(await pendingRows()).toEqual([]);
    // Later envelopes still come.
    const late = envelope({ prec: 1, from: 'us', to: 'ir', station: rnd(32) });
    await commit([late]);
    const last = await store.fetchForDesk({ desk, party: 'ir', after: 7, limit: 10, now: T + 3 });
    expect(page(last)).toEqual({ items: [[8, late.index]], more: false });
  });

  it('drops a pending row whose envelope vanished behind its back, and serves what follows it', async () => {
    // What a fetch racing retention on PostgreSQL can leave: a row for an envelope deleted.
    const desk = rnd(32);
    const envs = Array.from({ length: 4 }, () => envelope({ prec: 2, from: 'us', to: 'ir', station: rnd(32) }));
    await commit(envs);
    expect(page(await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 1, now: T })).items).toEqual([[1, 0]]);
    await store.db.deleteFrom('envelopes').where('leaf_index', 'in', [1, 2]).execute();
    const r = await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 1, now: T });
    expect(page(r)).toEqual({ items: [[2, 3]], more: false });
    expect(await pendingRows()).toEqual([]);
  });

  it('resumes the desks of a database from before desk_pending without handing anything twice', async () => {
    const desk = rnd(32);
    const envs = Array.from({ length: 10 }, (_, i) => envelope({ prec: i % 4, from: 'us', to: 'ir', station: rnd(32) }));
    await commit(envs.slice(0, 6));
    const ref = new Reference();
    for (const e of envs) ref.envelopes.set(e.index, { index: e.index, prec: e.prec, from: e.from, to: e.to, station: -1, size: e.bytes.length });
    for (const e of envs.slice(6)) ref.envelopes.delete(e.index);
    expect(page(await store.fetchForDesk({ desk, party: 'ir', after: 0, limit: 4, now: T }))).toEqual(ref.fetch(0, 'ir', 0, 4));
    expect(page(await store.fetchForDesk({ desk, party: 'ir', after: 2, limit: 0, now: T }))).toEqual(ref.fetch(0, 'ir', 2, 0));
    const m = new Migrator({ db: store.db, provider: relayMigrations(store.dialect) });
    const down = await m.migrateDown();
    expect(down.error).toBeUndefined();
    expect(down.results?.map((x) => x.migrationName)).toEqual(['0004_desk_pending']);
    await commit(envs.slice(6));
    for (const e of envs.slice(6)) ref.envelopes.set(e.index, { index: e.index, prec: e.prec, from: e.from, to: e.to, station: -1, size: e.bytes.length });
    expect((await m.migrateToLatest()).error).toBeUndefined();
    // The desk's row from before: nothing scanned, nothing confirmed by a cursor as far as it knows.
    const row = await store.db.selectFrom('desks').select(['scanned_to', 'confirmed_to', 'scan_party']).where('desk', '=', Buffer.from(desk)).executeTakeFirstOrThrow();
    expect(row).toEqual({ scanned_to: -1, confirmed_to: 0, scan_party: null });
    expect(page(await store.fetchForDesk({ desk, party: 'ir', after: 3, limit: 3, now: T }))).toEqual(ref.fetch(0, 'ir', 3, 3));
    expect(page(await store.fetchForDesk({ desk, party: 'ir', after: undefined, limit: 10, now: T }))).toEqual(ref.fetch(0, 'ir', undefined, 10));
    expect(page(await store.fetchForDesk({ desk, party: 'ir', after: 0, limit: 20, now: T }))).toEqual(ref.fetch(0, 'ir', 0, 20));
    const cands = await store.listRetentionCandidates(T + 1, 100);
    const confirmed = ref.desks.get(0)!.items.filter((it) => it.confirmed).map((it) => it.index).sort((a, b) => a - b);
    expect(cands.filter((c) => c.confirmedBy.length > 0).map((c) => c.envelope.index).sort((a, b) => a - b)).toEqual(confirmed);
  });
});
