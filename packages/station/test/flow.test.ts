/**
 * Sending, receiving, merging and acknowledging between two real stations through in-process
 * relays (test/fixtures/memory-relay.ts): the reference story's steps that need no network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryWorld, type MemoryWorld } from './fixtures/memory-world.js';

describe('a note through three channels', () => {
  let w: MemoryWorld;
  beforeAll(async () => {
    w = await memoryWorld('flow');
  });
  afterAll(async () => {
    await w.close();
  });

  let flashId = '';

  it('a FLASH note goes to every channel at once, each receipt verified', async () => {
    const r = await w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Restraint', body: 'Do not escalate.' });
    flashId = r.id;
    expect(r.receipts.map((x) => x.relay).sort()).toEqual(['ch', 'om', 'qa']);
    expect(r.failures).toEqual([]);
    expect(r.failover).toEqual([]);
    expect(r.id).toMatch(/^[0-9a-f]{32}$/);
    expect(r.thread).toBe(r.id);
  });

  it('the recipient merges three identical copies into one note, with the attribution', async () => {
    const s = await w.irDesk.sync();
    expect(s.delivered).toBe(1);
    expect(s.received.filter((e) => e.outcome === 'duplicate')).toHaveLength(2);
    expect(s.relays.every((x) => x.ok)).toBe(true);
    const n = await w.irDesk.show(flashId);
    expect(n).toMatchObject({ id: flashId, from: 'us', to: 'ir', precedence: 'FLASH', subject: 'Restraint', body: 'Do not escalate.', consistent: true, direction: 'in' });
    expect(n.copies.map((c) => c.relay).sort()).toEqual(['ch', 'om', 'qa']);
    expect(n.copies.every((c) => c.valid && c.digest === n.digest)).toBe(true);
    expect(n.attribution).toMatchObject({ party: 'us', signer: 'institution', level: 'institutional' });
    expect(await w.irDesk.alerts()).toEqual([]);
  });

  it('the end-to-end acknowledgement goes back through every channel the note came by', async () => {
    const s = await w.irDesk.sync();
    expect(s.delivered).toBe(0);
    const first = await w.usDesk.sync();
    expect(first.received.some((e) => e.kind === 'ack')).toBe(true);
    const n = await w.usDesk.show(flashId);
    expect(n.status).toBe('acknowledged');
    for (const ch of n.channels) {
      expect(ch.acked_at).not.toBeNull();
      expect(ch.delivered_at).not.toBeNull();
      expect(ch.recipient_arrival_at).not.toBeNull();
    }
    expect(n.timeline.filter((e) => e.event === 'acknowledged').map((e) => e.relay).sort()).toEqual(['ch', 'om', 'qa']);
  });

  it('a reply continues the thread, signed by an official', async () => {
    await w.clock.advance(60_000);
    const r = await w.irDesk.send({ to: 'us', precedence: 'IMMEDIATE', subject: 'Re: Restraint', body: 'Noted.', replyTo: flashId, signer: 'minister' });
    expect(r.thread).toBe(flashId);
    expect(r.receipts).toHaveLength(2); // IMMEDIATE: two channels
    await w.usDesk.sync();
    const t = await w.usDesk.thread(flashId);
    expect(t.subject).toBe('Restraint');
    expect(t.notes.map((x) => x.subject)).toEqual(['Restraint', 'Re: Restraint']);
    const reply = t.notes[1]!;
    expect(reply.reply_to).toEqual({ from: 'us', id: flashId });
    expect(reply.attribution).toMatchObject({ level: 'official', name: 'A. Minister', title: 'Minister of Foreign Affairs' });
    const inbox = await w.usDesk.inbox();
    expect(inbox.map((x) => x.subject)).toEqual(['Re: Restraint', 'Restraint']);
  });

  it('ROUTINE takes the primary channel only', async () => {
    const r = await w.usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'Visa', body: 'A consular matter.', category: 'consular' });
    expect(r.receipts.map((x) => x.relay)).toEqual(['ch']);
    const s = await w.irDesk.sync();
    // The note, and us's acknowledgement of the reply.
    expect(s.received.filter((e) => e.outcome === 'deliver').map((e) => e.kind).sort()).toEqual(['ack', 'note']);
  });

  it('verify checks every receipt and checkpoint held against the logs', async () => {
    const v = await w.usDesk.verify();
    expect(v.ok).toBe(true);
    expect(v.relays.map((r) => r.relay)).toEqual(['ch', 'om', 'qa']);
    expect(v.relays.every((r) => r.receipts > 0 && r.problems.length === 0)).toBe(true);
  });

  it('channels report their health', async () => {
    const c = await w.usDesk.channels();
    expect(c.map((x) => [x.relay, x.primary])).toEqual([
      ['ch', true],
      ['om', false],
      ['qa', false],
    ]);
    expect(c.every((x) => x.last_contact !== null && x.last_error === null)).toBe(true);
  });
});
