/**
 * Where a note's CPU goes: the CPU of the three processes of a note's path (sender, relay,
 * recipient; all threads, from /proc) and the Ed25519 and X25519 operations they performed
 * (crypto-count.js), read before and after a phase and divided by its notes, then priced at
 * the primitives' measured cost — so a report can say how much of a note's CPU is the
 * protocol's cryptography and how many notes a second the machine's cores allow at that cost.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmtNum, type PartReport } from '../lib.js';
import { cpuMs } from './e2e-world.js';
import { threadTimes } from './schedstat.js';
import { tempDir } from './procs.js';

/** The counter every process of a note's path loads when `countCrypto` is on (crypto-count.js). */
const CRYPTO_COUNTER = join(import.meta.dirname, 'crypto-count.js');

export interface CryptoCounts {
  sign: number;
  verify: number;
  x25519: number;
}

/**
 * Turns on counting of Ed25519 and X25519 operations (crypto-count.js) in this process and in
 * every process started from here on with this environment, their threads included, until
 * `stopPassingOn` (processes already counting go on). Returns the directory the counts go to.
 */
export async function countCrypto(): Promise<{ dir: string; stopPassingOn: () => void }> {
  const dir = tempDir('bc-bench-crypto-');
  const before = { dir: process.env.BENCH_CRYPTO_COUNTS, options: process.env.NODE_OPTIONS };
  const url = pathToFileURL(CRYPTO_COUNTER).href;
  process.env.BENCH_CRYPTO_COUNTS = dir;
  process.env.NODE_OPTIONS = `${before.options ?? ''} --import=${url}`.trim();
  // A URL of its own per directory: a module is evaluated once per URL, and a counter already
  // running in this process is told of the new directory by the evaluation.
  await import(`${url}?dir=${encodeURIComponent(dir)}`);
  return {
    dir,
    stopPassingOn: () => {
      if (before.dir === undefined) delete process.env.BENCH_CRYPTO_COUNTS;
      else process.env.BENCH_CRYPTO_COUNTS = before.dir;
      if (before.options === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = before.options;
    },
  };
}

/** A process's operations so far, all its threads; the counter writes them every 100 ms. */
export function cryptoCounts(dir: string, pid: number | undefined): CryptoCounts {
  const total: CryptoCounts = { sign: 0, verify: 0, x25519: 0 };
  if (pid === undefined) return total;
  for (const f of readdirSync(dir).filter((n) => n.startsWith(`${pid}-`) && n.endsWith('.json'))) {
    try {
      const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Partial<CryptoCounts>;
      total.sign += c.sign ?? 0;
      total.verify += c.verify ?? 0;
      total.x25519 += c.x25519 ?? 0;
    } catch {
      // gone between the listing and the read: its process has ended
    }
  }
  return total;
}

const PROCESSES = ['sender', 'relay', 'receiver'] as const;
export type Proc = (typeof PROCESSES)[number];
export type Snapshot = Record<Proc, { cpu: number | undefined; threads: ReturnType<typeof threadTimes>; ops: CryptoCounts }>;

/** What the three processes of a note's path spent over a phase, per note: CPU and the operations crypto-count.js counted. */
export interface PhaseCost {
  cpuMs: Record<Proc, number | undefined>;
  /** Time its threads were runnable but waiting for a CPU (threads alive at the end of the phase). */
  waitMs: Record<Proc, number | undefined>;
  ops: Record<Proc, CryptoCounts>;
}

// Longer than the counters' 100 ms and the receiver's 250 ms acknowledgement burst, so a
// phase's own trailing work lands inside it and the previous phase's does not.
const SETTLE_MS = 400;

export async function snapshot(dir: string, pids: Record<Proc, number | undefined>): Promise<Snapshot> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const out = {} as Snapshot;
  for (const p of PROCESSES) out[p] = { cpu: cpuMs(pids[p]), threads: threadTimes(pids[p]), ops: cryptoCounts(dir, pids[p]) };
  return out;
}

export function perNote(a: Snapshot, b: Snapshot, notes: number): PhaseCost {
  const n = Math.max(1, notes);
  const cost: PhaseCost = { cpuMs: { sender: undefined, relay: undefined, receiver: undefined }, waitMs: { sender: undefined, relay: undefined, receiver: undefined }, ops: {} as Record<Proc, CryptoCounts> };
  for (const p of PROCESSES) {
    const c0 = a[p].cpu;
    const c1 = b[p].cpu;
    cost.cpuMs[p] = c0 === undefined || c1 === undefined ? undefined : (c1 - c0) / n;
    const t0 = a[p].threads;
    const t1 = b[p].threads;
    // A thread started during the phase waited all its recorded time within it.
    if (t0 !== undefined && t1 !== undefined) cost.waitMs[p] = [...t1].reduce((sum, [tid, t]) => sum + t.waitNs - (t0.get(tid)?.waitNs ?? 0), 0) / 1e6 / n;
    cost.ops[p] = { sign: (b[p].ops.sign - a[p].ops.sign) / n, verify: (b[p].ops.verify - a[p].ops.verify) / n, x25519: (b[p].ops.x25519 - a[p].ops.x25519) / n };
  }
  return cost;
}

/** A measured phase: `key` names its metrics (`<part>.<key>.cpuMs`, …), `label` its rows. */
export interface Phase {
  key: string;
  label: string;
  cost: PhaseCost;
}

/** Adds to `r` the table of where a note's CPU goes, the primitives priced at `costs` (µs each), and its metrics under `part`. */
export function costTable(part: string, phases: readonly Phase[], costs: { signUs: number; verifyUs: number; x25519Us: number }, r: PartReport): void {
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  for (const { key, label, cost: c } of phases) {
    let cpuTotal = 0;
    let waitTotal = 0;
    let cryptoTotal = 0;
    const sum: CryptoCounts = { sign: 0, verify: 0, x25519: 0 };
    for (const p of PROCESSES) {
      const o = c.ops[p];
      const crypto = (o.sign * costs.signUs + o.verify * costs.verifyUs + o.x25519 * costs.x25519Us) / 1000;
      const cpu = c.cpuMs[p];
      cpuTotal += cpu ?? NaN;
      const wait = c.waitMs[p];
      waitTotal += wait ?? NaN;
      cryptoTotal += crypto;
      sum.sign += o.sign;
      sum.verify += o.verify;
      sum.x25519 += o.x25519;
      rows.push([label, p, fmtNum(cpu), fmtNum(wait), o.sign.toFixed(2), o.verify.toFixed(2), o.x25519.toFixed(2), fmtNum(crypto), cpu === undefined ? '—' : `${((crypto / cpu) * 100).toFixed(0)} %`]);
      if (cpu !== undefined) r.metrics[`${part}.${key}.${p}.cpuMs`] = cpu;
      if (wait !== undefined) r.metrics[`${part}.${key}.${p}.waitMs`] = wait;
    }
    rows.push([label, 'all three', fmtNum(cpuTotal), fmtNum(waitTotal), sum.sign.toFixed(2), sum.verify.toFixed(2), sum.x25519.toFixed(2), fmtNum(cryptoTotal), `${((cryptoTotal / cpuTotal) * 100).toFixed(0)} %`]);
    if (Number.isFinite(cpuTotal)) r.metrics[`${part}.${key}.cpuMs`] = cpuTotal;
    if (Number.isFinite(waitTotal)) r.metrics[`${part}.${key}.waitMs`] = waitTotal;
    r.metrics[`${part}.${key}.cryptoMs`] = cryptoTotal;
    // N cores give N × 1,000 ms of CPU a second.
    const cores = availableParallelism();
    notes.push(`${label}: ${fmtNum(cpuTotal)} ms of CPU a note in all — at most ${fmtNum((cores * 1000) / cpuTotal)} notes/s on ${cores} cores; the counted cryptography alone (${fmtNum(cryptoTotal)} ms) would allow ${fmtNum((cores * 1000) / cryptoTotal)}/s.`);
  }
  r.tables.push({
    title: "Where a note's CPU goes: per note, CPU of each process (all threads) and its Ed25519 and X25519 operations",
    columns: ['phase', 'process', 'CPU ms', 'waiting for a CPU ms', 'Ed25519 signatures', 'Ed25519 verifications', 'X25519', 'these, priced (ms)', 'share of CPU'],
    rows,
    notes: [
      'Waiting for a CPU: the time the process\'s threads were runnable but not running (the scheduler\'s run-queue delay, /proc/<pid>/task/<tid>/schedstat), per note: what sharing the cores between the three processes and their threads costs the path, beside the work itself.',
      `Operations counted in every thread of the three processes (bench/support/crypto-count.js) and priced at this part's own measure of one core: sign ${fmtNum(costs.signUs)} µs, verify ${fmtNum(costs.verifyUs)} µs, X25519 ${fmtNum(costs.x25519Us)} µs. Per note of the phase (sent, or synced), including the work it causes: its delivery record, the end-to-end acknowledgement it shares with others, checkpoints.`,
      ...notes,
    ],
  });
}
