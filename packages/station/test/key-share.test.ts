/**
 * Key delivery to the party's other desks (docs/protocol.md §4.8), in process: desk A holds the
 * root and rotates; desk B, enrolled with its own key-agreement key, receives the new private
 * keys sealed to that key and opens a note the peer sealed to the new key; desk C, removed from
 * the bundle by the rotation, gets nothing; a share a relay altered is an invalid copy with an
 * alert; a share signed by the party's own station but holding a key the bundle does not list
 * is refused with a `key_share_invalid` alert and installs nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Ed25519Key,
  newEncryptionKey,
  partyCardJson,
  sealEnvelope,
  signBundle,
  signSubmissionToken,
  type SignedBundle,
} from '@backchannel/core';
import type { Station } from '../src/station.js';
import type { ReceivedKeys } from '../src/key-share.js';
import { keysOf } from './fixtures/parties.js';
import { memoryWorld, type MemoryWorld } from './fixtures/memory-world.js';

let world: MemoryWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Setup {
  w: MemoryWorld;
  b: Station;
  c: Station;
  installed: ReceivedKeys[];
  bundle2: SignedBundle;
  rotate: () => Promise<{ bundle3: SignedBundle; fresh: { pub: Uint8Array; priv: Uint8Array } }>;
}

async function setup(seed: string): Promise<Setup> {
  world = await memoryWorld(seed);
  const w = world;
  const now = w.clock.now();
  const b1 = w.us.keys.bundle;
  const deskB = { key: Ed25519Key.generate(w.random), kx: await newEncryptionKey('x25519', now, w.random) };
  const deskC = { key: Ed25519Key.generate(w.random), kx: await newEncryptionKey('x25519', now, w.random) };
  // `station add`: bundle 2 lists desks B and C, each with its own key-agreement key.
  const bundle2 = signBundle(w.us.keys.root, {
    ...b1.bundle,
    seq: 2,
    issued: now,
    prev: b1.hash,
    stations: [
      ...b1.bundle.stations,
      { id: 'desk-2', pub: deskB.key.publicKey, notBefore: now, kx: { suite: 'x25519', pub: deskB.kx.pub } },
      { id: 'desk-3', pub: deskC.key.publicKey, notBefore: now, kx: { suite: 'x25519', pub: deskC.kx.pub } },
    ],
  });
  for (const r of Object.values(w.relays)) r.trust(bundle2);
  const base = keysOf(w.us);
  await w.usDesk.reloadKeys({ ...base, bundle: bundle2 });
  const installed: ReceivedKeys[] = [];
  const open = async (id: string, key: Ed25519Key, kx: { priv: Uint8Array }, file: string): Promise<Station> => {
    const s = await w.open(w.us, file, {
      keys: { ...base, bundle: bundle2, station: { id, key }, storageKey: w.random(32), desk: { suite: 'x25519', priv: kx.priv } },
      installKeys: (k) => {
        if (id === 'desk-2') installed.push(k);
        return Promise.resolve();
      },
    });
    for (const r of Object.values(w.relays)) await s.addRelay(r.card);
    await s.pinParty(w.ir.card, { fingerprint: w.ir.card.fingerprint });
    return s;
  };
  const b = await open('desk-2', deskB.key, deskB.kx, 'us-b.db');
  const c = await open('desk-3', deskC.key, deskC.kx, 'us-c.db');
  await w.irDesk.pinParty(partyCardJson(bundle2));
  return {
    w,
    b,
    c,
    installed,
    bundle2,
    rotate: async () => {
      // `rotate` on A: a new key, the old one kept; desk C leaves the bundle.
      const t = w.clock.now();
      const fresh = await newEncryptionKey('x25519', t, w.random);
      const bundle3 = signBundle(w.us.keys.root, {
        ...bundle2.bundle,
        seq: 3,
        issued: t,
        prev: bundle2.hash,
        enc: [...bundle2.bundle.enc, { suite: 'x25519', pub: fresh.pub, notBefore: fresh.notBefore, notAfter: fresh.notAfter }],
        stations: bundle2.bundle.stations.filter((s) => s.id !== 'desk-3'),
      });
      for (const r of Object.values(w.relays)) r.trust(bundle3);
      await w.usDesk.reloadKeys({ ...base, bundle: bundle3, encryption: [...base.encryption, { suite: 'x25519', pub: fresh.pub, priv: fresh.priv }] });
      return { bundle3, fresh };
    },
  };
}

describe('key shares', () => {
  it('the enrolled desk gets the new keys and opens a note sealed to them; the removed desk gets nothing', async () => {
    const { w, b, c, installed, rotate } = await setup('key-share-flow');
    const { bundle3, fresh } = await rotate();
    const base = keysOf(w.us);
    const shares = await w.usDesk.shareKeys({
      enc: [...base.encryption.map((e) => ({ suite: e.suite, priv: e.priv })), { suite: 'x25519', priv: fresh.priv }],
      signers: w.us.keys.signers.map((s) => ({ id: s.entry.id, seed: s.key.exportSeed(), certificate: s.certificate })),
    });
    // Only desk-2 is another desk of bundle 3.
    expect(shares.map((s) => ({ station: s.station, receipts: s.receipts.sort(), skipped: s.skipped }))).toEqual([{ station: 'desk-2', receipts: ['ch', 'om', 'qa'], skipped: undefined }]);

    // The peer learns bundle 3 and seals its next note to the new key.
    await w.irDesk.pinParty(partyCardJson(bundle3));
    const sent = await w.irDesk.send({ to: 'us', precedence: 'FLASH', subject: 'After the rotation', body: 'Sealed to the new key.' });

    const r = await b.sync();
    expect(r.received.filter((e) => e.kind === 'keys').map((e) => e.outcome).sort()).toEqual(['deliver', 'duplicate', 'duplicate']);
    expect(installed).toHaveLength(1);
    expect(installed[0]!.bundle.bundle.seq).toBe(3);
    expect(installed[0]!.enc.map((e) => Buffer.from(e.pub).toString('hex'))).toContain(Buffer.from(fresh.pub).toString('hex'));
    expect(installed[0]!.signers.map((s) => s.id).sort()).toEqual(['institution', 'minister']);
    expect(await b.show(sent.id)).toMatchObject({ id: sent.id, from: 'ir', body: 'Sealed to the new key.', consistent: true });
    expect(await b.alerts()).toEqual([]);
    // A sync again changes nothing: the shares were acknowledged.
    expect((await b.sync()).received.filter((e) => e.kind === 'keys')).toEqual([]);

    // Desk C (removed) saw a share sealed to another desk, and cannot open the note.
    const rc = await c.sync();
    expect(rc.received.filter((e) => e.kind === 'keys').map((e) => e.outcome)).toEqual(['other_desk', 'other_desk', 'other_desk']);
    expect(rc.received.filter((e) => e.id === sent.id).every((e) => e.outcome === 'unverifiable' && e.code === 'key_unknown')).toBe(true);
    await expect(c.show(sent.id)).rejects.toMatchObject({ code: 'not_found' });

    // The sending desk's own share came back to it: acknowledged, nothing else.
    const ra = await w.usDesk.sync();
    expect(ra.received.filter((e) => e.kind === 'keys').every((e) => e.outcome === 'other_desk')).toBe(true);
  }, 60_000);

  it('a share a relay altered is an invalid copy with an alert; the other relays\' copies install', async () => {
    const { w, b, installed, rotate } = await setup('key-share-altered');
    const { fresh } = await rotate();
    await w.usDesk.shareKeys({ enc: [{ suite: 'x25519', priv: fresh.priv }], signers: [] });
    w.relays.qa.faults.alter = true;
    const r = await b.sync();
    const keys = r.received.filter((e) => e.kind === 'keys' || e.relay === 'qa');
    expect(keys.find((e) => e.relay === 'qa')).toMatchObject({ valid: false });
    expect(installed).toHaveLength(1);
    const alerts = await b.alerts();
    expect(alerts.map((a) => [a.kind, a.relay])).toEqual([['invalid_copy', 'qa']]);
  }, 60_000);

  it('a share signed by our own station that holds a key the bundle does not list is refused with an alert', async () => {
    const { w, b, installed, bundle2 } = await setup('key-share-forged');
    const now = w.clock.now();
    const stray = await newEncryptionKey('x25519', now, w.random);
    const deskB = bundle2.bundle.stations.find((s) => s.id === 'desk-2')!;
    const signer = w.us.keys.signers[0]!;
    const sealed = await sealEnvelope({
      from: 'us',
      to: 'us',
      precedence: 'FLASH',
      created: now,
      content: { kind: 'keys', station: 'desk-2', desk: deskB.pub, bundle: { seq: 2, hash: bundle2.hash }, enc: [{ suite: 'x25519', priv: stray.priv }], signers: [] },
      senderBundle: bundle2,
      recipientBundle: bundle2,
      suite: 'x25519',
      station: w.us.keys.station.key,
      signer: { key: signer.key, certificate: signer.certificate },
      desk: deskB.kx!,
      random: w.random,
    });
    const ch = w.relays.ch;
    const api = ch.connect({ party: 'us', station: w.us.keys.station.key });
    await api.submit(sealed.bytes, signSubmissionToken(w.us.keys.station.key, { origin: ch.origin, party: 'us', digest: sealed.digest, time: now, random: w.random }));
    const r = await b.sync();
    expect(r.received.filter((e) => e.kind === 'keys')).toEqual([expect.objectContaining({ relay: 'ch', outcome: 'invalid', code: 'key_unknown' })]);
    expect(installed).toEqual([]);
    const alerts = await b.alerts();
    expect(alerts).toEqual([expect.objectContaining({ kind: 'key_share_invalid', party: 'us', relay: undefined })]);
    expect(alerts[0]!.evidence).toMatchObject({ relay: 'ch', code: 'key_unknown' });
  }, 60_000);
});
