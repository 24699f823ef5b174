/**
 * The soak (docs/reliability.md, "Soak"): an hour by default.
 *
 *   npx tsx packages/reliability/tools/soak.ts [--minutes=60] [--rate=2] [--out=soak]
 *
 * Writes OUT.json and OUT.md (default soak-<date>.json/.md in the current folder) and prints
 * the Markdown summary. Exits 1 when a note was lost or shown twice.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runSoak, soakMarkdown } from '../src/soak.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: soak.ts [--minutes=N] [--rate=N] [--fault-every=S] [--window=S] [--out=PREFIX]\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({ options: { minutes: { type: 'string' }, rate: { type: 'string' }, 'fault-every': { type: 'string' }, window: { type: 'string' }, out: { type: 'string' } } }).values;
} catch (e) {
  usage(e instanceof Error ? e.message : String(e));
}
const num = (v: string | undefined, name: string, dflt: number): number => {
  if (v === undefined) return dflt;
  if (!/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(v) || Number(v) <= 0) usage(`--${name} must be a positive number`);
  return Number(v);
};
// Process output is this tool's interface: quiet relays, progress on stderr.
process.env.BACKCHANNEL_LOG_LEVEL ??= 'silent';
const minutes = num(args.minutes, 'minutes', 60);
const report = await runSoak({
  seconds: minutes * 60,
  rate: num(args.rate, 'rate', 2),
  faultEveryS: num(args['fault-every'], 'fault-every', 30),
  faultForS: 10,
  windowS: num(args.window, 'window', 60),
  log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
});
const out = args.out ?? `soak-${report.startedAt.slice(0, 10)}`;
writeFileSync(`${out}.json`, `${JSON.stringify(report, null, 2)}\n`);
const md = soakMarkdown(report);
writeFileSync(`${out}.md`, md);
process.stdout.write(md);
process.exit(report.lost === 0 && report.duplicates === 0 ? 0 : 1);
