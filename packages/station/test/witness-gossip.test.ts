/**
 * Issue 7, station side: a witness quorum policy per relay (a checkpoint without quorum is a
 * problem in verify(), never a fork), and checkpoint gossip between the two parties' desks that
 * catches a relay forking its log (two desks shown different checkpoints; staged by signing a
 * second tree with the relay's log key, as a compromised relay would) with both signed
 * checkpoints as evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ed25519Key, SIGNATURE_TYPE_COSIGNATURE_V1, deriveVkey, formatVkey, openCheckpoint, parseRelayCard, sha256, signCheckpoint } from '@backchannel/core';
import type { Station } from '../src/station.js';
import { decodeGossip, encodeGossip } from '../src/gossip.js';
import { tempDir } from './fixtures/parties.js';
import { openDeskPair, type DeskPair, type RealRelay } from './fixtures/real-relays.js';

describe('witness quorum and checkpoint gossip', () => {
  const tmp = tempDir('bc-station-gossip-');
  let pair: DeskPair;
  let ch: RealRelay;
  let usDesk: Station;
  let irDesk: Station;
  const witnessKey = formatVkey(deriveVkey(Ed25519Key.generate(), 'witness.example/w1', SIGNATURE_TYPE_COSIGNATURE_V1));

  beforeAll(async () => {
    pair = await openDeskPair(tmp.dir);
    ({ ch, usDesk, irDesk } = pair);
    for (let i = 0; i < 3; i++) await usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: `s${i}`, body: `b${i}`, via: ['ch'], failover: 'none' });
    await irDesk.sync();
  }, 60_000);

  afterAll(async () => {
    await pair.close();
    tmp.remove();
  });

  it('a bad policy is refused; a good one is stored per relay', async () => {
    await expect(usDesk.setWitnessPolicy('ch', ['not a vkey'])).rejects.toMatchObject({ code: 'witness_policy_invalid' });
    await expect(usDesk.setWitnessPolicy('ch', [witnessKey], 2)).rejects.toMatchObject({ code: 'witness_policy_invalid' });
    await expect(usDesk.setWitnessPolicy('nope', [witnessKey], 1)).rejects.toMatchObject({ code: 'unknown_relay' });
    expect(await usDesk.witnessPolicy('ch')).toEqual({ witnesses: [], quorum: 0 });
  });

  it('verify treats a checkpoint without the witness quorum as unverified: a problem, not a fork', async () => {
    const before = await irDesk.verify();
    expect(before.ok).toBe(true);
    await irDesk.setWitnessPolicy('ch', [witnessKey], 1);
    const r = await irDesk.verify();
    expect(r.ok).toBe(false);
    const v = r.relays.find((x) => x.relay === 'ch')!;
    expect(v.witnessed).toEqual({ ok: false, quorum: 1, cosigned: [] });
    expect(v.problems.join(' ')).toMatch(/not witnessed/);
    expect(await irDesk.alerts({ kind: 'fork' })).toEqual([]);
    await irDesk.setWitnessPolicy('ch', [], 0);
    expect((await irDesk.verify()).ok).toBe(true);
  });

  it('genuine gossip raises nothing; gossip not signed by the relay is ignored', async () => {
    const items = decodeGossip(encodeGossip(await irDesk.gossip()));
    expect(items.map((i) => i.origin)).toEqual([ch.origin]);
    const r = await usDesk.receiveGossip('ir', items);
    expect(r).toMatchObject({ checked: 1, alerts: [] });
    const stranger = signCheckpoint(Ed25519Key.generate(), ch.origin, 5, sha256(new Uint8Array([1])));
    const r2 = await usDesk.receiveGossip('ir', [{ origin: ch.origin, note: stranger }, { origin: 'elsewhere/x', note: stranger }]);
    expect(r2.checked).toBe(0);
    expect(r2.ignored.length).toBe(2);
    expect(await usDesk.alerts({ kind: 'fork' })).toEqual([]);
  });

  let genuine = '';

  it('a relay that showed ir another tree of the same size is caught by gossip, with both signed checkpoints', async () => {
    const held = (await usDesk.gossip())[0]!;
    genuine = held.note;
    const size = openCheckpoint(held.note, parseRelayCard(ch.card).vkey).checkpoint.size;
    // What the compromised relay showed ir: a second tree of that size, signed with its log key.
    const forged = signCheckpoint(ch.logKey, ch.origin, size, sha256(new TextEncoder().encode('another history')));
    const r = await usDesk.receiveGossip('ir', decodeGossip(encodeGossip([{ origin: ch.origin, note: forged }])));
    expect(r.alerts.length).toBe(1);
    const [alert] = await usDesk.alerts({ kind: 'fork' });
    expect(alert).toMatchObject({ relay: 'ch', party: 'ir' });
    expect(alert!.evidence).toMatchObject({ relay: 'ch', held_checkpoint: held.note, presented_checkpoint: forged, via: 'gossip from ir' });
    // Both are signed by the relay: anyone can check the evidence with its card.
    for (const note of [held.note, forged]) expect(openCheckpoint(note, parseRelayCard(ch.card).vkey).checkpoint.size).toBe(size);
  });

  it('a checkpoint this desk holds is not waved through when another root of its size is held too', async () => {
    // us now holds both trees of that size (its own and the forged one gossip brought): the
    // genuine one gossiped back is compared again, not taken as already known.
    const before = (await usDesk.alerts({ kind: 'fork' })).length;
    const r = await usDesk.receiveGossip('ir', [{ origin: ch.origin, note: genuine }]);
    expect(r.checked).toBe(1);
    expect(r.alerts.length).toBe(1);
    expect((await usDesk.alerts({ kind: 'fork' })).length).toBe(before + 1);
  });

  it('a larger forked tree is caught too: the relay cannot prove it consistent', async () => {
    const held = (await irDesk.gossip())[0]!;
    const size = openCheckpoint(held.note, parseRelayCard(ch.card).vkey).checkpoint.size;
    const forged = signCheckpoint(ch.logKey, ch.origin, size + 1, sha256(new TextEncoder().encode('a longer, other history')));
    // Give the relay a larger real tree, so it can answer a consistency proof request.
    await usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'more', body: 'more', via: ['ch'], failover: 'none' });
    const r = await irDesk.receiveGossip('us', [{ origin: ch.origin, note: forged }]);
    expect(r.alerts.length).toBe(1);
    const [alert] = await irDesk.alerts({ kind: 'fork' });
    expect(alert!.evidence).toMatchObject({ presented_checkpoint: forged });
    expect(Array.isArray((alert!.evidence as Record<string, unknown>).consistency_proof)).toBe(true);
  });

  it('gossip travels inside sealed notes: the peer checks the checkpoints the sender holds', async () => {
    // us holds, from the earlier test, a checkpoint of a tree the compromised relay showed only
    // to one side. us now writes to ir as usual: the gossip rides inside the sealed note.
    const alertIds = new Set((await irDesk.alerts({ kind: 'fork' })).map((a) => a.id));
    await usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'routine', body: 'nothing to see', via: ['ch'], failover: 'none' });
    await irDesk.sync();
    const fresh = (await irDesk.alerts({ kind: 'fork' })).filter((a) => !alertIds.has(a.id));
    expect(fresh.length).toBeGreaterThan(0);
    for (const a of fresh) {
      const e = a.evidence as Record<string, unknown>;
      expect(e.via).toBe('gossip from us');
      // The evidence is the relay's own signature on the other history: checkable with its card.
      expect(openCheckpoint(String(e.presented_checkpoint), parseRelayCard(ch.card).vkey).checkpoint.origin).toBe(ch.origin);
    }
  });
});
