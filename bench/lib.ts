/**
 * Shared measuring for bench/*.bench.ts. Each bench file exports `run(opts)` returning rows;
 * bench/run.ts runs them all and writes docs/benchmarks.md. Figures are medians of several
 * timed rounds after a warm-up, so one GC pause does not set the figure.
 */
export interface BenchRow {
  group: string;
  name: string;
  /** Operations per second (median of rounds). */
  opsPerSec: number;
  /** Median time per operation in microseconds. */
  usPerOp: number;
  note?: string;
}

export interface BenchOptions {
  quick: boolean;
}

/** Times `fn` (which performs `opsPerCall` operations) for ~`ms` per round, `rounds` rounds. */
export async function measure(
  group: string,
  name: string,
  fn: () => unknown,
  opts: { ms?: number; rounds?: number; opsPerCall?: number; note?: string } = {},
): Promise<BenchRow> {
  const ms = opts.ms ?? 300;
  const rounds = opts.rounds ?? 5;
  const per = opts.opsPerCall ?? 1;
  // Warm-up: let the JIT settle.
  const warmEnd = performance.now() + Math.min(200, ms);
  while (performance.now() < warmEnd) await fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      await fn();
      n += per;
      t = performance.now();
    }
    rates.push(n / ((t - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  const row: BenchRow = { group, name, opsPerSec: median, usPerOp: 1e6 / median };
  if (opts.note !== undefined) row.note = opts.note;
  return row;
}

// ---------------------------------------------------------------------------------------------
// The harness's parts (bench/run.ts): each returns tables for the report and named figures
// (metrics) that the targets table and the charts read.

/** A table of the report: a title, its columns, and rows of already formatted cells or numbers. */
export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
}

/** What one part reports. A part that throws is reported with its error; the run goes on. */
export interface PartReport {
  tables: Table[];
  /** Named figures, e.g. `accept.sqlite.c64.perSecond`; read by targets and charts. */
  metrics: Record<string, number>;
  /** Lines for the report (a peer skipped, a figure measured on fewer notes than asked). */
  notes: string[];
}

export function emptyReport(): PartReport {
  return { tables: [], metrics: {}, notes: [] };
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (q <= 0) return sorted[0]!;
  if (q >= 1) return sorted[sorted.length - 1]!;
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Percentiles of latencies in ms (the input is not modified). */
export function summarize(latencies: readonly number[]): LatencySummary {
  const s = [...latencies].sort((a, b) => a - b);
  const mean = s.length === 0 ? Number.NaN : s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), p999: quantile(s, 0.999), max: quantile(s, 1), mean };
}

/** Thousands separators for rates, two decimals for small figures, '—' for a missing figure. */
export function fmtNum(n: number | undefined, digits = 2): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Runs `op` repeatedly until `ms` have passed or `maxOps` ran; returns the count and seconds. */
export async function loopFor(ms: number, maxOps: number, op: (i: number) => Promise<unknown> | undefined): Promise<{ ops: number; seconds: number }> {
  const t0 = performance.now();
  let ops = 0;
  while (ops < maxOps && performance.now() - t0 < ms) {
    await op(ops);
    ops++;
  }
  return { ops, seconds: (performance.now() - t0) / 1000 };
}

/**
 * `workers` concurrent loops of `op` until `ms` have passed or `maxOps` started; returns the
 * completed count and the seconds until the last completed.
 */
export async function concurrentFor(ms: number, maxOps: number, workers: number, op: (i: number) => Promise<unknown>): Promise<{ ops: number; seconds: number }> {
  const t0 = performance.now();
  let started = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (started < maxOps && performance.now() - t0 < ms) {
        await op(started++);
        done++;
      }
    }),
  );
  return { ops: done, seconds: (performance.now() - t0) / 1000 };
}
