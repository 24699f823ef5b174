/**
 * Bad input gets a typed error with a stable code and changes nothing (issue 4, "Bad input"):
 * unknown party, unknown relay, unknown signer, a body too large, a malformed card, a wrong
 * fingerprint, a store opened with another key, keys the bundle does not vouch for.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ed25519Key, isBackchannelError } from '@backchannel/core';
import { isStationError } from '../src/errors.js';
import { Station } from '../src/station.js';
import { MemoryRelay } from './fixtures/memory-relay.js';
import { memoryWorld, type MemoryWorld } from './fixtures/memory-world.js';
import { keysOf } from './fixtures/parties.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    if (isStationError(e) || isBackchannelError(e)) return e.code;
    return `untyped: ${String(e)}`;
  }
}

describe('bad input', () => {
  let w: MemoryWorld;
  beforeAll(async () => {
    w = await memoryWorld('bad-input');
  });
  afterAll(async () => {
    await w.close();
  });

  const note = { precedence: 'ROUTINE' as const, subject: 's', body: 'b' };

  it('names what is unknown', async () => {
    expect(await codeOf(w.usDesk.send({ ...note, to: 'fr' }))).toBe('unknown_party');
    expect(await codeOf(w.usDesk.send({ ...note, to: 'us' }))).toBe('unknown_party');
    expect(await codeOf(w.usDesk.send({ ...note, to: 'ir', via: ['xx'] }))).toBe('unknown_relay');
    expect(await codeOf(w.usDesk.send({ ...note, to: 'ir', failover: ['xx'] }))).toBe('unknown_relay');
    expect(await codeOf(w.usDesk.send({ ...note, to: 'ir', signer: 'nobody' }))).toBe('unknown_signer');
    expect(await codeOf(w.usDesk.send({ ...note, to: 'ir', replyTo: 'ab'.repeat(16) }))).toBe('not_found');
    expect(await codeOf(w.usDesk.send({ ...note, to: 'ir', replyTo: 'not-an-id' }))).toBe('argument_invalid');
    expect(await codeOf(w.usDesk.send({ ...note, to: 'ir', precedence: 'URGENT' as 'FLASH' }))).toBe('schema_invalid');
    expect(await codeOf(w.usDesk.show('ab'.repeat(16)))).toBe('not_found');
    expect(await codeOf(w.usDesk.thread('ab'.repeat(16)))).toBe('not_found');
    expect(await codeOf(w.usDesk.resolveAlert(42))).toBe('not_found');
  });

  it('refuses a body too large, a subject too long, and leaves nothing behind', async () => {
    expect(await codeOf(w.usDesk.send({ ...note, to: 'ir', body: 'x'.repeat(5 * 1024 * 1024) }))).toBe('too_large');
    expect(await codeOf(w.usDesk.send({ ...note, to: 'ir', subject: 'x'.repeat(501) }))).toBe('schema_invalid');
    expect(await w.usDesk.inbox()).toEqual([]);
    expect(w.relays.ch.submissions).toEqual([]);
  });

  it('refuses malformed cards and wrong fingerprints', async () => {
    expect(await codeOf(w.usDesk.pinParty('{not json'))).toBe('card_invalid');
    expect(await codeOf(w.usDesk.pinParty({ ...w.ir.card, name: 'Someone else' }))).toBe('card_invalid');
    expect(await codeOf(w.usDesk.pinParty(w.ir.card, { fingerprint: '0'.repeat(60) }))).toBe('fingerprint_mismatch');
    expect(await codeOf(w.usDesk.pinParty(w.us.card))).toBe('argument_invalid');
    expect(await codeOf(w.usDesk.addRelay({ ...w.relays.om.card, url: 'http://127.0.0.1:9' }))).toBe('card_invalid');
    expect(await codeOf(w.usDesk.addRelay(w.relays.om.card, { fingerprint: '1'.repeat(60) }))).toBe('fingerprint_mismatch');
    expect((await w.usDesk.pinParty(w.ir.card)).status).toBe('unchanged');
    expect((await w.usDesk.addRelay(w.relays.om.card)).status).toBe('unchanged');
  });

  it('a relay card under another log key for a pinned relay is refused, with an alert', async () => {
    const other = new MemoryRelay('om', { clock: () => w.clock.now(), random: w.random, port: 7002 });
    expect(await codeOf(w.usDesk.addRelay(other.card))).toBe('root_mismatch');
    expect((await w.usDesk.alerts({ kind: 'key_change' })).map((a) => a.relay)).toEqual(['om']);
  });

  it('refuses to open a store under another storage key, or with keys the bundle does not vouch for', async () => {
    const path = join(w.dir, 'us.db');
    expect(await codeOf(Station.open({ path, keys: { ...keysOf(w.us), storageKey: w.random(32) }, clock: w.clock }))).toBe('storage_key_wrong');
    expect(await codeOf(Station.open({ path: join(w.dir, 'x.db'), keys: { ...keysOf(w.us), station: { id: 'rogue', key: Ed25519Key.generate(w.random) } }, clock: w.clock }))).toBe('key_unknown');
    const forged = keysOf(w.us);
    const signer = forged.signers[0]!;
    expect(await codeOf(Station.open({ path: join(w.dir, 'y.db'), keys: { ...forged, signers: [{ ...signer, key: Ed25519Key.generate(w.random) }] }, clock: w.clock }))).toBe('certificate_invalid');
    expect(await codeOf(Station.open({ path: join(w.dir, 'z.db'), keys: keysOf(w.ir), clock: w.clock, timeScale: 2 }))).toBe('argument_invalid');
  });
});
