/**
 * Group commit (DESIGN.md): one transaction and one checkpoint per batch, and no receipt before
 * its commit has returned — proved with a spy on the real store that holds the commit open.
 * Also: failures answer with typed errors and the log carries on consistently; a store whose
 * tree does not match its last checkpoint, or a different log key, is refused at start.
 */
import Database from 'better-sqlite3';
import { Ed25519Key, commitLeaf, openCheckpoint, openDeliveryRecord, openSubmissionToken, parseEnvelope, parseTlogProof, parseVkey, sha256, verifyConsistency, verifyReceipt, fromBase64, type CborMap } from '@backchannel/core';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogManager } from '../../src/log/log-manager.js';
import { openStore } from '../../src/store/open-store.js';
import { backends, sqliteDb } from '../helpers/databases.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { spyOnCommits, type CommitSpy } from '../helpers/spy-store.js';
import { copyAck, decode, makeWorld, seal, signedRequest, submitBody, token, type World } from '../helpers/world.js';

describe.each(backends())('group commit on %s', (backend) => {
  let w: World;
  let r: InProcessRelay;
  let spy: CommitSpy;

  beforeAll(async () => {
    w = await makeWorld();
    r = await inProcessRelay(w, backend, {
      wrapStore: (s) => {
        const x = spyOnCommits(s);
        spy = x.spy;
        return x.store;
      },
    });
  });
  afterAll(async () => {
    await r.close();
  });

  const submitOne = async (env: Awaited<ReturnType<typeof seal>>) =>
    r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(env, token(w.us, w.relay.origin, env)) });

  it('sends no receipt before its commit returns, and batches concurrent submissions', async () => {
    const envs = await Promise.all(Array.from({ length: 40 }, () => seal(w.us, w.ir)));
    spy.events.length = 0;
    spy.hold();
    const started = spy.started();
    const answered: number[] = [];
    const pending = envs.map((e, i) =>
      submitOne(e).then((res) => {
        spy.events.push(`response:${i}`);
        answered.push(i);
        return res;
      }),
    );
    await started;
    // The first commit is open and held: give every request time to run as far as it can.
    await new Promise((res) => setTimeout(res, 100));
    expect(answered).toEqual([]);
    spy.release();
    const responses = await Promise.all(pending);
    for (const res of responses) expect(res.statusCode, res.body).toBe(200);
    // Each response comes after the end of a commit, and after the first commit ended.
    const firstEnd = spy.events.indexOf('commit:end');
    expect(firstEnd).toBeGreaterThan(0);
    for (let i = 0; i < envs.length; i++) {
      const at = spy.events.indexOf(`response:${i}`);
      expect(at).toBeGreaterThan(firstEnd);
      expect(spy.events.slice(0, at).filter((e) => e === 'commit:end').length).toBeGreaterThan(0);
    }
    // Group commit: far fewer transactions than submissions, one checkpoint signature each.
    const commits = spy.events.filter((e) => e === 'commit:end').length;
    expect(commits).toBeLessThanOrEqual(3);
    const notes = new Set(responses.map((res) => parseTlogProof(decode(res.rawPayload).receipt as string).checkpoint));
    expect(notes.size).toBe(commits);
    // Every receipt verifies against the batch's checkpoint.
    const vkey = parseVkey(w.relay.card.vkey);
    responses.forEach((res, i) => {
      const b = decode(res.rawPayload);
      verifyReceipt(b.receipt as string, vkey, { type: 'submit', digest: envs[i]!.digest });
    });
  });

  it('answers a failed commit with a typed error, keeps nothing of it, and carries on consistently', async () => {
    const vkey = parseVkey(w.relay.card.vkey);
    const before = openCheckpoint((await r.relay.app.inject({ method: 'GET', url: '/checkpoint' })).body, vkey).checkpoint;
    const lost = await seal(w.us, w.ir);
    spy.failNext(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
    const res = await submitOne(lost);
    expect(res.statusCode).toBe(507);
    expect(res.json()).toMatchObject({ error: { code: 'storage_full' } });
    expect(r.relay.ctx.log.size).toBe(before.size);
    expect(await r.store.findKnown([{ from: 'us', id: lost.header.id }])).toEqual([]);
    // The same envelope again, now accepted; the new checkpoint extends the old one.
    const ok = await submitOne(lost);
    expect(ok.statusCode).toBe(200);
    const after = verifyReceipt(decode(ok.rawPayload).receipt as string, vkey, { type: 'submit', digest: lost.digest }).checkpoint;
    expect(after.size).toBe(before.size + 1);
    const proof = (await r.relay.app.inject({ method: 'GET', url: `/v1/log/proof/consistency?first=${before.size}&second=${after.size}` })).json<{ consistency_path: string[] }>();
    verifyConsistency(before.size, after.size, proof.consistency_path.map(fromBase64), before.rootHash, after.rootHash);
  });

  it('commits without asking the store first where its commit refuses what it knows, answers a refused batch as an asked one, and asks first for a while after', async () => {
    const refuses = r.store.commitRefusesKnown;
    expect(refuses).toBe(backend === 'postgres');
    const vkey = parseVkey(w.relay.card.vkey);
    const [held, gone, fresh] = [await seal(w.us, w.ir), await seal(w.us, w.ir), await seal(w.us, w.ir)];
    spy.reads = 0;
    spy.refused = 0;
    const first = await Promise.all([held, gone].map(submitOne));
    for (const res of first) expect(res.statusCode, res.body).toBe(200);
    const [heldReceipt, goneReceipt] = first.map((res) => decode(res.rawPayload));
    expect(spy.reads === 0).toBe(refuses);
    expect(spy.refused).toBe(0);
    // The relay deletes one; its tombstone remembers the id.
    await r.store.deleteEnvelopes([goneReceipt!.index as number], Date.now());
    expect(await r.store.getEnvelope(goneReceipt!.index as number)).toBeUndefined();

    // A batch of one: the deleted envelope's resend, known only by its tombstone.
    const size = r.relay.ctx.log.size;
    expect(decode((await submitOne(gone)).rawPayload)).toEqual({ ...goneReceipt, duplicate: true });
    expect(spy.refused).toBe(refuses ? 1 : 0);
    expect(r.relay.ctx.log.size).toBe(size);

    // For a while after a refusal, batches are built after asking (resends come in runs).
    // One batch: a new envelope, a resend, and other bytes under the resent one's id.
    const twin = await seal(w.us, w.ir, { id: held.header.id, body: 'other words' });
    spy.reads = 0;
    spy.refused = 0;
    spy.hold();
    const blocker = submitOne(await seal(w.us, w.ir));
    await spy.started();
    const batch = [fresh, held, twin].map(submitOne);
    await new Promise((res) => setTimeout(res, 100));
    spy.release();
    expect((await blocker).statusCode).toBe(200);
    const [f, h, t] = await Promise.all(batch);
    expect(f!.statusCode, f!.body).toBe(200);
    const fr = decode(f!.rawPayload);
    expect(fr.duplicate).toBe(false);
    expect(fr.index).toBe(size + 1);
    verifyReceipt(fr.receipt as string, vkey, { type: 'submit', digest: fresh.digest });
    expect(decode(h!.rawPayload)).toEqual({ ...heldReceipt, duplicate: true });
    expect(t!.statusCode).toBe(409);
    expect(t!.json()).toMatchObject({ error: { code: 'equivocation' } });
    // Asked first (the blocker's batch and this one), so nothing was refused.
    expect(spy.refused).toBe(0);
    expect(spy.reads).toBe(4);
    expect(r.relay.ctx.log.size).toBe(size + 2);
    expect(await r.store.listEquivocations({ from: 'us', id: held.header.id })).toHaveLength(1);

    // A copy acknowledged again gets the delivery record it had, beside a new one's.
    const page = async () => {
      const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 500 } });
      return (decode((await r.relay.app.inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload })).rawPayload).items as CborMap[]).length;
    };
    expect(await page()).toBeGreaterThan(0);
    const ack = (env: typeof fresh) => copyAck({ party: w.ir, origin: w.relay.origin, from: 'us', id: env.header.id, digest: env.digest });
    const acks = async (envs: (typeof fresh)[]) => {
      const req = signedRequest({ party: w.ir, path: '/v1/ack', body: { acks: envs.map(ack) } });
      const res = await r.relay.app.inject({ method: 'POST', url: '/v1/ack', headers: req.headers, payload: req.payload });
      expect(res.statusCode, res.body).toBe(200);
      return decode(res.rawPayload).records as CborMap[];
    };
    const [once] = await acks([held]);
    const [again, other] = await acks([held, fresh]);
    expect(again).toEqual(once);
    expect(openDeliveryRecord(other!.record as Uint8Array, w.relay.logKey.publicKey).digest).toEqual(fresh.digest);
    verifyReceipt(other!.receipt as string, vkey, { type: 'delivery', digest: fresh.digest, ref: sha256(other!.record as Uint8Array) });
    if (!refuses) return;

    // Then batches go without asking again, and a resend of a held id alone is refused and answered.
    let batches = 0;
    for (spy.reads = 1; spy.reads > 0 && batches < 40; batches++) {
      spy.reads = 0;
      expect((await submitOne(await seal(w.us, w.ir))).statusCode).toBe(200);
    }
    expect(spy.reads).toBe(0);
    expect(batches).toBeLessThanOrEqual(33);
    spy.refused = 0;
    expect(decode((await submitOne(held)).rawPayload)).toEqual({ ...heldReceipt, duplicate: true });
    expect(spy.refused).toBe(1);
    expect(spy.reads).toBe(2);
  });

  it('dedupes within one batch and against the store', async () => {
    const env = await seal(w.us, w.ir);
    const twin = await seal(w.us, w.ir, { id: env.header.id, body: 'other words' });
    const [a, b, c] = await Promise.all([submitOne(env), submitOne(env), submitOne(twin)]);
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
    expect(c.statusCode).toBe(409);
    const [ra, rb] = [decode(a.rawPayload), decode(b.rawPayload)];
    expect(ra.index).toBe(rb.index);
    expect([ra.duplicate, rb.duplicate].sort()).toEqual([false, true]);
  });
});

describe('a full disk (SQLite max_page_count)', () => {
  it('answers 507 storage_full, keeps nothing of the batch, and recovers when room returns', async () => {
    const w = await makeWorld();
    const r = await inProcessRelay(w, 'sqlite', { logger: pino({ level: 'silent' }) });
    try {
      const k = r.raw.db;
      const pages = (await sql<{ page_count: number }>`PRAGMA page_count`.execute(k)).rows[0]!.page_count;
      // The database may not grow at all: the next envelope (4 KiB) does not fit. The limit is
      // set on the connection that commits: the writer thread's, when there is one.
      const limit = (n: number) => r.raw.sqliteWriter?.pragmaForTests(`max_page_count = ${n}`) ?? sql.raw(`PRAGMA max_page_count = ${n}`).execute(k);
      await limit(pages);
      const before = r.relay.ctx.log.size;
      const env = await seal(w.us, w.ir);
      const payload = submitBody(env, token(w.us, w.relay.origin, env));
      const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload });
      expect(res.statusCode, res.body).toBe(507);
      expect(res.json()).toMatchObject({ error: { code: 'storage_full' } });
      expect(r.relay.ctx.log.size).toBe(before);
      expect(await r.store.findKnown([{ from: 'us', id: env.header.id }])).toEqual([]);
      await limit(pages + 10_000);
      const ok = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(r.relay.ctx.log.size).toBe(before + 1);
    } finally {
      await r.close();
    }
  });
});

describe('leaves computed elsewhere', () => {
  it('are collected by the commit, and a failure there leaves the commit to compute them', async () => {
    const w = await makeWorld();
    const db = sqliteDb();
    const store = await openStore(db.url);
    try {
      const asked: number[] = [];
      let fail = false;
      const log = await LogManager.open({
        store,
        logKey: w.relay.logKey,
        origin: w.relay.origin,
        clock: Date.now,
        batchSize: 10,
        batchBytes: 1e6,
        queueDepth: 10,
        // A hasher elsewhere that answers late, then one that fails: the receipts must not tell.
        leaves: async (openings) => {
          asked.push(openings.length);
          await new Promise((res) => setTimeout(res, 20));
          if (fail) throw new Error('the threads are gone');
          return openings.map(commitLeaf);
        },
      });
      const vkey = parseVkey(w.relay.card.vkey);
      for (const failing of [false, true]) {
        fail = failing;
        const envs = await Promise.all(Array.from({ length: 4 }, () => seal(w.us, w.ir)));
        const outs = await Promise.all(envs.map((env) => log.submit({ envelope: parseEnvelope(env.bytes), token: openSubmissionToken(token(w.us, w.relay.origin, env)), received: Date.now() })));
        outs.forEach((o, i) => {
          expect(verifyReceipt(o.receipt, vkey, { type: 'submit', digest: envs[i]!.digest }).index).toBe(o.index);
        });
      }
      expect(asked).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
      await log.close();
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

describe('the log at start', () => {
  const logger = pino({ level: 'silent' });

  it('refuses a store whose tree does not match its last checkpoint, or another log key', async () => {
    const w = await makeWorld();
    const db = sqliteDb();
    const r = await inProcessRelay(w, 'sqlite', { db, logger });
    for (let i = 0; i < 5; i++) {
      const env = await seal(w.us, w.ir);
      const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(env, token(w.us, w.relay.origin, env)) });
      expect(res.statusCode).toBe(200);
    }
    await r.close();

    const open = async (key: Ed25519Key) => {
      const store = await openStore(db.url);
      try {
        return await LogManager.open({ store, logKey: key, origin: w.relay.origin, clock: Date.now, batchSize: 10, batchBytes: 1e6, queueDepth: 10 });
      } finally {
        await store.close();
      }
    };
    // Untouched: it opens, at the size it had.
    expect((await open(w.relay.logKey)).size).toBe(5);
    // Another log key: the last checkpoint is not ours.
    await expect(open(Ed25519Key.generate())).rejects.toMatchObject({ code: 'store_inconsistent' });
    // A stored node changed: the tree no longer gives the last checkpoint's root.
    const raw = new Database(db.url.slice('sqlite:'.length));
    raw.prepare('UPDATE nodes SET hash = ? WHERE level = 2 AND idx = 0').run(Buffer.alloc(32, 7));
    raw.close();
    await expect(open(w.relay.logKey)).rejects.toMatchObject({ code: 'store_inconsistent' });
    await db.drop();
  });
});
