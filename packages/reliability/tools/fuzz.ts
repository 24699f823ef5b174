/**
 * Runs coverage-guided fuzzing campaigns (docs/reliability.md, "Fuzzing").
 *
 *   npx tsx packages/reliability/tools/fuzz.ts --target=envelope --seconds=60
 *   npx tsx packages/reliability/tools/fuzz.ts --target=all --seconds=30 --json=out.json
 *
 * Prints, per target, the cases run, the corpus size and the blocks covered, and every crash
 * or hang with its input (hex). Exits 1 when anything was found, 2 on a usage error.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCampaign, type CampaignResult } from '../src/fuzz/campaign.js';
import { loadTargets } from '../src/fuzz/targets.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: fuzz.ts --target=NAME|all [--seconds=N] [--cases=N] [--seed=N] [--json=FILE]\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({ options: { target: { type: 'string' }, seconds: { type: 'string' }, cases: { type: 'string' }, seed: { type: 'string' }, json: { type: 'string' }, list: { type: 'boolean' } } }).values;
} catch (e) {
  usage(e instanceof Error ? e.message : String(e));
}
const targets = loadTargets();
if (args.list === true) {
  for (const t of targets) process.stdout.write(`${t.name.padEnd(18)}${t.about}\n`);
  process.exit(0);
}
const int = (v: string | undefined, name: string, dflt: number): number => {
  if (v === undefined) return dflt;
  if (!/^[1-9][0-9]*$/.test(v)) usage(`--${name} must be a positive whole number`);
  return Number(v);
};
const seconds = int(args.seconds, 'seconds', 10);
const cases = int(args.cases, 'cases', Number.MAX_SAFE_INTEGER);
const seed = int(args.seed, 'seed', 1);
const name = args.target ?? usage('--target is required (--list shows them)');
const chosen = name === 'all' ? targets : targets.filter((t) => t.name === name);
if (chosen.length === 0) usage(`no target ${name}: use one of ${targets.map((t) => t.name).join(', ')}, or all`);

const results: CampaignResult[] = [];
for (const t of chosen) {
  const r = await runCampaign(t, { seconds, maxCases: cases, seed });
  results.push(r);
  process.stdout.write(`${r.target.padEnd(18)} cases ${String(r.cases).padStart(9)}  corpus ${String(r.corpus).padStart(5)}  blocks ${String(r.blocks).padStart(5)}  refused ${String(r.refused)}  findings ${String(r.findings.length)}\n`);
  for (const f of r.findings) process.stdout.write(`  ${f.kind}: ${f.error}\n    input ${f.input}\n`);
}
const total = results.reduce((a, r) => a + r.cases, 0);
process.stdout.write(`total cases ${String(total)}, findings ${String(results.reduce((a, r) => a + r.findings.length, 0))}\n`);
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify({ at: new Date().toISOString(), seconds, seed, results }, null, 2)}\n`);
process.exit(results.some((r) => r.findings.length > 0) ? 1 : 0);
