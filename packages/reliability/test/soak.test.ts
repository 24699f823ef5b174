/**
 * The short soak (30 s; BACKCHANNEL_LONG=1: 5 minutes): a steady rate through three relay
 * processes with faults injected periodically. Every note is delivered exactly once, and
 * the relays' heaps do not grow without bound. The hour-long soak is tools/soak.ts.
 */
import { describe, expect, it } from 'vitest';
import { runSoak, soakMarkdown } from '../src/soak.js';

const LONG = process.env.BACKCHANNEL_LONG === '1';
const SECONDS = LONG ? 300 : 30;

describe('soak', () => {
  it(`${String(SECONDS)} s at a steady rate with faults: nothing lost, nothing shown twice, memory bounded`, async () => {
    const r = await runSoak({ seconds: SECONDS, rate: LONG ? 2 : 1, faultEveryS: LONG ? 20 : 6, faultForS: LONG ? 8 : 4, windowS: LONG ? 60 : 10 });
    process.stdout.write(soakMarkdown(r));
    expect(r.sent).toBeGreaterThan(SECONDS / 2);
    expect(r.faults.length).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.delivered).toBe(r.sent);
    // Memory: the last window's heap of each relay within a bound of its first window's.
    // Growth without bound over a soak shows as a heap many times its start; GC noise does not.
    const first = r.windows[0]!;
    const last = r.windows[r.windows.length - 1]!;
    for (const s of last.relays) {
      const start = first.relays.find((x) => x.relay === s.relay)!;
      expect(s.heapMiB, `${s.relay} heap`).toBeLessThan(start.heapMiB * 3 + 64);
    }
    // Set-up (three relay processes) and the final drain come on top of the soak itself.
  }, (SECONDS * 2 + 300) * 1000);
});
