/**
 * The station against REAL relays on loopback (issue 4, "Tests that must pass"): two parties,
 * three relays started in process with startRelay on temporary SQLite files, stations talking
 * HTTP (docs/relay-api.md) with the system clock.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ed25519Key, createParty, fromBase64, signBundle, isBackchannelError, openDeliveryRecord, parseRelayCard, partyCardJson, sha256, systemRandom, toHex } from '@backchannel/core';
import type { Evidence } from '../src/store/types.js';
import type { WatchEvent } from '../src/watch.js';
import { eventually } from './fixtures/memory-world.js';
import { FaultProxy } from '@backchannel/faults';
import { Station } from '../src/station.js';
import { keysOf, makeParty, tempDir, type TestParty } from './fixtures/parties.js';
import { freePort, realRelay, type RealRelay } from './fixtures/real-relays.js';

describe('two parties, three real relays', () => {
  const tmp = tempDir('bc-station-it-');
  let us: TestParty;
  let ir: TestParty;
  let ch: RealRelay;
  let om: RealRelay;
  let qa: RealRelay;
  let qaProxy: FaultProxy;
  let usDesk: Station;
  let irDesk: Station;

  beforeAll(async () => {
    const now = Date.now() - 60_000;
    us = await makeParty('us', 'United States', now, systemRandom);
    ir = await makeParty('ir', 'Islamic Republic of Iran', now, systemRandom);
    // qa is reached through a proxy holding its keys: the compromised relay of the story.
    const qaPublic = await freePort();
    [ch, om, qa] = await Promise.all([
      realRelay('ch', 'Swiss protecting power', tmp.dir, [us, ir]),
      realRelay('om', 'Sultanate of Oman', tmp.dir, [us, ir]),
      realRelay('qa', 'State of Qatar', tmp.dir, [us, ir], { publicPort: qaPublic }),
    ]);
    qaProxy = await FaultProxy.start({ target: `http://127.0.0.1:${qa.port}`, port: qaPublic, rogue: { logKey: qa.logKey, origin: qa.origin } });
    // Short request timeout: a relay that is down must not hold a test up.
    const policy = { requestTimeoutMs: 3000, sendTimeoutMs: 4000 };
    usDesk = await Station.open({ path: join(tmp.dir, 'us.db'), keys: keysOf(us), policy });
    irDesk = await Station.open({ path: join(tmp.dir, 'ir.db'), keys: keysOf(ir), policy });
    for (const desk of [usDesk, irDesk]) for (const r of [ch, om, qa]) await desk.addRelay(r.card);
    await usDesk.pinParty(JSON.stringify(ir.card), { fingerprint: ir.card.fingerprint });
    await irDesk.pinParty(JSON.stringify(us.card), { fingerprint: us.card.fingerprint });
  }, 60_000);

  afterAll(async () => {
    await usDesk.close();
    await irDesk.close();
    await qaProxy.close();
    await Promise.all([ch, om, qa].map((r) => r.stop()));
    tmp.remove();
  });

  let flashId = '';

  it('sends through one relay', async () => {
    const r = await usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Restraint', body: 'Do not escalate.', via: ['ch'], failover: 'none' });
    flashId = r.id;
    expect(r.receipts).toEqual([{ relay: 'ch', log_index: expect.any(Number) as number }]);
    expect(r.failures).toEqual([]);
    const s = await irDesk.sync();
    expect(s.relays.every((x) => x.ok)).toBe(true);
    expect(s.delivered).toBe(1);
    const n = await irDesk.show(flashId);
    expect(n).toMatchObject({ from: 'us', subject: 'Restraint', body: 'Do not escalate.', consistent: true });
    expect(n.copies.map((c) => c.relay)).toEqual(['ch']);
  });

  let allId = '';

  it('sends through all three: three identical copies, consistent, with the attribution', async () => {
    const r = await irDesk.send({ to: 'us', precedence: 'IMMEDIATE', subject: 'Retaliation', body: 'Retaliation has concluded.', via: ['ch', 'om', 'qa'] });
    allId = r.id;
    expect(r.receipts.map((x) => x.relay).sort()).toEqual(['ch', 'om', 'qa']);
    const s = await usDesk.sync();
    expect(s.relays.every((x) => x.ok)).toBe(true);
    const n = await usDesk.show(allId);
    expect(n.copies.map((c) => c.relay).sort()).toEqual(['ch', 'om', 'qa']);
    expect(n.copies.every((c) => c.valid && c.digest === n.digest)).toBe(true);
    expect(n.consistent).toBe(true);
    expect(n.attribution).toMatchObject({ party: 'ir', level: 'institutional', signer: 'institution' });
    expect(await usDesk.alerts()).toEqual([]);
  });

  it('acknowledgements reach the sender through every channel', async () => {
    // us acknowledged in its sync; ir fetches the acknowledgement and the delivery records.
    const s = await irDesk.sync();
    expect(s.relays.every((x) => x.ok)).toBe(true);
    const n = await irDesk.show(allId);
    expect(n.status).toBe('acknowledged');
    expect(n.channels.map((c) => [c.relay, c.acked_at !== null, c.delivered_at !== null]).sort()).toEqual([
      ['ch', true, true],
      ['om', true, true],
      ['qa', true, true],
    ]);
  });

  it('a reply continues the thread', async () => {
    const r = await usDesk.send({ to: 'ir', precedence: 'PRIORITY', subject: 'Re: Retaliation', body: 'Received. We will not respond further.', replyTo: allId });
    expect(r.thread).toBe(allId);
    await irDesk.sync();
    const t = await irDesk.thread(allId);
    expect(t.notes.map((x) => [x.from, x.subject])).toEqual([
      ['ir', 'Retaliation'],
      ['us', 'Re: Retaliation'],
    ]);
  });

  it('verify checks every receipt against the relays logs', async () => {
    const v = await irDesk.verify();
    expect(v.relays.map((x) => [x.relay, x.ok, x.problems])).toEqual([
      ['ch', true, []],
      ['om', true, []],
      ['qa', true, []],
    ]);
    expect(v.ok).toBe(true);
  });

  it('a relay that is down: the station fails over at once and the note arrives within its deadline', async () => {
    await ch.stop();
    try {
      const r = await usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Stand down', body: 'Stand down all units.', via: ['ch'] });
      expect(r.failures).toMatchObject([{ relay: 'ch', code: 'relay_unreachable' }]);
      expect(r.failover.map((f) => f.relay).sort()).toEqual(['om', 'qa']);
      expect(r.receipts.map((x) => x.relay).sort()).toEqual(['om', 'qa']);
      const s = await irDesk.sync();
      expect(s.relays.find((x) => x.relay === 'ch')?.ok).toBe(false);
      const n = await irDesk.show(r.id);
      expect(n.body).toBe('Stand down all units.');
      expect(n.copies.map((c) => c.relay).sort()).toEqual(['om', 'qa']);
      expect(n.copies[0]!.received_at - n.created).toBeLessThan(5 * 60_000);
      await usDesk.sync();
      const sent = await usDesk.show(r.id);
      expect(sent.channels.filter((c) => c.delivered_at !== null).map((c) => c.relay).sort()).toEqual(['om', 'qa']);
      expect(sent.timeline.some((e) => e.event === 'failover')).toBe(true);
    } finally {
      await ch.start();
    }
  });

  it('watching: a FLASH note arrives by push, without a sync, and is acknowledged end to end', async () => {
    const events: WatchEvent[] = [];
    const watch = await irDesk.watch({ onEvent: (e) => events.push(e) });
    try {
      await eventually(() => events.filter((e) => e.type === 'connected').length === 3);
      const r = await usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Pushed', body: 'By the FLASH path.' });
      await eventually(async () => (await irDesk.show(r.id).catch(() => undefined))?.copies.length === 3);
      // 'received' follows the durable commit of the burst, a moment after its rows are visible.
      await eventually(() => events.filter((e) => e.type === 'received').length >= 3);
      await eventually(() => events.some((e) => e.type === 'acknowledged'));
      await usDesk.sync();
      expect((await usDesk.show(r.id)).status).toBe('acknowledged');
    } finally {
      await watch.close();
    }
  });

  it('a relay that alters its copy is detected with evidence, and the note still arrives from the others', async () => {
    qaProxy.setFault({ kind: 'alter' });
    try {
      const r = await irDesk.send({ to: 'us', precedence: 'FLASH', subject: 'Later note', body: 'Identical on every channel.' });
      expect(r.receipts.map((x) => x.relay).sort()).toEqual(['ch', 'om', 'qa']);
      const s = await usDesk.sync();
      expect(s.received.filter((e) => e.id === r.id).map((e) => [e.relay, e.valid]).sort()).toEqual([
        ['ch', true],
        ['om', true],
        ['qa', false],
      ]);
      const n = await usDesk.show(r.id);
      expect(n.body).toBe('Identical on every channel.');
      expect(n.consistent).toBe(false);
      const alerts = (await usDesk.alerts({ kind: 'invalid_copy' })).filter((a) => a.note?.id === r.id);
      expect(alerts.map((a) => a.relay)).toEqual(['qa']);
      // Anyone with qa's card can check it: qa signed that it handed over these bytes.
      const card = parseRelayCard(qa.card);
      const copy = alerts[0]!.evidence.copy as Evidence;
      const bytes = fromBase64(copy.envelope as string);
      const record = openDeliveryRecord(fromBase64(copy.delivery_record as string), card.vkey.publicKey);
      expect(toHex(record.digest)).toBe(toHex(sha256(bytes)));
      expect(toHex(record.digest)).not.toBe(n.digest);
      // qa could not log the record it forged: that is an alert of its own.
      expect((await usDesk.alerts({ kind: 'receipt_invalid' })).map((a) => a.relay)).toEqual(['qa']);
    } finally {
      qaProxy.setFault({ kind: 'pass' });
    }
  });

  it('a new desk under a newer bundle: the relay is given the bundle, the recipient fetches it', async () => {
    const desk2 = Ed25519Key.generate();
    const b = us.keys.bundle.bundle;
    const bundle2 = signBundle(us.keys.root, { ...b, seq: 2, issued: Date.now(), prev: us.keys.bundle.hash, stations: [...b.stations, { id: 'desk-2', pub: desk2.publicKey, notBefore: Date.now() - 1000 }] });
    const usDesk2 = await Station.open({
      path: join(tmp.dir, 'us2.db'),
      keys: { ...keysOf(us), bundle: bundle2, station: { id: 'desk-2', key: desk2 } },
      policy: { requestTimeoutMs: 3000, sendTimeoutMs: 4000 },
    });
    try {
      await usDesk2.addRelay(om.card);
      await usDesk2.pinParty(ir.card);
      const r = await usDesk2.send({ to: 'ir', precedence: 'PRIORITY', subject: 'From desk 2', body: 'A second desk.' });
      expect(r.failures).toEqual([]);
      expect(r.receipts.map((x) => x.relay)).toEqual(['om']);
      await irDesk.sync();
      expect((await irDesk.show(r.id)).body).toBe('A second desk.');
      expect((await irDesk.parties()).find((p) => p.id === 'us')?.seq).toBe(2);
      // The first desk gets what its colleague sent.
      await usDesk.sync();
      expect((await usDesk.show(r.id)).direction).toBe('out');
    } finally {
      await usDesk2.close();
    }
  });

  it('a changed party key is refused, with an alert', async () => {
    const impostor = await createParty({ id: 'ir', name: 'Islamic Republic of Iran', now: Date.now(), random: systemRandom });
    const err = await usDesk.pinParty(partyCardJson(impostor.bundle)).catch((e: unknown) => e);
    expect(isBackchannelError(err, 'root_mismatch')).toBe(true);
    const alerts = await usDesk.alerts({ kind: 'key_change' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ party: 'ir', kind: 'key_change' });
    // Still the pinned root.
    expect((await usDesk.parties()).find((p) => p.id === 'ir')?.fingerprint).toBe(ir.card.fingerprint);
  });
});
