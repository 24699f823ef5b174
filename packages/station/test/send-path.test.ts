/**
 * The send and receive paths' promises, held while they were made cheaper (fewer commits, no
 * round trip for gossip this desk already holds):
 *
 *  - the sealed envelope, and the channels chosen for it, are committed — visible to another
 *    connection to the store file — before the first relay sees a byte of it;
 *  - the receipt, its checkpoint and the channel's health are stored when `send` returns;
 *  - a gossiped checkpoint the recipient already holds costs no consistency proof, and one it
 *    does not hold still does.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, toHex } from '@backchannel/core';
import type { Station } from '../src/station.js';
import type { RelayApi } from '../src/relay-client.js';
import { memoryWorld, type MemoryWorld } from './fixtures/memory-world.js';

describe('what the send path commits, and when', () => {
  let w: MemoryWorld;
  let desk: Station;
  let irDesk: Station;
  const atSubmit: { relay: string; digest: string; stored: boolean; envelopeStored: boolean; channels: string[] }[] = [];
  const proofs: { relay: string; first: number; second: number }[] = [];

  beforeAll(async () => {
    w = await memoryWorld('send-path');
    const file = join(w.dir, 'us-watched.db');
    const relayOf = (id: string): (typeof w.relays)[keyof typeof w.relays] => {
      const r = Object.values(w.relays).find((x) => x.id === id);
      if (r === undefined) throw new Error(`no test relay ${id}`);
      return r;
    };
    desk = await w.open(w.us, 'us-watched.db', {
      connect: (entry, d): RelayApi => {
        const api = relayOf(entry.id).connect(d);
        return {
          ...api,
          submit: async (envelope, token) => {
            // Another connection sees only what was committed.
            const db = new BetterSqlite3(file, { readonly: true });
            try {
              const digest = sha256(envelope);
              const row = db.prepare('select id, envelope from outgoing where digest = ?').get(Buffer.from(digest)) as { id: string; envelope: Buffer } | undefined;
              const channels = row === undefined ? [] : (db.prepare('select relay from channels where note_id = ? order by relay').all(row.id) as { relay: string }[]).map((c) => c.relay);
              atSubmit.push({ relay: entry.id, digest: toHex(digest), stored: row !== undefined, envelopeStored: row !== undefined && Buffer.compare(row.envelope, Buffer.from(envelope)) === 0, channels });
            } finally {
              db.close();
            }
            return api.submit(envelope, token);
          },
        };
      },
    });
    for (const r of [w.relays.ch, w.relays.om, w.relays.qa]) await desk.addRelay(r.card);
    await desk.pinParty(w.ir.card, { fingerprint: w.ir.card.fingerprint });
    irDesk = await w.open(w.ir, 'ir-watched.db', {
      connect: (entry, d): RelayApi => {
        const api = relayOf(entry.id).connect(d);
        return {
          ...api,
          consistencyProof: (first, second) => {
            proofs.push({ relay: entry.id, first, second });
            return api.consistencyProof(first, second);
          },
        };
      },
    });
    for (const r of [w.relays.ch, w.relays.om, w.relays.qa]) await irDesk.addRelay(r.card);
    await irDesk.pinParty(w.us.card, { fingerprint: w.us.card.fingerprint });
  });
  afterAll(async () => {
    await w.close();
  });

  it('the sealed envelope and its chosen channels are committed before the first submission', async () => {
    const r = await desk.send({ to: 'ir', precedence: 'FLASH', subject: 'Durable', body: 'Stored before it leaves.' });
    expect(r.receipts.map((x) => x.relay).sort()).toEqual(['ch', 'om', 'qa']);
    expect(atSubmit.map((s) => s.relay).sort()).toEqual(['ch', 'om', 'qa']);
    for (const s of atSubmit) {
      expect(s).toMatchObject({ digest: r.digest, stored: true, envelopeStored: true, channels: ['ch', 'om', 'qa'] });
    }
  });

  it('when send returns, every receipt, its checkpoint and the relay health are stored', async () => {
    const r = await desk.send({ to: 'ir', precedence: 'IMMEDIATE', subject: 'Receipts', body: 'Kept.' });
    const view = await desk.show(r.id);
    expect(r.receipts.length).toBe(2);
    const health = await desk.channels();
    for (const rec of r.receipts) {
      const ch = view.channels.find((c) => c.relay === rec.relay);
      expect(ch).toMatchObject({ relay: rec.relay, role: 'chosen', log_index: rec.log_index, error: null });
      expect(typeof ch?.submitted_at).toBe('number');
      expect(typeof health.find((h) => h.relay === rec.relay)?.last_contact).toBe('number');
    }
    expect((await desk.gossip()).length).toBe(3);
  });

  it('gossip of a checkpoint the recipient already holds asks the relay for no proof; a new one does', async () => {
    await desk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'First', body: 'one', via: ['ch'], failover: 'none' });
    await irDesk.sync();
    // The next note carries the checkpoint of the first one's receipt, which ir now holds too.
    proofs.length = 0;
    await desk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'Second', body: 'two', via: ['ch'], failover: 'none' });
    await irDesk.sync();
    expect(proofs.filter((p) => p.relay === 'ch')).toEqual([]);
    // A checkpoint ir has never seen (us's newest, after a note ir has not fetched) is proved.
    await desk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'Third', body: 'three', via: ['ch'], failover: 'none' });
    const r = await irDesk.receiveGossip('us', await desk.gossip());
    expect(r.alerts).toEqual([]);
    expect(proofs.filter((p) => p.relay === 'ch').length).toBe(1);
    expect(await irDesk.alerts({ kind: 'fork' })).toEqual([]);
  });

  it('a held checkpoint is recognised by its whole text: the same tree with another signature is checked, and refused', async () => {
    const held = (await irDesk.gossip()).find((g) => g.note.length > 0)!;
    expect(await irDesk.receiveGossip('us', [held])).toMatchObject({ checked: 1, ignored: [], alerts: [] });
    // Same origin, size and root lines; the last signature character changed.
    const lines = held.note.split('\n');
    const sigLine = lines.findIndex((l) => l.startsWith('\u2014 '));
    const sig = lines[sigLine]!;
    const last = sig.at(-1) === 'A' ? 'B' : 'A';
    lines[sigLine] = sig.slice(0, -2) + last + sig.slice(-1);
    const tampered = { origin: held.origin, note: lines.join('\n') };
    const r = await irDesk.receiveGossip('us', [tampered]);
    expect(r.checked).toBe(0);
    expect(r.ignored.length).toBe(1);
    expect(await irDesk.alerts({ kind: 'fork' })).toEqual([]);
  });
});
