/**
 * Part 8, relay memory over a long run (bench/relay-memory.ts): 10 minutes at 2,000 notes/s
 * offered (30 s in a quick run), the relay's resident set and live heap (after a full
 * collection) sampled every 10 s (every 5 s in a quick run).
 */
import { emptyReport, fmtNum, type BenchOptions, type PartReport } from '../lib.js';

export async function run(opts: BenchOptions): Promise<PartReport> {
  const r = emptyReport();
  const { measureRelayMemory } = await import('../relay-memory.js');
  const seconds = opts.quick ? 30 : 600;
  const m = await measureRelayMemory({ seconds, rate: 2000, sampleSeconds: opts.quick ? 5 : 10 });
  r.metrics['memory.seconds'] = m.seconds;
  r.metrics['memory.offered'] = m.offeredRate;
  r.metrics['memory.achieved'] = m.achievedRate;
  r.metrics['memory.heapSlopeMiBPerMin'] = m.heapSlopeMiBPerMin;
  r.metrics['memory.rssStartMiB'] = m.rssStartMiB;
  r.metrics['memory.rssEndMiB'] = m.rssEndMiB;
  r.metrics['memory.rssMaxMiB'] = m.rssMaxMiB;
  r.metrics['memory.flat'] = m.flat ? 1 : 0;
  const every = Math.max(1, Math.ceil(m.samples.length / 12));
  r.tables.push({
    title: `Relay memory, ${fmtNum(m.seconds)} s at ${fmtNum(m.offeredRate)} envelopes/s offered (achieved ${fmtNum(m.achievedRate)}/s, ${fmtNum(m.accepted)} accepted, ${m.refused} refused), SQLite`,
    columns: ['seconds', 'resident set (MiB)', 'live heap after GC (MiB)'],
    rows: m.samples.filter((_, i) => i % every === 0 || i === m.samples.length - 1).map((s) => [fmtNum(s.t), fmtNum(s.rssMiB), fmtNum(s.heapMiB)]),
    notes: [
      `Live heap slope after the first ${opts.quick ? 'sixth of the run' : 'minute'}: ${m.heapSlopeMiBPerMin.toFixed(2)} MiB per minute; ${m.flat ? 'flat' : 'NOT flat'} (slope under 1 MiB/min and the last sample within 10 % or 8 MiB of the first).`,
      'Envelopes are made by the generator as it goes: one sealed template with a fresh header id, station signature and token each, so every one is new to the relay and passes its checks (the ciphertext no longer opens for a recipient, which the relay never tries).',
      ...(m.refused > 0 ? [`Last refusal: ${m.lastRefusal}`] : []),
    ],
  });
  return r;
}
