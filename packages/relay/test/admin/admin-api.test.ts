/**
 * The admin API in process (app.inject) over a real store, SQLite and PostgreSQL: it is not on
 * the public listener, it needs a login and the CSRF token, its figures are right after real
 * submissions, fetches and acknowledgements between two parties, bad queries get one clear
 * error, and no response carries a subject, a body or an envelope's bytes.
 */
import { REQUEST_HEADER, openEnvelope, sealEnvelope, sha256, toHex, type Precedence, type SealedEnvelope } from '@backchannel/core';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/admin/admin-server.js';
import type { AdminLog, AdminMandate, AdminOverview, AdminStatements, AdminTraffic } from '../../src/admin/types.js';
import { statementFromStore } from '../../src/statements/produce.js';
import { backends } from '../helpers/databases.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { copyAck, decode, makeWorld, marker, signedHeader, signedRequest, submitBody, token, type Party, type World } from '../helpers/world.js';
import { contentLeaks, encodedRuns } from './no-content.js';

const TOKEN = 'admin-token-for-tests-0123456789';
const GETS = ['/api/overview', '/api/mandate', '/api/traffic', '/api/log', '/api/statements'];

describe.each(backends())('admin API on %s', (backend) => {
  let w: World;
  let r: InProcessRelay;
  let admin: FastifyInstance;
  let cookie = '';
  let csrf = '';
  const sent: SealedEnvelope[] = [];
  const markers: string[] = [];

  beforeAll(async () => {
    w = await makeWorld();
    r = await inProcessRelay(w, backend);
    admin = await buildAdminApp({ ctx: r.relay.ctx, name: w.relay.name, url: w.relay.url, startedAt: Date.now(), witnesses: [], logger: pino({ level: 'silent' }), token: TOKEN, reuseMs: 0 });
  }, 120_000);
  afterAll(async () => {
    await admin.close();
    await r.close();
  });

  const call = (o: InjectOptions) => admin.inject(o);
  const authed = (url: string) => call({ method: 'GET', url, headers: { cookie } });

  async function send(from: Party, to: Party, precedence: Precedence, mark: string): Promise<SealedEnvelope> {
    const env = await sealEnvelope({
      from: from.id,
      to: to.id,
      precedence,
      created: Date.now(),
      content: { kind: 'note', subject: `Subject ${mark}`, body: `Body ${mark} with <b>markup</b>`, category: 'consular', thread: new Uint8Array(16).fill(3) },
      senderBundle: from.keys.bundle,
      recipientBundle: to.keys.bundle,
      suite: 'x25519',
      station: from.keys.station.key,
      signer: { key: from.keys.signers[0]!.key, certificate: from.keys.signers[0]!.certificate },
    });
    const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(env, token(from, w.relay.origin, env)) });
    expect(res.statusCode, res.body).toBe(200);
    sent.push(env);
    return env;
  }

  it('is not on the public listener', async () => {
    for (const url of [...GETS, '/api/events', '/session', '/']) {
      const res = await r.relay.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
    }
    expect(r.relay.registered.filter((x) => x.includes('/api/') || x.includes('/session'))).toEqual([]);
  });

  it('answers 401 without a session and with a wrong token, and logs in with the token', async () => {
    for (const url of [...GETS, '/api/events']) {
      const res = await call({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    }
    const bad = await call({ method: 'POST', url: '/session', payload: { secret: `${TOKEN}x` } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ error: { code: 'bad_secret' } });
    const res = await call({ method: 'POST', url: '/session', payload: { secret: TOKEN } });
    expect(res.statusCode, res.body).toBe(200);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    cookie = setCookie.split(';')[0]!;
    csrf = (res.json<{ csrf: string }>()).csrf;
    expect(csrf.length).toBeGreaterThan(16);
    expect((await authed('/api/overview')).statusCode).toBe(200);
  });

  it('counts envelopes by pair and precedence after real submissions', async () => {
    const plan: [Party, Party, Precedence][] = [
      [w.us, w.ir, 'FLASH'],
      [w.us, w.ir, 'FLASH'],
      [w.us, w.ir, 'FLASH'],
      [w.us, w.ir, 'ROUTINE'],
      [w.us, w.ir, 'ROUTINE'],
      [w.ir, w.us, 'IMMEDIATE'],
    ];
    for (const [from, to, p] of plan) {
      const m = marker();
      markers.push(m);
      await send(from, to, p, m);
    }
    const t = (await authed('/api/traffic')).json<AdminTraffic>();
    const totals: Record<string, { envelopes: number; bytes: number }> = {};
    for (const row of t.rows) {
      const k = `${row.from}>${row.to} ${row.precedence}`;
      const cur = totals[k] ?? { envelopes: 0, bytes: 0 };
      totals[k] = { envelopes: cur.envelopes + row.envelopes, bytes: cur.bytes + row.bytes };
      expect(row.bucket % t.bucketMs).toBe(0);
    }
    const size = (from: string, p: Precedence) => sent.filter((e) => e.header.from === from && e.header.precedence === p).reduce((n, e) => n + e.header.size, 0);
    expect(totals).toEqual({
      'us>ir FLASH': { envelopes: 3, bytes: size('us', 'FLASH') },
      'us>ir ROUTINE': { envelopes: 2, bytes: size('us', 'ROUTINE') },
      'ir>us IMMEDIATE': { envelopes: 1, bytes: size('ir', 'IMMEDIATE') },
    });

    // A window that ends before the submissions counts nothing.
    const before = (await authed(`/api/traffic?since=0&until=${t.since}&bucket=${86_400_000 * 30}`)).json<AdminTraffic>();
    expect(before.rows).toEqual([]);

    const o = (await authed('/api/overview')).json<AdminOverview>();
    expect(o.relay).toMatchObject({ id: w.relay.id, origin: w.relay.origin, url: w.relay.url, fingerprint: w.relay.card.fingerprint });
    expect(o.log.size).toBe(r.relay.ctx.log.size);
    expect(o.log.size).toBeGreaterThanOrEqual(6);
    expect(o.log.checkpoint).toBe(r.relay.ctx.publisher.note());
    expect(o.pending).toEqual([
      { party: 'ir', envelopes: 5, oldestReceived: expect.any(Number) as number },
      { party: 'us', envelopes: 1, oldestReceived: expect.any(Number) as number },
    ]);
    expect(o.delivery.samples).toBe(0);
    expect(o.delivery.oldestUndeliveredMs).not.toBeNull();
    expect(o.held.envelopes).toBe(6);
  });

  it('a fetch and acknowledgement by the recipient moves pending to delivered, with a lag', async () => {
    // ir's desk fetches everything and acknowledges the three FLASH notes.
    const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 100 } });
    const res = await r.relay.app.inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload });
    expect(res.statusCode, res.body).toBe(200);
    const flash = sent.filter((e) => e.header.to === 'ir' && e.header.precedence === 'FLASH');
    const acks = flash.map((e) => copyAck({ party: w.ir, origin: w.relay.origin, from: 'us', id: e.header.id, digest: e.digest }));
    const areq = signedRequest({ party: w.ir, path: '/v1/ack', body: { acks } });
    const ares = await r.relay.app.inject({ method: 'POST', url: '/v1/ack', headers: areq.headers, payload: areq.payload });
    expect(ares.statusCode, ares.body).toBe(200);
    expect((decode(ares.rawPayload).records as unknown[]).length).toBe(3);

    const o = (await authed('/api/overview')).json<AdminOverview>();
    expect(o.pending.find((p) => p.party === 'ir')?.envelopes).toBe(2);
    expect(o.delivery.samples).toBe(3);
    expect(o.delivery.p50Ms).not.toBeNull();
    expect(o.delivery.p99Ms!).toBeGreaterThanOrEqual(o.delivery.p50Ms!);
  });

  it('shows the mandate: parties, fingerprints, allowed pairs, consent', async () => {
    const m = (await authed('/api/mandate')).json<AdminMandate>();
    expect(m.parties.map((p) => [p.id, p.name, p.fingerprint, p.desks, p.allow, p.statements])).toEqual([
      ['ir', 'Islamic Republic of Iran', w.ir.card.fingerprint, 1, null, 'count'],
      ['us', 'United States', w.us.card.fingerprint, 1, null, 'count'],
    ]);
    expect(m.pairs).toEqual([{ a: 'ir', b: 'us' }]);
  });

  it('shows the log: recent checkpoints, newest first, the latest as published', async () => {
    const l = (await authed('/api/log')).json<AdminLog>();
    expect(l.size).toBe(r.relay.ctx.log.size);
    expect(l.checkpoints[0]?.size).toBe(r.relay.ctx.log.checkpoint.size);
    expect(l.checkpoints.map((c) => c.size)).toEqual([...l.checkpoints.map((c) => c.size)].sort((a, b) => b - a));
    expect(l.checkpoint).toContain(w.relay.origin);
    expect(l.witnesses).toEqual([]);
  });

  it('names the witnesses that cosigned a checkpoint', async () => {
    const size = r.relay.ctx.log.checkpoint.size;
    // Cosignatures as the publisher stores them once verified (witness/publisher.ts).
    const vkey = 'witness-one+0a1b2c3d+BJ4yBYTdKFWpcnOwW0Y3hvR5gZu4JWXNzPoBSWpCCu2L';
    await r.store.addCosignature({ size, witness: vkey, line: '— witness-one AAAA\n' }, Date.now());
    const l = (await authed('/api/log')).json<AdminLog>();
    expect(l.checkpoints[0]).toMatchObject({ size, cosignatures: [{ size, witness: 'witness-one', vkey }] });
    expect(l.witnesses).toEqual([{ name: 'witness-one', vkey, lastCosignedSize: size }]);
    // The overview is reused for a second at most, within one log head: wait for a fresh one.
    await expect
      .poll(async () => (await authed('/api/overview')).json<AdminOverview>().log.cosignatures, { timeout: 10_000 })
      .toEqual([{ size, witness: 'witness-one', vkey }]);
  });

  it('refuses a state-changing request without the CSRF token', async () => {
    // The admin API only reads; the console's one state-changing request is logging out.
    for (const headers of [{ cookie }, { cookie, 'x-csrf-token': `${csrf.slice(1)}A` }, { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' }]) {
      const res = await call({ method: 'DELETE', url: '/session', headers });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'csrf_mismatch' } });
      const post = await call({ method: 'POST', url: '/api/overview', headers, payload: {} });
      expect(post.statusCode).toBe(403);
    }
    // The session survived every refused request.
    expect((await authed('/api/overview')).statusCode).toBe(200);
    // With the token: logged out, and the cookie no longer opens the API.
    const other = await call({ method: 'POST', url: '/session', payload: { secret: TOKEN } });
    const otherCookie = String(other.headers['set-cookie']).split(';')[0]!;
    const otherCsrf = (other.json<{ csrf: string }>()).csrf;
    expect((await call({ method: 'DELETE', url: '/session', headers: { cookie: otherCookie, 'x-csrf-token': otherCsrf } })).statusCode).toBe(204);
    expect((await call({ method: 'GET', url: '/api/overview', headers: { cookie: otherCookie } })).statusCode).toBe(401);
  });

  it('journals statements: the operator’s (CLI) and a desk’s (public API)', async () => {
    expect(((await authed('/api/statements')).json<AdminStatements>()).statements).toEqual([]);
    const until = Date.now() + 1000;
    const produced = await statementFromStore(r.store, w.relay.logKey, w.relay.origin, { pair: ['us', 'ir'], since: 0, until }, Date.now());
    const list = (await authed('/api/statements')).json<AdminStatements>();
    expect(list.statements).toEqual([
      {
        digest: toHex(sha256(produced.bytes)),
        issued: expect.any(Number) as number,
        pair: ['ir', 'us'],
        since: 0,
        until,
        count: 6,
        checkpointSize: produced.size,
        // The witnessed checkpoint of the test before covers every record: the statement is against it.
        cosignatures: 1,
        opened: { precedence: false, digest: false },
        requestedBy: 'operator',
      },
    ]);
  });

  it('a desk asking for a statement on the public API is journaled under its party', async () => {
    const until = Date.now() + 1000;
    const path = `/v1/statement?pair=us,ir&since=0&until=${until}`;
    // GET: the signed request covers an empty body.
    const res = await r.relay.app.inject({ method: 'GET', url: path, headers: { [REQUEST_HEADER]: signedHeader({ party: w.us, method: 'GET', path, body: new Uint8Array(0) }) } });
    expect(res.statusCode, res.body).toBe(200);
    const list = (await authed('/api/statements')).json<AdminStatements>();
    expect(list.statements.map((s) => s.requestedBy)).toContain('us');
  });

  it('refuses bad queries with one clear error', async () => {
    const cases: [string, number][] = [
      ['/api/traffic?bucket=0', 400],
      ['/api/traffic?bucket=abc', 400],
      ['/api/traffic?bucket=-5', 400],
      ['/api/traffic?bucket=01', 400],
      ['/api/traffic?since=10&until=5', 400],
      ['/api/traffic?since=0&until=99999999999&bucket=1000', 400],
      ['/api/traffic?extra=1', 400],
    ];
    for (const [url, status] of cases) {
      const res = await authed(url);
      expect(res.statusCode, url).toBe(status);
      const e = res.json<{ error: { code: string; message: string } }>();
      expect(e.error.code).toBe('bad_request');
      expect(e.error.message.length).toBeGreaterThan(10);
    }
  });

  it('no admin response carries a subject, a body or an envelope’s bytes', async () => {
    // The notes did carry the markers: the recipient opens one and finds it.
    const first = sent[0]!;
    const opened = await openEnvelope(first.bytes, {
      self: 'ir',
      // One encryption key per party in these tests.
      privateKeyFor: () => w.ir.keys.encryption[0]?.priv,
      senderBundle: w.us.keys.bundle,
      judgedAt: Date.now(),
    });
    expect(JSON.stringify(opened.content)).toContain(markers[0]!);

    const runs = sent.flatMap((e) => encodedRuns(e.bytes));
    const bodies: string[] = [];
    for (const url of [...GETS, `/api/traffic?since=${Math.floor(Date.now() / 86_400_000 - 30) * 86_400_000}&bucket=86400000`, '/']) {
      const res = await authed(url);
      expect(res.statusCode, url).toBe(200);
      bodies.push(res.body);
    }
    expect(bodies.every((b) => b.length > 0)).toBe(true);
    for (const [i, b] of bodies.entries()) expect(contentLeaks(b, markers, runs), `${i} ${b.slice(0, 300)}`).toEqual([]);
    // The check itself can fail: an envelope's base64 is caught.
    expect(contentLeaks(`{"x":"${Buffer.from(first.bytes.subarray(7, 40)).toString('base64')}"}`, [], runs)).not.toEqual([]);
    expect(contentLeaks(`Subject ${markers[1]!}`, markers, [])).not.toEqual([]);
  });
});
