/**
 * A long sync goes in pages, and a page's acknowledgement is still with the relay while the next
 * page is fetched and merged (sync.ts). What that must never cost: a copy the relay has not
 * answered for is fetched and acknowledged again by the next sync, never skipped by the cursor,
 * and never taken for a replay.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FETCH_LIMIT } from '../src/sync.js';
import { memoryWorld, type MemoryWorld } from './fixtures/memory-world.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

// Three pages: two full ones and 20 more.
const PAGE = FETCH_LIMIT;
const NOTES = 2 * PAGE + 20;

describe('sync in pages', () => {
  it('an acknowledgement that fails leaves the cursor before its page; the next sync acknowledges every copy after it', async () => {
    w = await memoryWorld('sync-pages');
    const ids: string[] = [];
    for (let i = 0; i < NOTES; i++) ids.push((await w.usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: `Note ${i}`, body: `Body ${i}.`, via: ['ch'] })).id);
    // The first page's acknowledgement is answered; the second page's fails.
    w.relays.ch.faults.acksBeforeFailure = 1;
    const first = await w.irDesk.sync();
    const ch1 = first.relays.find((r) => r.relay === 'ch');
    expect(ch1).toMatchObject({ ok: false, acknowledged: PAGE, error: { code: 'relay_unreachable' } });
    expect(first.delivered).toBe(ch1!.fetched);
    expect(ch1!.fetched).toBeGreaterThanOrEqual(2 * PAGE);

    w.relays.ch.faults.acksBeforeFailure = undefined;
    const second = await w.irDesk.sync();
    const ch2 = second.relays.find((r) => r.relay === 'ch');
    // Everything after the first page again: the copies merged last time come back under their
    // own numbers (redeliveries, acknowledged now), and what was not fetched yet is new.
    expect(ch2).toMatchObject({ ok: true, fetched: NOTES - PAGE, acknowledged: NOTES - PAGE });
    expect(second.received.filter((e) => e.outcome === 'redelivery')).toHaveLength(ch1!.fetched - PAGE);
    expect(second.delivered).toBe(NOTES - ch1!.fetched);
    expect(await w.irDesk.alerts()).toEqual([]);
    expect(new Set((await w.irDesk.inbox({ limit: NOTES })).map((n) => n.id))).toEqual(new Set(ids));

    // Nothing is left to acknowledge, and nothing comes again.
    const third = await w.irDesk.sync();
    expect(third.relays.find((r) => r.relay === 'ch')).toMatchObject({ ok: true, fetched: 0, acknowledged: 0 });
  }, 60_000);
});
