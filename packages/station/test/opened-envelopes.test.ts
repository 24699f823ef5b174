/**
 * Another relay's copy of a note is not opened from scratch (opened-envelopes.ts): the desk
 * keeps what it opened, by digest, and core judges the earlier opening again for each copy
 * (its semantics are core's property tests, envelope.test.ts). Here: the wiring, end to end.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OpenedEnvelope } from '@backchannel/core';
import { OpenedEnvelopes } from '../src/opened-envelopes.js';
import { memoryWorld, type MemoryWorld } from './fixtures/memory-world.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await w?.close();
  w = undefined;
});

describe('copies of a note already opened', () => {
  it('are judged from the first opening: one opening a note, a hit for each other relay\'s copy, every note delivered', async () => {
    w = await memoryWorld('opened-envelopes');
    const remembered: string[] = [];
    const hits: (OpenedEnvelope | undefined)[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each cache as `this`
    const remember = OpenedEnvelopes.prototype.remember;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each cache as `this`
    const get = OpenedEnvelopes.prototype.get;
    vi.spyOn(OpenedEnvelopes.prototype, 'remember').mockImplementation(function (this: OpenedEnvelopes, digest, opened) {
      remembered.push(opened.content.kind);
      remember.call(this, digest, opened);
    });
    vi.spyOn(OpenedEnvelopes.prototype, 'get').mockImplementation(function (this: OpenedEnvelopes, digest) {
      const o = get.call(this, digest);
      hits.push(o);
      return o;
    });
    // FLASH: each note through all three relays; three notes, so every page is checked in line.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: `Note ${i}`, body: `Body ${i}.` })).id);
    const s = await w.irDesk.sync();
    expect(s.delivered).toBe(3);
    expect(s.received.filter((e) => e.kind === 'note').map((e) => e.outcome).sort()).toEqual([...ids.map(() => 'deliver'), ...ids.map(() => 'duplicate'), ...ids.map(() => 'duplicate')].sort());
    expect(s.received.every((e) => e.valid)).toBe(true);
    // Each note's first copy found nothing and was opened in full; its two other copies found
    // that opening. Every copy that checked out is remembered (the later ones refresh it).
    expect(hits.filter((h) => h?.content.kind === 'note').length).toBe(6);
    expect(hits.filter((h) => h === undefined).length).toBeGreaterThanOrEqual(3);
    expect(remembered.filter((k) => k === 'note').length).toBe(9);
    for (const id of ids) expect((await w.irDesk.show(id)).body).toMatch(/^Body \d\.$/);
  });
});
