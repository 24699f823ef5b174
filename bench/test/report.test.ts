/** The harness's pure pieces: percentiles, the SVG chart, the targets' verdicts, the Markdown. */
import { describe, expect, it } from 'vitest';
import { fmtNum, quantile, summarize } from '../lib.js';
import { escapeXml, renderBarChart, ticks } from '../support/svg.js';
import { bounds, reportMarkdown, renderCharts, targets, verdict } from '../support/report.js';

describe('percentiles', () => {
  it('nearest rank over sorted samples', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(s, 0.5)).toBe(50);
    expect(quantile(s, 0.99)).toBe(99);
    expect(quantile(s, 0.999)).toBe(100);
    expect(quantile(s, 0)).toBe(1);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('summarize does not reorder its input and reports every figure', () => {
    const input = [5, 1, 4, 2, 3];
    const s = summarize(input);
    expect(input).toEqual([5, 1, 4, 2, 3]);
    expect(s).toEqual({ n: 5, p50: 3, p99: 5, p999: 5, max: 5, mean: 3 });
  });

  it('formats rates and missing figures', () => {
    expect(fmtNum(12345.6)).toBe('12,346');
    expect(fmtNum(1.234)).toBe('1.23');
    expect(fmtNum(undefined)).toBe('—');
    expect(fmtNum(Number.NaN)).toBe('—');
  });
});

describe('SVG bar chart', () => {
  it('draws one bar per value, escapes labels, and marks a missing value', () => {
    const svg = renderBarChart({
      title: 'A <b> & c',
      unit: 'per second',
      series: [{ name: 's', color: '#123456' }],
      rows: [
        { label: 'one', values: [100] },
        { label: 'two & three', values: [250] },
        { label: 'missing', values: [undefined] },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('A &lt;b&gt; &amp; c');
    expect(svg).toContain('two &amp; three');
    expect(svg).not.toContain('<b>');
    expect(svg.match(/<\/title><\/rect>/g)?.length).toBe(2);
    expect(svg).toContain('>—<');
    // The longer bar is longer.
    const widths = [...svg.matchAll(/<rect x="250" y="\d+" width="([\d.]+)" height="12" fill="#123456"><title>/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(2);
    expect(widths[1]!).toBeGreaterThan(widths[0]!);
  });

  it('log axes span whole decades; linear axes start at zero and reach the maximum', () => {
    expect(ticks(0.07, 35, 'log')).toEqual([0.01, 0.1, 1, 10, 100]);
    const lin = ticks(0, 18_600, 'linear');
    expect(lin[0]).toBe(0);
    expect(lin[lin.length - 1]!).toBeGreaterThanOrEqual(18_600);
    expect(escapeXml(`"'`)).toBe('&quot;&apos;');
  });
});

describe('targets', () => {
  it('says met, or missed by how much', () => {
    expect(verdict(12_000, 10_000, 'atLeast')).toBe('met');
    expect(verdict(8_000, 10_000, 'atLeast')).toBe('missed by 25 %');
    expect(verdict(2_000, 10_000, 'atLeast')).toBe('missed, 5.0× off');
    expect(verdict(4, 5, 'atMost')).toBe('met');
    expect(verdict(6, 5, 'atMost')).toBe('missed by 20 %');
    expect(verdict(undefined, 5, 'atMost')).toBe('not measured');
  });

  it('reads the best accept figure and compares it with the peers of the same run', () => {
    const t = targets({
      'accept.sqlite.c1.perSecond': 3000,
      'accept.sqlite.c64.perSecond': 11_000,
      'peer.prosody.online': 4000,
      'peer.postfix.c1.perSecond': 500,
      'peer.postfix.c4.perSecond': 1000,
      'accept.twoChecks.sqlite.c64.perSecond': 20_000,
    });
    const by = (name: string) => t.find((x) => x.target === name)!;
    expect(by('Relay durable accept, SQLite')).toMatchObject({ measured: '11,000/s', verdict: 'met' });
    expect(by('Relay accept vs Prosody online relay (same run)')).toMatchObject({ measured: '2.75×', verdict: 'met' });
    expect(by('Relay accept vs Postfix (same run)')).toMatchObject({ measured: '11.0×', verdict: 'missed by 36 %' });
    expect(by('Relay durable accept, PostgreSQL').verdict).toBe('not measured');
  });

  it("bounds each target by this run's limits, and says when a goal lies beyond the bound", () => {
    const limits = { 'limits.cores': 2, 'limits.ed25519Sign': 40_000, 'limits.ed25519Verify': 15_000, 'limits.x25519': 35_000, 'limits.sqlite1': 7_000, 'limits.sqlite100': 70_000 };
    const b = bounds({ ...limits, 'e2e.r1000.cryptoMs': 0.5, 'station.sync.cryptoMs': 0.48, 'station.sync.notes': 10_000 });
    // Two cores, each envelope one verification (66.7 µs) and one batched row (14.3 µs).
    expect(b.acceptSqlite).toBeCloseTo(2e6 / (1e6 / 15_000 + 1e6 / 70_000), 6);
    expect(b.acceptPostgres).toBeCloseTo(30_000, 6);
    expect(b.e2eRate).toBeCloseTo(4_000, 6);
    expect(b.multiRate).toBeCloseTo(4_000 / 3, 6);
    expect(b.syncSeconds).toBeCloseTo(2.4, 9);
    // 4 × 25 + 5 × 66.7 + 5 × 28.6 + 2 × 142.9 µs in series.
    expect(b.singleMs).toBeCloseTo(0.8619, 4);
    const by = (m: Record<string, number>, name: string) => targets(m).find((x) => x.target === name)!.bound;
    expect(by(limits, 'FLASH one at a time p50')).toBe('≥ 0.86 ms: 4 signatures, 5 verifications, 5 X25519 and 2 durable commits in series');
    // A slower hour: verification at 8,000/s puts the bound past the 1 ms goal.
    expect(by({ ...limits, 'limits.ed25519Verify': 8_000 }, 'FLASH one at a time p50')).toMatch(/^≥ 1\.15 ms: .*; the goal lies beyond it$/);
    // With part 7's loopback round trip, the note's two hops join the path: 0.8619 + 0.150 ms.
    const withHops = { ...limits, 'limits.httpRoundTripUs': 150 };
    expect(bounds(withHops).singleMs).toBeCloseTo(1.0119, 4);
    expect(by(withHops, 'FLASH one at a time p50')).toBe('≥ 1.01 ms: 4 signatures, 5 verifications, 5 X25519, 2 durable commits and one loopback round trip between processes in series; the goal lies beyond it');
    expect(by({ ...limits, 'accept.sqlite.c64.perSecond': 3_000, 'peer.prosody.online': 8_000 }, 'Relay accept vs Prosody online relay (same run)')).toBe('≤ 3.09×: the SQLite bound over Prosody');
    expect(by({ ...limits, 'limits.ed25519Verify': 1_000 }, 'Relay durable accept, PostgreSQL')).toBe('≤ 2,000/s: one verification an envelope, 2 cores; the goal lies beyond it');
    // The stack's floor of part 1 follows the bound, in the target's unit, with its own verdict.
    const floors = { ...limits, 'accept.floor.sqlite.c64.perSecond': 4_500, 'accept.floor.postgres.c64.perSecond': 6_000, 'peer.prosody.online': 3_000, 'peer.postfix.c4.perSecond': 500 };
    expect(by(floors, 'Relay durable accept, SQLite')).toBe("≤ 24,706/s: one verification and one batched durable row an envelope, 2 cores. The stack's floor, measured (part 1): 4,500/s; the goal lies beyond it");
    expect(by(floors, 'Relay durable accept, PostgreSQL')).toBe("≤ 30,000/s: one verification an envelope, 2 cores. The stack's floor, measured (part 1): 6,000/s");
    expect(by(floors, 'Relay accept vs Prosody online relay (same run)')).toBe("≤ 8.24×: the SQLite bound over Prosody. The stack's floor, measured (part 1): 1.50×; the goal lies beyond it");
    expect(by(floors, 'Relay accept vs Postfix (same run)')).toBe("≤ 49.4×: the SQLite bound over Postfix. The stack's floor, measured (part 1): 9.0×; the goal lies beyond it");
    // Without part 7 the floor stands alone.
    expect(by({ 'accept.floor.sqlite.c64.perSecond': 4_500 }, 'Relay durable accept, SQLite')).toBe("The stack's floor, measured (part 1): 4,500/s; the goal lies beyond it");
    // The floor's rows are not the relay's: they never count as its best figure.
    expect(targets(floors).find((x) => x.target === 'Relay durable accept, SQLite')!.measured).toBe('—');
    // Without part 7 there is no bound, and targets without one say so.
    expect(by({}, 'Relay durable accept, SQLite')).toBe('—');
    expect(bounds({})).toEqual({});
    expect(by(limits, 'Proof generation at 10M leaves')).toBe('—');
  });

  it('judges relay memory by its live heap, and says when the offered rate was not taken', () => {
    const memory = (m: Record<string, number>) => targets(m).find((x) => x.target === 'Relay memory flat over 10 min at 2,000 notes/s')!;
    expect(memory({}).verdict).toBe('not measured');
    const base = { 'memory.seconds': 600, 'memory.achieved': 2000, 'memory.heapSlopeMiBPerMin': 0.2, 'memory.rssStartMiB': 200, 'memory.rssEndMiB': 205, 'memory.flat': 1 };
    expect(memory(base).verdict).toBe('met');
    expect(memory({ ...base, 'memory.flat': 0 }).verdict).toBe('missed: the heap grows');
    expect(memory({ ...base, 'memory.achieved': 1500 }).verdict).toBe('met; offered 2,000/s, the relay took 1,500/s');
    expect(memory({ ...base, 'memory.seconds': 30 }).verdict).toBe('met (shorter run: quick)');
  });

  it('the report names a failed part and keeps the others', () => {
    const md = reportMarkdown({
      date: '2026-01-01',
      machine: 'test machine',
      quick: true,
      load: '0',
      charts: { throughput: 't.svg', latency: 'l.svg' },
      parts: [
        { name: 'a', title: 'Part A', seconds: 1, report: { tables: [{ title: 'T', columns: ['x', 'y'], rows: [['a|b', 1234]] }], metrics: {}, notes: ['a note'] } },
        { name: 'b', title: 'Part B', seconds: 2, report: { tables: [], metrics: {}, notes: [] }, error: 'it broke' },
      ],
    });
    expect(md).toContain('### Part A');
    expect(md).toContain('| a\\|b | 1,234 |');
    expect(md).toContain('**This part failed:** it broke');
    expect(md).toContain('![throughput](t.svg)');
    const charts = renderCharts({ 'accept.sqlite.c64.perSecond': 9000, 'peer.prosody.online': 4000 });
    expect(charts.throughput).toContain('</svg>');
    // Ours and the peers' bars differ in color, and the legend says what each color promises.
    expect(charts.throughput).toContain('fill="#2b6cb0"><title>Backchannel relay, SQLite (best), per second: 9,000');
    expect(charts.throughput).toContain('fill="#a0aec0"><title>Prosody online A→B, per second: 4,000');
    expect(charts.throughput).toContain('only Postfix fsyncs');
    expect(charts.latency).toContain('log scale');
  });
});
