/**
 * Misbehaviour becomes an alert with evidence (DESIGN.md, "Evidence of misbehaviour"): an
 * altered copy, an equivocating sender, a replay, a forked log, a changed key, a drop, a delay.
 * Relays are in process (test/fixtures/memory-relay.ts) so each fault is staged exactly; the
 * evidence is checked with the core, as a third party would.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Ed25519Key,
  fromBase64,
  openDeliveryRecord,
  sealEnvelope,
  sha256,
  signBundle,
  signSubmissionToken,
  toHex,
  type SignedBundle,
} from '@backchannel/core';
import { eventually, memoryWorld, type MemoryWorld } from './fixtures/memory-world.js';
import { makeParty } from './fixtures/parties.js';
import type { Evidence } from '../src/store/types.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

function str(e: Evidence | undefined, k: string): string {
  const v = e?.[k];
  if (typeof v !== 'string') throw new Error(`evidence has no ${k}`);
  return v;
}

function sub(e: Evidence, k: string): Evidence {
  const v = e[k];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`evidence has no ${k}`);
  return v;
}

describe('alerts with evidence', () => {
  it('a relay that alters its copy is flagged, bound by its own delivery record; the note still arrives from the others', async () => {
    w = await memoryWorld('alter');
    w.relays.qa.faults.alter = true;
    const sent = await w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Later note', body: 'The same words on every channel.' });
    const s = await w.irDesk.sync();
    expect(s.received.filter((e) => !e.valid).map((e) => e.relay)).toEqual(['qa']);
    const n = await w.irDesk.show(sent.id);
    expect(n.body).toBe('The same words on every channel.');
    expect(n.consistent).toBe(false);
    expect(n.copies.find((c) => c.relay === 'qa')).toMatchObject({ valid: false, error: 'token_invalid' });
    const [alert, ...more] = await w.irDesk.alerts({ kind: 'invalid_copy' });
    expect(more).toEqual([]);
    expect(alert).toMatchObject({ relay: 'qa', party: 'us', note: { from: 'us', id: sent.id } });
    // The evidence verifies with qa's card alone: qa signed that it handed over these bytes.
    const copy = sub(alert!.evidence, 'copy');
    const record = openDeliveryRecord(fromBase64(str(copy, 'delivery_record')), w.relays.qa.vkey.publicKey);
    expect(toHex(record.digest)).toBe(toHex(sha256(fromBase64(str(copy, 'envelope')))));
    expect(toHex(record.digest)).not.toBe(n.digest);
    expect(str(alert!.evidence, 'valid_digest')).toBe(n.digest);
  });

  it('a sender that signs two different envelopes with one id has equivocated: both are shown, signed', async () => {
    w = await memoryWorld('equivocation');
    const { us, ir, relays } = w;
    const id = w.random(16);
    const seal = (body: string) =>
      sealEnvelope({
        from: 'us',
        to: 'ir',
        precedence: 'IMMEDIATE',
        created: w!.clock.now(),
        content: { kind: 'note', subject: 'Mixed', body, category: 'political', thread: id },
        senderBundle: us.keys.bundle,
        recipientBundle: ir.keys.bundle,
        suite: 'x25519',
        station: us.keys.station.key,
        signer: { key: us.keys.signers[0]!.key, certificate: us.keys.signers[0]!.certificate },
        id,
        random: w!.random,
      });
    const a = await seal('We will talk.');
    const b = await seal('We will not talk.');
    for (const [relay, env] of [[relays.ch, a], [relays.om, b]] as const) {
      const api = relay.connect({ party: 'us', station: us.keys.station.key });
      await api.submit(env.bytes, signSubmissionToken(us.keys.station.key, { origin: relay.origin, party: 'us', digest: env.digest, time: w.clock.now(), random: w.random }));
    }
    await w.irDesk.sync();
    const n = await w.irDesk.show(toHex(id));
    expect(n.equivocated).toBe(true);
    expect(n.consistent).toBe(false);
    expect(n.copies.every((c) => c.valid)).toBe(true);
    const [alert] = await w.irDesk.alerts({ kind: 'equivocation' });
    expect(alert).toMatchObject({ party: 'us', note: { from: 'us', id: toHex(id) } });
    const digests = [str(sub(alert!.evidence, 'first'), 'digest'), str(sub(alert!.evidence, 'second'), 'digest')].sort();
    expect(digests).toEqual([toHex(a.digest), toHex(b.digest)].sort());
  });

  it('an envelope whose own signature fails under a valid token is the sender\'s doing, not the relay\'s', async () => {
    w = await memoryWorld('sender-fault');
    const { us, ir, relays } = w;
    const env = await sealEnvelope({
      from: 'us',
      to: 'ir',
      precedence: 'IMMEDIATE',
      created: w.clock.now(),
      content: { kind: 'note', subject: 'Broken', body: 'Signed wrong.', category: 'political', thread: w.random(16) },
      senderBundle: us.keys.bundle,
      recipientBundle: ir.keys.bundle,
      suite: 'x25519',
      station: us.keys.station.key,
      signer: { key: us.keys.signers[0]!.key, certificate: us.keys.signers[0]!.certificate },
      random: w.random,
    });
    // The station signature is the last 64 bytes: break it, then sign the broken bytes' digest
    // in the token as a faulty (or lying) sending station would.
    const bytes = Uint8Array.from(env.bytes);
    bytes[bytes.length - 1]! ^= 1;
    const digest = sha256(bytes);
    const api = relays.ch.connect({ party: 'us', station: us.keys.station.key });
    await api.submit(bytes, signSubmissionToken(us.keys.station.key, { origin: relays.ch.origin, party: 'us', digest, time: w.clock.now(), random: w.random }));
    const s = await w.irDesk.sync();
    expect(s.received.map((e) => ({ relay: e.relay, valid: e.valid, code: e.code }))).toEqual([{ relay: 'ch', valid: false, code: 'signature_invalid' }]);
    expect(await w.irDesk.alerts({ kind: 'invalid_copy' })).toEqual([]);
    const [alert, ...more] = await w.irDesk.alerts({ kind: 'signer_invalid' });
    expect(more).toEqual([]);
    expect(alert).toMatchObject({ relay: undefined, party: 'us', note: { from: 'us', id: toHex(env.header.id) } });
    // The evidence carries the sender's own token over exactly the bytes delivered.
    const copy = sub(alert!.evidence, 'copy');
    expect(toHex(sha256(fromBase64(str(copy, 'envelope'))))).toBe(toHex(digest));
    expect(str(copy, 'token').length).toBeGreaterThan(0);
  });

  it('a copy redelivered after our signed acknowledgement is a replay; a duplicate is absorbed', async () => {
    w = await memoryWorld('replay');
    const sent = await w.usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'Consular', body: 'Passports.' });
    await w.irDesk.sync();
    w.relays.ch.faults.replay = true;
    const s = await w.irDesk.sync();
    expect(s.delivered).toBe(0);
    expect(s.received.find((e) => e.id === sent.id)?.outcome).toBe('replay');
    const [alert] = await w.irDesk.alerts({ kind: 'replay' });
    expect(alert).toMatchObject({ relay: 'ch', note: { from: 'us', id: sent.id } });
    expect(alert!.evidence.copy_ack).toEqual(expect.any(String));
    expect(alert!.evidence.delivery_record).toEqual(expect.any(String));
    expect((await w.irDesk.inbox()).filter((x) => x.id === sent.id)).toHaveLength(1);
  });

  it('an item handed out again under its number after a lost answer (cursor not yet written) is not a replay', async () => {
    w = await memoryWorld('resent');
    const sent = await w.usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'Consular', body: 'Passports.' });
    await w.irDesk.sync();
    // As if the desk crashed after acknowledging, before it stored its cursor.
    await w.irDesk.close();
    const db = new BetterSqlite3(join(w.dir, 'ir.db'));
    db.prepare('update cursors set position = 0').run();
    db.close();
    const again = await w.open(w.ir, 'ir.db');
    const s = await again.sync();
    expect(s.received.find((e) => e.id === sent.id)?.outcome).toBe('redelivery');
    expect(await again.alerts()).toEqual([]);
  });

  it('two checkpoints of one origin that are not consistent are a fork, with both checkpoints', async () => {
    w = await memoryWorld('fork');
    await w.usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'One', body: 'One.' });
    expect((await w.usDesk.verify()).ok).toBe(true);
    await w.usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'Two', body: 'Two.' });
    await w.irDesk.sync();
    await w.usDesk.sync();
    const second = await w.usDesk.verify();
    expect(second.ok).toBe(true);
    // Two submissions and their deliveries; ir's acknowledgement and our delivery record for it.
    expect(second.relays.find((r) => r.relay === 'ch')?.receipts).toBe(6);
    w.relays.ch.fork();
    const v = await w.usDesk.verify();
    expect(v.ok).toBe(false);
    expect(v.relays.find((r) => r.relay === 'ch')?.ok).toBe(false);
    const [alert] = await w.usDesk.alerts({ kind: 'fork' });
    expect(alert?.relay).toBe('ch');
    expect(str(alert!.evidence, 'held_checkpoint')).toContain(w.relays.ch.origin);
    expect(str(alert!.evidence, 'presented_checkpoint')).not.toBe(str(alert!.evidence, 'held_checkpoint'));
  });

  it('a newer bundle of the pinned root is taken from the relay; one under another root is refused as a key change', async () => {
    w = await memoryWorld('bundles');
    const { ir } = w;
    // ir adds a desk: bundle 2 under the same root.
    const desk2 = Ed25519Key.generate(w.random);
    const b = ir.keys.bundle.bundle;
    const bundle2: SignedBundle = signBundle(ir.keys.root, { ...b, seq: 2, issued: w.clock.now(), prev: ir.keys.bundle.hash, stations: [...b.stations, { id: 'desk-2', pub: desk2.publicKey, notBefore: w.clock.now() }] });
    for (const r of Object.values(w.relays)) r.trust(bundle2);
    const irDesk2 = await w.open({ ...ir, keys: { ...ir.keys, bundle: bundle2, station: { id: 'desk-2', key: desk2 } } }, 'ir2.db');
    for (const r of Object.values(w.relays)) await irDesk2.addRelay(r.card);
    await irDesk2.pinParty(w.us.card);
    const sent = await irDesk2.send({ to: 'us', precedence: 'PRIORITY', subject: 'From the new desk', body: 'Hello.' });
    await w.usDesk.sync();
    expect((await w.usDesk.show(sent.id)).body).toBe('Hello.');
    expect((await w.usDesk.parties()).find((p) => p.id === 'ir')?.seq).toBe(2);

    // A relay now hands out a bundle 3 for ir under another root.
    const impostor = await makeParty('ir', 'Islamic Republic of Iran', w.clock.now(), w.random);
    const fake = signBundle(impostor.keys.root, { ...impostor.keys.bundle.bundle, seq: 3 });
    const bundle3 = signBundle(ir.keys.root, { ...bundle2.bundle, seq: 3, prev: bundle2.hash });
    for (const r of Object.values(w.relays)) r.trust(bundle3);
    const irDesk3 = await w.open({ ...ir, keys: { ...ir.keys, bundle: bundle3, station: { id: 'desk-2', key: desk2 } } }, 'ir3.db');
    for (const r of Object.values(w.relays)) await irDesk3.addRelay(r.card);
    await irDesk3.pinParty(w.us.card);
    const second = await irDesk3.send({ to: 'us', precedence: 'PRIORITY', subject: 'Second', body: 'Again.' });
    for (const r of Object.values(w.relays)) r.trust(fake);
    const s = await w.usDesk.sync();
    expect(s.received.find((e) => e.id === second.id)).toMatchObject({ outcome: 'unverifiable', code: 'root_mismatch' });
    const alerts = await w.usDesk.alerts({ kind: 'key_change' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ party: 'ir', relay: 'ch' });
    expect((await w.usDesk.parties()).find((p) => p.id === 'ir')?.seq).toBe(2);
  });

  it('a receipt without a delivery past the deadline is a drop; no delivery at all is a missed deadline', async () => {
    w = await memoryWorld('drop');
    const sent = await w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Urgent', body: 'Now.', via: ['ch'], failover: 'none' });
    await w.clock.advance(5 * 60_000);
    await eventually(async () => (await w!.usDesk.alerts({ kind: 'deadline_missed' })).length === 1);
    const drops = await w.usDesk.alerts({ kind: 'drop' });
    expect(drops).toMatchObject([{ relay: 'ch', note: { from: 'us', id: sent.id } }]);
    expect(drops[0]!.evidence.receipt).toEqual(expect.any(String));
    expect((await w.usDesk.show(sent.id)).alerts).toHaveLength(2);
  });

  it('a delivery record later than the objective is a delay, with the record as evidence', async () => {
    w = await memoryWorld('delay');
    const sent = await w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Urgent', body: 'Now.', via: ['ch'], failover: 'none' });
    await w.clock.advance(6 * 60_000);
    await w.irDesk.sync();
    await w.usDesk.sync();
    const [delay] = await w.usDesk.alerts({ kind: 'delay' });
    expect(delay).toMatchObject({ relay: 'ch', note: { from: 'us', id: sent.id } });
    expect(delay!.evidence.late_by_ms).toBe(60_000);
  });
});
