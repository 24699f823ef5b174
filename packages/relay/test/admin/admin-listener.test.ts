/**
 * The admin listener on real sockets: `startRelay` with `adminListen`, two real stations
 * sending sealed notes through the relay over HTTP. The console is on its own address, not
 * on the public one; a login with the start-up token opens it; the event stream pushes the
 * figures; and no admin response, event stream included, carries a subject, a body or an
 * envelope's bytes. Also: the refusals of a non-loopback or shared admin address.
 */
import { Ed25519Key, deriveOrigin, makeRelayCard, type Precedence } from '@backchannel/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAdminListen, isLoopback, sameAddress } from '../../src/admin/admin-server.js';
import type { AdminOverview, AdminTraffic } from '../../src/admin/types.js';
import { isRelayError } from '../../src/errors.js';
import { startRelay } from '../../src/start-relay.js';
import { openStore } from '../../src/store/open-store.js';
import { MARKER_PREFIX, marker } from '../helpers/world.js';
import { sqliteDb } from '../helpers/databases.js';
import { contentLeaks, encodedRuns } from './no-content.js';
import { freePort } from '../../testing/index.js';
import { stationWorld, type StationWorld } from './station-world.js';

describe('the admin listener on loopback, with real stations', () => {
  let w: StationWorld;
  let cookie = '';
  const markers: string[] = [];
  const indexes: number[] = [];

  beforeAll(async () => {
    w = await stationWorld();
    const plan: [StationWorld['us'], string, Precedence][] = [
      [w.us, 'ir', 'FLASH'],
      [w.us, 'ir', 'ROUTINE'],
      [w.ir, 'us', 'IMMEDIATE'],
    ];
    for (const [desk, to, precedence] of plan) {
      const m = marker();
      markers.push(m);
      const r = await desk.send({ to, precedence, subject: `Subject ${m}`, body: `Body ${m} <script>alert(1)</script>`, via: ['ch'], failover: 'none' });
      expect(r.receipts.map((x) => x.relay)).toEqual(['ch']);
      indexes.push(...r.receipts.map((x) => x.log_index));
    }
    // Each side reads what came: copy acknowledgements make delivery records, and the
    // end-to-end acknowledgements travel back as envelopes of their own.
    await w.ir.sync();
    await w.us.sync();
  }, 120_000);
  afterAll(async () => {
    await w.close();
  });

  it('is on its own loopback address, not the public one', async () => {
    const admin = new URL(w.admin.url);
    const pub = new URL(w.relay.url);
    expect(admin.hostname).toBe('127.0.0.1');
    expect(admin.port).not.toBe(pub.port);
    for (const path of ['/api/overview', '/api/traffic', '/session', '/']) expect((await fetch(`${w.relay.url}${path}`)).status, path).toBe(404);
    expect((await fetch(`${w.admin.url}/api/overview`)).status).toBe(401);
    expect((await fetch(`${w.admin.url}/`)).headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('logs in with the token printed at start-up', async () => {
    expect(w.admin.token.length).toBeGreaterThanOrEqual(32);
    const bad = await fetch(`${w.admin.url}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: 'not the token' }) });
    expect(bad.status).toBe(401);
    const res = await fetch(`${w.admin.url}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: w.admin.token }) });
    expect(res.status).toBe(200);
    cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(cookie).toMatch(/=/);
  });

  it('counts the stations’ notes by pair and precedence', async () => {
    const t = (await (await fetch(`${w.admin.url}/api/traffic`, { headers: { cookie } })).json()) as AdminTraffic;
    const count = (from: string, to: string, p: string) => t.rows.filter((r) => r.from === from && r.to === to && r.precedence === p).reduce((n, r) => n + r.envelopes, 0);
    expect(count('us', 'ir', 'FLASH')).toBe(1);
    expect(count('us', 'ir', 'ROUTINE')).toBe(1);
    expect(count('ir', 'us', 'IMMEDIATE')).toBe(1);
    // The end-to-end acknowledgements are envelopes too, at their notes' precedence or lower: more than the three notes in all.
    expect(t.rows.reduce((n, r) => n + r.envelopes, 0)).toBeGreaterThan(3);
    const o = (await (await fetch(`${w.admin.url}/api/overview`, { headers: { cookie } })).json()) as AdminOverview;
    expect(o.delivery.samples).toBeGreaterThanOrEqual(3);
  });

  it('pushes the overview and the traffic on its event stream', async () => {
    const ac = new AbortController();
    const res = await fetch(`${w.admin.url}/api/events`, { headers: { cookie }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const dec = new TextDecoder();
    while (!(text.includes('event: overview') && text.includes('event: traffic') && text.endsWith('\n\n'))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    ac.abort();
    const overview = /event: overview\ndata: (.*)\n/.exec(text)?.[1];
    expect(overview).toBeDefined();
    expect((JSON.parse(overview!) as AdminOverview).log.size).toBeGreaterThan(0);
    expect(contentLeaks(text, markers, [])).toEqual([]);
  });

  it('no admin response carries a subject, a body or an envelope’s bytes', async () => {
    // The envelopes as the relay holds them: what a leak would show.
    const store = await openStore(w.db);
    const envelopes = [];
    try {
      for (const i of indexes) envelopes.push(await store.getEnvelope(i));
    } finally {
      await store.close();
    }
    expect(envelopes.every((e) => e !== undefined && e.bytes.length > 1000)).toBe(true);
    const runs = envelopes.flatMap((e) => encodedRuns(e!.bytes));
    // And the stations did write the markers: the recipient reads them.
    const inbox = await w.ir.inbox();
    const note = await w.ir.show(inbox.find((n) => n.subject.includes(MARKER_PREFIX))!.id);
    expect(markers).toContain(note.subject.replace('Subject ', ''));

    for (const path of ['/api/overview', '/api/mandate', '/api/traffic', `/api/traffic?since=${Math.floor(Date.now() / 86_400_000 - 30) * 86_400_000}&bucket=86400000`, '/api/log', '/api/statements', '/', '/session']) {
      const res = await fetch(`${w.admin.url}${path}`, { headers: { cookie } });
      expect(res.status, path).toBe(200);
      const body = await res.text();
      expect(contentLeaks(body, markers, runs), path).toEqual([]);
    }
  });
});

describe('the admin listener’s address', () => {
  it('is refused on a non-loopback host unless forced, and on the public API’s address', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.1.2.3')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback('::')).toBe(false);
    expect(isLoopback('example.org')).toBe(false);
    const pub = { host: '127.0.0.1', port: 7000 };
    const refused = (a: Parameters<typeof checkAdminListen>[0]) => {
      try {
        checkAdminListen(a, pub);
        return undefined;
      } catch (e) {
        return isRelayError(e, 'config_invalid') ? e.message : 'other error';
      }
    };
    expect(refused({ host: '0.0.0.0', port: 7100 })).toMatch(/loopback/);
    expect(refused({ host: '10.0.0.1', port: 7100 })).toMatch(/loopback/);
    expect(refused({ host: '0.0.0.0', port: 7100, allowNonLoopback: true })).toBeUndefined();
    expect(refused({ host: '127.0.0.1', port: 7000 })).toMatch(/public API/);
    expect(refused({ host: '0.0.0.0', port: 7000, allowNonLoopback: true })).toMatch(/public API/);
    expect(refused({ host: '127.0.0.1', port: 7100, token: 'short' })).toMatch(/16 characters/);
    expect(refused({ host: '127.0.0.1', port: 0 })).toBeUndefined();
    expect(sameAddress({ host: '::', port: 9 }, { host: '127.0.0.1', port: 9 })).toBe(true);
    expect(sameAddress({ host: '127.0.0.1', port: 9 }, { host: '127.0.0.2', port: 9 })).toBe(false);
  });

  it('startRelay refuses to start with a bad admin address, and leaves nothing listening', async () => {
    const db = sqliteDb();
    try {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const logKey = Ed25519Key.generate();
      const origin = deriveOrigin(url, 'ch');
      const card = makeRelayCard({ id: 'ch', name: 'ch', url, origin, logKey });
      const base = { id: 'ch', name: 'ch', url, origin, logKey, card, db: db.url, listen: { host: '127.0.0.1', port }, logger: pino({ level: 'silent' }) };
      for (const adminListen of [{ host: '0.0.0.0', port: 0 }, { host: '127.0.0.1', port }]) {
        const e = await startRelay({ ...base, adminListen }).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(isRelayError(e, 'config_invalid')).toBe(true);
        // The public port is free again: the relay closed what it had opened.
        const again = await startRelay(base);
        await again.close();
      }
    } finally {
      await db.drop();
    }
  });
});
