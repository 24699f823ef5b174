/**
 * Runs every bench/*.bench.ts and writes the figures, with the machine and the method, to
 * docs/benchmarks.md (between the generated markers) and bench/results/<date>.json.
 *   npm run bench            full run
 *   npm run bench -- --quick a shorter run
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchOptions, BenchRow } from './lib.js';

const root = path.resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const opts: BenchOptions = { quick };

const files = readdirSync(import.meta.dirname).filter((f) => f.endsWith('.bench.ts') && (only === undefined || f.startsWith(only))).sort();
const rows: BenchRow[] = [];
for (const f of files) {
  process.stderr.write(`bench: ${f} …\n`);
  const mod = (await import(pathToFileURL(path.join(import.meta.dirname, f)).href)) as { run: (o: BenchOptions) => Promise<BenchRow[]> };
  const r = await mod.run(opts);
  for (const row of r) process.stderr.write(`  ${row.group} / ${row.name}: ${fmt(row.opsPerSec)}/s (${row.usPerOp.toFixed(2)} µs)\n`);
  rows.push(...r);
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
const date = new Date().toISOString().slice(0, 10);
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results', `${date}${quick ? '-quick' : ''}.json`), JSON.stringify({ date, machine, quick, rows }, null, 2) + '\n');

let table = `Measured ${date} on ${machine}${quick ? ' (quick run)' : ''}.\n\n| group | operation | per second | µs per op | note |\n| --- | --- | ---: | ---: | --- |\n`;
for (const r of rows) table += `| ${r.group} | ${r.name} | ${fmt(r.opsPerSec)} | ${r.usPerOp.toFixed(2)} | ${r.note ?? ''} |\n`;

const doc = path.join(root, 'docs/benchmarks.md');
const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';
let text = existsSync(doc) ? readFileSync(doc, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
if (!text.includes(BEGIN)) text += `\n${BEGIN}\n${END}\n`;
text = text.slice(0, text.indexOf(BEGIN) + BEGIN.length) + '\n' + table + text.slice(text.indexOf(END));
writeFileSync(doc, text);
process.stderr.write(`bench: wrote docs/benchmarks.md and bench/results/${date}${quick ? '-quick' : ''}.json\n`);
