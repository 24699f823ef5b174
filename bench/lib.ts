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
