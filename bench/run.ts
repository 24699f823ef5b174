/**
 * The benchmark harness of issue 9: Backchannel and the servers a user would pick instead,
 * measured side by side in one run on loopback, with 2 KiB payloads.
 *   npm run bench                  full run (at most ~12 minutes)
 *   npm run bench -- --quick       about a minute
 *   npm run bench -- --only=peers,limits
 * Parts: accept (1), e2e (2), multi (3), station (4), log (5), peers (6), limits (7).
 * Each part runs bounded loops; a part that fails has its error written into the report and
 * the run goes on; whatever a part started is stopped at its end (and on Ctrl-C).
 * Writes bench/results/<date>.json and — on a run of every part — the report between the
 * markers of docs/benchmarks.md and the charts docs/bench-throughput.svg, docs/bench-latency.svg.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { fmtNum, type BenchOptions, type PartReport } from './lib.js';
import { hookSignals, runCleanups } from './support/procs.js';
import { renderCharts, reportMarkdown, targets, type PartOutcome } from './support/report.js';

interface Part {
  name: string;
  title: string;
  run: (o: BenchOptions) => Promise<PartReport>;
}

const PARTS: Part[] = [
  { name: 'accept', title: '1. Relay accept throughput', run: async (o) => (await import('./parts/accept.js')).run(o) },
  { name: 'e2e', title: '2. End-to-end FLASH latency, one relay', run: async (o) => (await import('./parts/e2e.js')).run(o) },
  { name: 'multi', title: '3. Three relays: first copy, all copies, failover', run: async (o) => (await import('./parts/multi.js')).run(o) },
  { name: 'station', title: '4. Station: seal, open, sync', run: async (o) => (await import('./parts/station.js')).run(o) },
  { name: 'log', title: '5. Log: Merkle proofs and checkpoint notes', run: async (o) => (await import('./parts/micro.js')).runMicro(['merkle.bench.ts', 'note.bench.ts'], 'Merkle tree and C2SP notes', o) },
  { name: 'peers', title: '6. Peers: Prosody, NATS JetStream, Postfix', run: async (o) => (await import('./parts/peers.js')).run(o) },
  { name: 'limits', title: '7. Limits of this machine', run: async (o) => (await import('./parts/limits.js')).run(o) },
  { name: 'memory', title: '8. Relay memory over a long run', run: async (o) => (await import('./parts/memory.js')).run(o) },
];

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const only = onlyArg === undefined ? undefined : onlyArg.split(',').map((s) => s.trim()).filter((s) => s !== '');
const unknown = (only ?? []).filter((n) => !PARTS.some((p) => p.name === n));
const badFlag = args.find((a) => a !== '--quick' && !a.startsWith('--only='));
if (unknown.length > 0 || badFlag !== undefined) {
  process.stderr.write(`bench: ${badFlag !== undefined ? `unknown option ${badFlag}` : `unknown part ${unknown.join(', ')}`}; parts are ${PARTS.map((p) => p.name).join(', ')}; options --quick, --only=a,b\n`);
  process.exit(2);
}
const opts: BenchOptions = { quick };
hookSignals();

const load0 = loadavg().map((x) => x.toFixed(2)).join(', ');
const outcomes: PartOutcome[] = [];
for (const p of PARTS.filter((x) => only === undefined || only.includes(x.name))) {
  process.stderr.write(`bench: ${p.title} …\n`);
  const t0 = performance.now();
  const o: PartOutcome = { name: p.name, title: p.title, seconds: 0, report: { tables: [], metrics: {}, notes: [] } };
  try {
    o.report = await p.run(opts);
  } catch (e) {
    o.error = e instanceof Error ? e.message : String(e);
    process.stderr.write(`bench: ${p.name} failed: ${o.error}\n`);
  }
  const cleanupErrors = await runCleanups();
  for (const c of cleanupErrors) o.report.notes.push(`cleanup: ${c}`);
  o.seconds = (performance.now() - t0) / 1000;
  for (const [k, v] of Object.entries(o.report.metrics)) if (!k.endsWith('.us')) process.stderr.write(`  ${k}: ${fmtNum(v)}\n`);
  for (const n of o.report.notes) process.stderr.write(`  note: ${n}\n`);
  process.stderr.write(`bench: ${p.name} took ${o.seconds.toFixed(1)} s\n`);
  outcomes.push(o);
}
const load1 = loadavg().map((x) => x.toFixed(2)).join(', ');

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
const date = new Date().toISOString().slice(0, 10);
const metrics = Object.assign({}, ...outcomes.map((o) => o.report.metrics)) as Record<string, number>;
const suffix = `${quick ? '-quick' : ''}${only === undefined ? '' : `-${only.join('-')}`}`;
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
const resultFile = `bench/results/${date}${suffix}.json`;
writeFileSync(
  path.join(root, resultFile),
  JSON.stringify({ date, machine, quick, only: only ?? null, load: { start: load0, end: load1 }, targets: targets(metrics), parts: outcomes }, null, 2) + '\n',
);

if (only === undefined) {
  const charts = renderCharts(metrics);
  writeFileSync(path.join(root, 'docs/bench-throughput.svg'), charts.throughput);
  writeFileSync(path.join(root, 'docs/bench-latency.svg'), charts.latency);
  const table = reportMarkdown({ date, machine, quick, load: `${load0} at the start, ${load1} at the end (${cpus().length} cores)`, parts: outcomes, charts: { throughput: 'bench-throughput.svg', latency: 'bench-latency.svg' } });
  const doc = path.join(root, 'docs/benchmarks.md');
  const BEGIN = '<!-- bench:begin -->';
  const END = '<!-- bench:end -->';
  let text = existsSync(doc) ? readFileSync(doc, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  if (!text.includes(BEGIN) || !text.includes(END)) text += `\n${BEGIN}\n${END}\n`;
  text = text.slice(0, text.indexOf(BEGIN) + BEGIN.length) + '\n' + table + text.slice(text.indexOf(END));
  writeFileSync(doc, text);
  process.stderr.write(`bench: wrote docs/benchmarks.md, docs/bench-*.svg and ${resultFile}\n`);
} else {
  process.stderr.write(`bench: wrote ${resultFile} (docs/benchmarks.md is written by a run of every part)\n`);
}
