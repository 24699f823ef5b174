/**
 * Push connections over a real socket (authentication, slow consumers dropped, memory bounded)
 * and retention (an envelope every enrolled desk has fetched is deleted after its retention
 * time, its id remembered by a tombstone, so a resend is still a duplicate).
 */
import { decodeCbor, parseEnvelope, sha256, toHex, type CborMap } from '@backchannel/core';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHousekeeping } from '../../src/housekeeping.js';
import { RelayError } from '../../src/errors.js';
import type { CommitBatch, Committed, FetchRequest, RelayStore } from '../../src/store/relay-store.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { pushClient } from '../helpers/spawn-relay.js';
import { decode, makeWorld, otherDesks, seal, signedHeader, signedRequest, submitBody, token, type World } from '../helpers/world.js';

describe('push', () => {
  let w: World;
  let r: InProcessRelay;
  let url: string;

  beforeAll(async () => {
    w = await makeWorld();
    r = await inProcessRelay(w, 'sqlite', { limits: { pushBufferBytes: 256 * 1024 } });
    await r.relay.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(r.relay.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await r.close();
  });

  it('refuses a connection whose first message is not a valid signed request', async () => {
    const s = new WebSocket(`${url.replace('http', 'ws')}/v1/push`);
    await new Promise((res) => s.once('open', res));
    const frames: CborMap[] = [];
    s.on('message', (d: Buffer) => frames.push(decodeCbor(new Uint8Array(d)) as CborMap));
    const closed = new Promise<number>((res) => s.once('close', (code) => { res(code); }));
    s.send('not a signed request');
    expect(await closed).toBe(1008);
    expect(frames).toEqual([{ type: 'error', code: 'request_invalid', message: expect.any(String) as string }]);
  });

  it('pushes envelopes to the desk, FLASH first among what is pending', async () => {
    const routine = await seal(w.us, w.ir, { precedence: 'ROUTINE' });
    const flash = await seal(w.us, w.ir, { precedence: 'FLASH' });
    for (const e of [routine, flash]) {
      const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(e, token(w.us, w.relay.origin, e)) });
      expect(res.statusCode).toBe(200);
    }
    const c = await pushClient(url, w.ir);
    const first = await c.next('envelope');
    const second = await c.next('envelope');
    expect(parseEnvelope((first.item as CborMap).envelope as Uint8Array).header.precedence).toBe('FLASH');
    expect(parseEnvelope((second.item as CborMap).envelope as Uint8Array).header.precedence).toBe('ROUTINE');
    c.close();
  });

  it('drops a consumer that stops reading, and keeps serving everyone else', async () => {
    const s = new WebSocket(`${url.replace('http', 'ws')}/v1/push`);
    await new Promise((res) => s.once('open', res));
    s.send(signedHeader({ party: w.ir, method: 'GET', path: '/v1/push', body: new Uint8Array(0) }));
    await new Promise((res) => setTimeout(res, 100));
    // Stop reading from the socket: the relay's unsent bytes grow.
    (s as unknown as { _socket: { pause(): void } })._socket.pause();
    const closed = new Promise<void>((res) => s.once('close', () => { res(); }));
    const body = 'x'.repeat(40_000);
    const envs = await Promise.all(Array.from({ length: 120 }, () => seal(w.us, w.ir, { body })));
    await Promise.all(
      envs.map((e) => r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(e, token(w.us, w.relay.origin, e)) })),
    );
    (s as unknown as { _socket: { resume(): void } })._socket.resume();
    await closed;
    expect((await r.relay.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/backchannel_relay_push_slow_consumers_total [1-9]/);
    // The desk reconnects and catches up by pull with its cursor.
    const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 500 } });
    const res = await r.relay.app.inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload });
    expect((decode(res.rawPayload).items as CborMap[]).length).toBeGreaterThanOrEqual(120);
  });
});

describe('push to the desks a note concerns', () => {
  /**
   * A relay on SQLite whose store counts the hub's assignment passes (fetchForDesk) by desk, and
   * whose group commit `commit` may replace; three desks connected: the sender, the sending
   * party's other desk, the recipient.
   */
  async function connected(commit?: (real: RelayStore, b: CommitBatch) => Promise<Committed | 'known'>) {
    const w = await makeWorld({ stations: 2 });
    const pumped = new Map<string, number>();
    const r = await inProcessRelay(w, 'sqlite', {
      wrapStore: (s) =>
        new Proxy(s, {
          get(target, key, receiver) {
            if (key === 'fetchForDesk') {
              return (req: FetchRequest) => {
                pumped.set(toHex(req.desk), (pumped.get(toHex(req.desk)) ?? 0) + 1);
                return target.fetchForDesk(req);
              };
            }
            if (key === 'commitBatch' && commit !== undefined) return (b: CommitBatch) => commit(target, b);
            const v: unknown = Reflect.get(target, key, receiver);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        }),
    });
    await r.relay.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(r.relay.app.server.address() as { port: number }).port}`;
    const [second] = otherDesks(w.us);
    const sender = await pushClient(url, w.us);
    const other = await pushClient(url, w.us, second);
    const recipient = await pushClient(url, w.ir);
    const desks = { sender: toHex(w.us.keys.station.key.publicKey), other: toHex(second!.publicKey), recipient: toHex(w.ir.keys.station.key.publicKey) };
    // Connected: each desk had its first pass.
    for (let i = 0; i < 100 && Object.values(desks).some((d) => pumped.get(d) === undefined); i++) await new Promise((res) => setTimeout(res, 20));
    pumped.clear();
    const submit = async (): Promise<{ status: number; digest: Uint8Array }> => {
      const e = await seal(w.us, w.ir);
      const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(e, token(w.us, w.relay.origin, e)) });
      return { status: res.statusCode, digest: e.digest };
    };
    const metric = async (name: string): Promise<number> => Number(new RegExp(`^${name} (\\d+)`, 'm').exec((await r.relay.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1] ?? NaN);
    const close = async (): Promise<void> => {
      for (const c of [sender, other, recipient]) c.close();
      await r.close();
    };
    return { w, r, pumped, desks, sender, other, recipient, submit, metric, close };
  }

  const digestOf = (f: CborMap): Uint8Array => sha256((f.item as CborMap).envelope as Uint8Array);

  it("hands a note to its recipient and to the sender's other desks in the note's own commit, never to the desk that sent it", async () => {
    const t = await connected();
    try {
      for (let n = 1; n <= 2; n++) {
        const { status, digest } = await t.submit();
        expect(status).toBe(200);
        for (const c of [t.recipient, t.other]) {
          const f = await c.next('envelope');
          expect(digestOf(f)).toEqual(digest);
          expect((f.item as CborMap).seq).toBe(n);
        }
      }
      // No pass of their own: both were caught up, so the commits assigned the notes.
      expect(t.pumped.size).toBe(0);
      expect(await t.metric('backchannel_relay_push_assigned_in_commit_total')).toBe(4);
      expect(t.sender.frames.filter((f) => f.type === 'envelope')).toEqual([]);
      // What a fetch finds is what push handed: the same items under the same numbers.
      const req = signedRequest({ party: t.w.ir, path: '/v1/fetch', body: { after: 0, limit: 10 } });
      const res = await t.r.relay.app.inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload });
      expect((decode(res.rawPayload).items as CborMap[]).map((it) => it.seq)).toEqual([1, 2]);
    } finally {
      await t.close();
    }
  });

  it('pumps a desk whose assignment the commit did not make, and hands it the note once', async () => {
    // The store refuses every assignment, as it does when a fetch moved the desk on since the plan.
    const t = await connected(async (real, b) => real.commitBatch({ ...b, assignments: [] }));
    try {
      const { status, digest } = await t.submit();
      expect(status).toBe(200);
      for (const c of [t.recipient, t.other]) expect(digestOf(await c.next('envelope'))).toEqual(digest);
      expect(t.pumped.get(t.desks.recipient)).toBe(1);
      expect(t.pumped.get(t.desks.other)).toBe(1);
      expect(t.pumped.get(t.desks.sender)).toBeUndefined();
      await new Promise((res) => setTimeout(res, 100));
      expect([...t.recipient.frames, ...t.other.frames].filter((f) => f.type === 'envelope')).toEqual([]);
      expect(await t.metric('backchannel_relay_push_assigned_in_commit_total')).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('after a commit that failed with assignments planned, closes those desks to fetch from their cursors', async () => {
    // The commit is made, then reported failed: a writer thread that died before it answered.
    let fail = true;
    const t = await connected(async (real, b) => {
      const c = await real.commitBatch(b);
      if (!fail || (b.assignments ?? []).length === 0) return c;
      fail = false;
      throw new RelayError('storage_unavailable', 'the writer died before it answered');
    });
    try {
      const closed = [t.recipient, t.other].map((c) => c.closed);
      const { status, digest } = await t.submit();
      expect(status).toBe(503);
      expect(await Promise.all(closed)).toEqual([1013, 1013]);
      // The note was assigned in the commit that did land: a fetch from the cursor hands it.
      const req = signedRequest({ party: t.w.ir, path: '/v1/fetch', body: { after: 0, limit: 10 } });
      const res = await t.r.relay.app.inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload });
      expect((decode(res.rawPayload).items as CborMap[]).map((it) => sha256(it.envelope as Uint8Array))).toEqual([digest]);
    } finally {
      await t.close();
    }
  });
});

describe('fetch pages', () => {
  it('end at the byte limit, not only at the item limit, and always hold at least one envelope', async () => {
    const w = await makeWorld();
    const envs = await Promise.all(Array.from({ length: 3 }, () => seal(w.us, w.ir)));
    // Room for one envelope and a half: each page holds one.
    const r = await inProcessRelay(w, 'sqlite', { limits: { fetchPageBytes: Math.floor(envs[0]!.bytes.length * 1.5) } });
    try {
      for (const e of envs) {
        const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(e, token(w.us, w.relay.origin, e)) });
        expect(res.statusCode).toBe(200);
      }
      const pages: { n: number; more: unknown }[] = [];
      let after = 0;
      for (let i = 0; i < 5; i++) {
        const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after, limit: 10 } });
        const body = decode((await r.relay.app.inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload })).rawPayload);
        pages.push({ n: (body.items as CborMap[]).length, more: body.more });
        after = body.next as number;
        if (body.more !== true) break;
      }
      expect(pages).toEqual([{ n: 1, more: true }, { n: 1, more: true }, { n: 1, more: false }]);
    } finally {
      await r.close();
    }
  });
});

describe('retention', () => {
  it('deletes envelopes every enrolled desk confirmed, after the retention time, and remembers their ids', async () => {
    const w = await makeWorld();
    let now = Date.now();
    const r = await inProcessRelay(w, 'sqlite', { clock: () => now, limits: { retentionMs: 60_000 } });
    try {
      const fetched = await seal(w.us, w.ir);
      const pending = await seal(w.us, w.ir);
      const receipts: CborMap[] = [];
      for (const e of [fetched, pending]) {
        const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(e, token(w.us, w.relay.origin, e)) });
        receipts.push(decode(res.rawPayload));
      }
      // ir's only desk fetches the first one, then confirms it by moving its cursor.
      const page = (after: number, limit: number) => {
        const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after, limit }, time: now });
        return r.relay.app.inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload });
      };
      const p1 = decode((await page(0, 1)).rawPayload);
      expect(sha256((p1.items as CborMap[])[0]!.envelope as Uint8Array)).toEqual(fetched.digest);
      // The cursor moves past it (confirming it); the second is handed out but not confirmed.
      const p2 = decode((await page(p1.next as number, 1)).rawPayload);
      expect(sha256((p2.items as CborMap[])[0]!.envelope as Uint8Array)).toEqual(pending.digest);
      // Not yet: the retention time has not run.
      await runHousekeeping(r.relay.ctx);
      expect(await r.store.getEnvelope(receipts[0]!.index as number)).toBeDefined();
      now += 61_000;
      await runHousekeeping(r.relay.ctx);
      expect(await r.store.getEnvelope(receipts[0]!.index as number)).toBeUndefined();
      expect(await r.store.getEnvelope(receipts[1]!.index as number)).toBeDefined();
      // A resend of the deleted one is still a duplicate with its original receipt.
      const again = await r.relay.app.inject({
        method: 'POST',
        url: '/v1/submit',
        headers: { 'content-type': 'application/cbor' },
        payload: submitBody(fetched, token(w.us, w.relay.origin, fetched, { time: now })),
      });
      expect(decode(again.rawPayload)).toEqual({ ...receipts[0]!, duplicate: true });
    } finally {
      await r.close();
    }
  });
});
