/**
 * The single-process micro benchmarks (bench/*.bench.ts, each exporting `run(opts)` that
 * returns rows) as a part of the harness: one table per file, and each row's rate as a
 * metric named `micro.<group>.<operation>` (µs per op as `….us`).
 */
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { emptyReport, fmtNum, type BenchOptions, type BenchRow, type PartReport } from '../lib.js';

export async function runMicro(files: readonly string[], title: string, opts: BenchOptions): Promise<PartReport> {
  const r = emptyReport();
  const rows: BenchRow[] = [];
  for (const f of files) {
    process.stderr.write(`  ${f} …\n`);
    const mod = (await import(pathToFileURL(path.join(import.meta.dirname, '..', f)).href)) as { run: (o: BenchOptions) => Promise<BenchRow[]> };
    rows.push(...(await mod.run(opts)));
  }
  for (const row of rows) {
    r.metrics[`micro.${row.group}.${row.name}`] = row.opsPerSec;
    r.metrics[`micro.${row.group}.${row.name}.us`] = row.usPerOp;
  }
  r.tables.push({
    title,
    columns: ['group', 'operation', 'per second', 'µs per op', 'note'],
    rows: rows.map((x) => [x.group, x.name, fmtNum(x.opsPerSec), x.usPerOp.toFixed(2), x.note ?? '']),
  });
  return r;
}
