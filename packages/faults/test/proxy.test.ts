/**
 * The proxy against a plain upstream HTTP server on loopback (its behaviour in front of a real
 * relay is exercised by the relay, demo and reliability suites).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createParty,
  decodeCbor,
  deterministicRandomForTests,
  Ed25519Key,
  encodeCbor,
  openDeliveryRecord,
  parseEnvelope,
  sealEnvelope,
  sha256,
  signCopyAck,
  toHex,
  verifyEnvelopeStation,
  type CborMap,
  type NewParty,
} from '@backchannel/core';
import { FaultProxy } from '../src/index.js';

const T = Date.UTC(2026, 0, 4);
let upstream: Server;
let upstreamUrl = '';
let hits = 0;
let us: NewParty;
let ir: NewParty;
let envelope: Uint8Array;
const relayKey = Ed25519Key.generate(deterministicRandomForTests('faults-relay'));

beforeAll(async () => {
  const random = deterministicRandomForTests('faults');
  us = await createParty({ id: 'us', name: 'United States', now: T, random });
  ir = await createParty({ id: 'ir', name: 'Iran', now: T, random });
  envelope = (
    await sealEnvelope({
      from: 'us', to: 'ir', precedence: 'FLASH', created: T, suite: 'x25519', random,
      content: { kind: 'note', subject: 's', body: 'b', category: 'political', thread: new Uint8Array(16) },
      senderBundle: us.bundle, recipientBundle: ir.bundle, station: us.station.key,
      signer: { key: us.signers[0]!.key, certificate: us.signers[0]!.certificate },
    })
  ).bytes;
  upstream = createServer((req, res) => {
    hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/fetch') {
        const body = encodeCbor({ items: [{ seq: 1, envelope, token: new Uint8Array(1), receipt: 'r', received: T }, { seq: 2, envelope, token: new Uint8Array(1), receipt: 'r', received: T }], next: 2, more: false });
        res.writeHead(200, { 'content-type': 'application/cbor' });
        res.end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`echo:${Buffer.concat(chunks).toString()}`);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => { r(); }));
  const a = upstream.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  upstreamUrl = `http://127.0.0.1:${a.port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => upstream.close(() => { r(); }));
});

async function withProxy(f: (p: FaultProxy) => Promise<void>): Promise<void> {
  const p = await FaultProxy.start({ target: upstreamUrl, rogue: { logKey: relayKey, origin: 'relay.example/qa/00000000' }, clock: () => T + 5 });
  try {
    await f(p);
  } finally {
    await p.close();
  }
}

async function fetchItems(p: FaultProxy): Promise<CborMap[]> {
  const r = await fetch(`${p.url}/v1/fetch`, { method: 'POST', body: '{}' });
  return (decodeCbor(new Uint8Array(await r.arrayBuffer())) as CborMap).items as CborMap[];
}

describe('fault proxy', () => {
  it('passes traffic through untouched by default', async () => {
    await withProxy(async (p) => {
      const r = await fetch(`${p.url}/echo`, { method: 'POST', body: 'hello' });
      expect(await r.text()).toBe('echo:hello');
      expect((await fetchItems(p))[0]!.envelope).toEqual(envelope);
    });
  });

  it('refuses, drops, cuts and partitions: the client sees a failure, never a hang', async () => {
    await withProxy(async (p) => {
      for (const kind of ['refuse', 'drop', 'cut'] as const) {
        p.setFault({ kind });
        await expect(fetch(`${p.url}/v1/fetch`, { method: 'POST', body: '{}' }).then(async (r) => r.arrayBuffer())).rejects.toThrow();
      }
      p.setFault({ kind: 'pass' });
      p.partition();
      await expect(fetch(`${p.url}/echo`)).rejects.toThrow();
      p.heal();
      expect((await fetch(`${p.url}/echo`)).status).toBe(200);
    });
  });

  it('delays, duplicates, corrupts, and counts what it did', async () => {
    await withProxy(async (p) => {
      p.setRules([{ path: '/echo', fault: { kind: 'delay', ms: 150 }, times: 1 }]);
      const t0 = performance.now();
      await (await fetch(`${p.url}/echo`)).text();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
      const before = hits;
      p.setFault({ kind: 'duplicate' });
      await (await fetch(`${p.url}/echo`, { method: 'POST', body: 'x' })).text();
      expect(hits - before).toBe(2);
      p.setFault({ kind: 'corrupt' });
      expect(await (await fetch(`${p.url}/echo`, { method: 'POST', body: 'abcdef' })).text()).not.toBe('echo:abcdef');
      expect(p.stats.faulted.delay).toBe(1);
      expect(p.stats.faulted.corrupt).toBe(1);
    });
  });

  it('replays and reorders fetch items', async () => {
    await withProxy(async (p) => {
      await fetchItems(p);
      p.setFault({ kind: 'replay' });
      expect((await fetchItems(p)).length).toBe(4);
      p.setFault({ kind: 'reorder' });
      expect((await fetchItems(p)).map((i) => i.seq)).toEqual([2, 1]);
    });
  });

  it('alters copies as a compromised relay: the station signature no longer verifies, and it signs for the altered bytes', async () => {
    await withProxy(async (p) => {
      p.setFault({ kind: 'alter' });
      const items = await fetchItems(p);
      const altered = items[0]!.envelope as Uint8Array;
      expect(altered.length).toBe(envelope.length);
      expect(altered).not.toEqual(envelope);
      const parsed = parseEnvelope(altered);
      expect(parsed.header.id).toEqual(parseEnvelope(envelope).header.id);
      expect(() => { verifyEnvelopeStation(parsed, us.bundle.bundle, T); }).toThrow(expect.objectContaining({ code: 'signature_invalid' }));
      expect(p.alteredDigests()).toContain(toHex(sha256(altered)));
      // The desk acknowledges what it received; the rogue answers with a record for those bytes.
      const ack = signCopyAck(ir.station.key, { origin: 'relay.example/qa/00000000', party: 'ir', from: 'us', id: parsed.header.id, digest: sha256(altered), time: T + 4 });
      const r = await fetch(`${p.url}/v1/ack`, { method: 'POST', body: Buffer.from(encodeCbor({ acks: [ack] })) });
      const records = (decodeCbor(new Uint8Array(await r.arrayBuffer())) as CborMap).records as CborMap[];
      const rec = openDeliveryRecord(records[0]!.record as Uint8Array, relayKey.publicKey);
      expect(rec.digest).toEqual(sha256(altered));
    });
  });
});

describe('fault proxy schedules', () => {
  it('applies faults by schedule, in time order, then heals', async () => {
    await withProxy(async (p) => {
      const s = p.schedule([
        { afterMs: 60, heal: true },
        { afterMs: 0, partition: true },
        { afterMs: 30, rules: [{ path: '/echo', fault: { kind: 'delay', ms: 5, jitterMs: 20 } }] },
      ]);
      await s.done;
      // Partitioned, then healed; the delay rule from the middle step stays in force.
      const r = await fetch(`${p.url}/echo`, { method: 'POST', body: 'after' });
      expect(await r.text()).toBe('echo:after');
      expect(p.stats.faulted.delay).toBe(1);
    });
  });

  it('a cancelled schedule does nothing more, and close cancels what is left', async () => {
    await withProxy(async (p) => {
      const s = p.schedule([{ afterMs: 10_000, partition: true }]);
      s.cancel();
      await s.done;
      expect((await fetch(`${p.url}/echo`)).status).toBe(200);
      p.schedule([{ afterMs: 10_000, partition: true }]);
    });
  });

  it('jittered delay holds each request between its floor and floor plus jitter', async () => {
    await withProxy(async (p) => {
      p.setFault({ kind: 'delay', ms: 40, jitterMs: 60 });
      const t0 = performance.now();
      await (await fetch(`${p.url}/echo`)).text();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
      expect(p.stats.faulted.delay).toBe(1);
    });
  });
});
