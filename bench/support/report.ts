/**
 * The report from the parts' figures: the targets of issue 9 (measured, met or missed by how
 * much), the two charts, and the Markdown that goes between the markers of docs/benchmarks.md.
 * Pure functions over the metrics, so they are tested without running anything.
 */
import { fmtNum, type PartReport, type Table } from '../lib.js';
import { renderBarChart, type BarChart } from './svg.js';

export interface PartOutcome {
  name: string;
  title: string;
  seconds: number;
  report: PartReport;
  error?: string;
}

export interface Target {
  target: string;
  goal: string;
  measured: string;
  verdict: string;
  /** What this machine allows at best for the target: the protocol's mandatory work alone, priced at this run's own limits (part 7). */
  bound: string;
}

type Metrics = Readonly<Record<string, number>>;

const has = (m: Metrics, k: string): boolean => typeof m[k] === 'number' && Number.isFinite(m[k]);

/** 'met', or 'missed by N %' / 'missed, N× off' against a floor (`atLeast`) or a ceiling. */
export function verdict(value: number | undefined, goal: number, kind: 'atLeast' | 'atMost'): string {
  if (value === undefined || !Number.isFinite(value)) return 'not measured';
  const ok = kind === 'atLeast' ? value >= goal : value <= goal;
  if (ok) return 'met';
  const factor = kind === 'atLeast' ? goal / value : value / goal;
  if (factor >= 2) return `missed, ${factor.toFixed(1)}× off`;
  return `missed by ${((factor - 1) * 100).toFixed(0)} %`;
}

/** The best (largest) value among the metrics whose names start with `prefix` and end with `suffix`. */
export function best(m: Metrics, prefix: string, suffix: string): number | undefined {
  const v = Object.entries(m)
    .filter(([k, x]) => k.startsWith(prefix) && k.endsWith(suffix) && Number.isFinite(x))
    .map(([, x]) => x);
  return v.length === 0 ? undefined : Math.max(...v);
}

/**
 * The cryptography and durable commits on one FLASH note's path from `send` to the recipient's
 * verified copy, in series, as the protocol runs them: the sender signs the envelope, its
 * signer statement and the submission token and seals the content key to both parties (an
 * ephemeral key and one Diffie-Hellman each); the relay verifies the token and signs the
 * batch's checkpoint; the recipient verifies token, checkpoint, station and signer signatures
 * and opens with one Diffie-Hellman. The two commits are the ones DESIGN.md puts before a
 * receipt (the sender's sealed bytes, the relay's batch). The note crosses two process
 * boundaries, sender → relay (the submission) and relay → recipient (the push): two one-way
 * hops, counted as one loopback round trip between two processes (part 7).
 */
export const NOTE_PATH = { sign: 4, verify: 5, x25519: 5, commits: 2, roundTrips: 1 } as const;

/**
 * The bounds this run's limits (part 7) put on each target, from the mandatory work alone:
 * nothing for HTTP's own work, parsing, storage statements or the load generator, and for the
 * hops between processes only the one-at-a-time path's bare loopback round trip, so a figure
 * can only be worse. Throughputs assume every core on that work.
 */
export function bounds(m: Metrics): { acceptSqlite?: number; acceptPostgres?: number; e2eRate?: number; multiRate?: number; singleMs?: number; syncSeconds?: number } {
  const cores = m['limits.cores'];
  const us = (k: string): number | undefined => (has(m, k) && m[k]! > 0 ? 1e6 / m[k]! : undefined);
  const verify = us('limits.ed25519Verify');
  const sign = us('limits.ed25519Sign');
  const dh = us('limits.x25519');
  const row = us('limits.sqlite100');
  const commit = us('limits.sqlite1');
  const out: ReturnType<typeof bounds> = {};
  if (cores !== undefined && verify !== undefined) {
    // One verification per envelope (the token) and its row in a batched durable commit.
    if (row !== undefined) out.acceptSqlite = (cores * 1e6) / (verify + row);
    out.acceptPostgres = (cores * 1e6) / verify;
  }
  // The counted cryptography of the load itself (note-cost.ts), all three processes.
  if (cores !== undefined && has(m, 'e2e.r1000.cryptoMs')) {
    out.e2eRate = (cores * 1000) / m['e2e.r1000.cryptoMs']!;
    // Through three relays a note is three submissions and three received copies.
    out.multiRate = out.e2eRate / 3;
  }
  if (cores !== undefined && has(m, 'station.sync.cryptoMs') && has(m, 'station.sync.notes')) out.syncSeconds = (m['station.sync.notes']! * m['station.sync.cryptoMs']!) / (cores * 1000);
  if (sign !== undefined && verify !== undefined && dh !== undefined && commit !== undefined) {
    // Runs before part 7 measured a round trip leave it out (and the bound's text says so).
    const hops = has(m, 'limits.httpRoundTripUs') ? NOTE_PATH.roundTrips * m['limits.httpRoundTripUs']! : 0;
    out.singleMs = (NOTE_PATH.sign * sign + NOTE_PATH.verify * verify + NOTE_PATH.x25519 * dh + NOTE_PATH.commits * commit + hops) / 1000;
  }
  return out;
}

/** Part 1's rows of the stack's floor, at the stations the accept targets are judged at. */
const FLOOR_SQLITE = 'accept.floor.sqlite.c64.perSecond';
const FLOOR_POSTGRES = 'accept.floor.postgres.c64.perSecond';

/** What the one-at-a-time bound counts. */
function singlePathText(m: Metrics): string {
  const work = `${NOTE_PATH.sign} signatures, ${NOTE_PATH.verify} verifications, ${NOTE_PATH.x25519} X25519`;
  if (!has(m, 'limits.httpRoundTripUs')) return `${work} and ${NOTE_PATH.commits} durable commits in series`;
  return `${work}, ${NOTE_PATH.commits} durable commits and one loopback round trip between processes in series`;
}

/** A bound's cell: the figure, what it counts, and whether the goal lies beyond it. */
function boundCell(value: number | undefined, text: (v: number) => string, goal: number, kind: 'atLeast' | 'atMost', what: string): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const beyond = kind === 'atLeast' ? goal > value : goal < value;
  return `${text(value)}: ${what}${beyond ? '; the goal lies beyond it' : ''}`;
}

/**
 * The stack's floor measured in part 1 (support/stack-floor.ts), after a bound's cell: what a
 * server on the relay's own dependencies reached under the same load doing only the mandatory
 * work, `scale` turning it into the target's unit.
 */
function withFloor(cell: string, m: Metrics, key: string, goal: number, text: (v: number) => string, scale = 1): string {
  if (!has(m, key)) return cell;
  const v = m[key]! * scale;
  const floor = `The stack's floor, measured (part 1): ${text(v)}${goal > v ? '; the goal lies beyond it' : ''}`;
  return cell === '—' ? floor : `${cell}. ${floor}`;
}

export function targets(m: Metrics): Target[] {
  const out: Target[] = [];
  const b = bounds(m);
  const cores = has(m, 'limits.cores') ? `${m['limits.cores']} cores` : '';
  const sqlite = best(m, 'accept.sqlite.c', '.perSecond');
  const pgBest = best(m, 'accept.postgres.c', '.perSecond');
  const prosody = m['peer.prosody.online'];
  const postfix = best(m, 'peer.postfix.c', '.perSecond');
  out.push({ target: 'Relay durable accept, SQLite', goal: '≥ 10,000 envelopes/s', measured: sqlite === undefined ? '—' : `${fmtNum(sqlite)}/s`, verdict: verdict(sqlite, 10_000, 'atLeast'), bound: withFloor(boundCell(b.acceptSqlite, (v) => `≤ ${fmtNum(v)}/s`, 10_000, 'atLeast', `one verification and one batched durable row an envelope, ${cores}`), m, FLOOR_SQLITE, 10_000, (v) => `${fmtNum(v)}/s`) });
  out.push({
    target: 'Relay accept vs Prosody online relay (same run)',
    goal: '≥ 2×',
    measured: sqlite !== undefined && prosody !== undefined ? `${(sqlite / prosody).toFixed(2)}×` : '—',
    verdict: sqlite !== undefined && prosody !== undefined ? verdict(sqlite / prosody, 2, 'atLeast') : 'not measured',
    bound: prosody === undefined ? '—' : withFloor(boundCell(b.acceptSqlite === undefined ? undefined : b.acceptSqlite / prosody, (v) => `≤ ${v.toFixed(2)}×`, 2, 'atLeast', 'the SQLite bound over Prosody'), m, FLOOR_SQLITE, 2, (v) => `${v.toFixed(2)}×`, 1 / prosody),
  });
  out.push({
    target: 'Relay accept vs Postfix (same run)',
    goal: '≥ 15×',
    measured: sqlite !== undefined && postfix !== undefined ? `${(sqlite / postfix).toFixed(1)}×` : '—',
    verdict: sqlite !== undefined && postfix !== undefined ? verdict(sqlite / postfix, 15, 'atLeast') : 'not measured',
    bound: postfix === undefined ? '—' : withFloor(boundCell(b.acceptSqlite === undefined ? undefined : b.acceptSqlite / postfix, (v) => `≤ ${v.toFixed(1)}×`, 15, 'atLeast', 'the SQLite bound over Postfix'), m, FLOOR_SQLITE, 15, (v) => `${v.toFixed(1)}×`, 1 / postfix),
  });
  out.push({ target: 'Relay durable accept, PostgreSQL', goal: '≥ 5,000 envelopes/s', measured: pgBest === undefined ? '—' : `${fmtNum(pgBest)}/s`, verdict: verdict(pgBest, 5_000, 'atLeast'), bound: withFloor(boundCell(b.acceptPostgres, (v) => `≤ ${fmtNum(v)}/s`, 5_000, 'atLeast', `one verification an envelope, ${cores}`), m, FLOOR_POSTGRES, 5_000, (v) => `${fmtNum(v)}/s`) });
  const p99at1k = m['e2e.r1000.p99'];
  const achieved = m['e2e.r1000.achieved'];
  out.push({
    target: 'FLASH end to end p99 at 1,000 notes/s, one relay',
    goal: '≤ 5 ms',
    measured: has(m, 'e2e.r1000.p99') ? `${fmtNum(p99at1k)} ms (achieved ${fmtNum(achieved)}/s)` : '—',
    verdict: has(m, 'e2e.r1000.p99') && has(m, 'e2e.r1000.achieved') && achieved! < 950 ? `${verdict(p99at1k, 5, 'atMost')}; offered load not reached` : verdict(p99at1k, 5, 'atMost'),
    bound: boundCell(b.e2eRate, (v) => `≤ ${fmtNum(v)} notes/s`, 1000, 'atLeast', `the counted cryptography of this load in the three processes, ${cores}`),
  });
  out.push({ target: 'FLASH one at a time p50', goal: '≤ 1 ms', measured: has(m, 'e2e.single.p50') ? `${fmtNum(m['e2e.single.p50'])} ms` : '—', verdict: verdict(m['e2e.single.p50'], 1, 'atMost'), bound: boundCell(b.singleMs, (v) => `≥ ${fmtNum(v)} ms`, 1, 'atMost', singlePathText(m)) });
  out.push({ target: 'Three relays at 200 notes/s: all copies p99', goal: '≤ 10 ms', measured: has(m, 'multi.all.p99') ? `${fmtNum(m['multi.all.p99'])} ms` : '—', verdict: verdict(m['multi.all.p99'], 10, 'atMost'), bound: boundCell(b.multiRate, (v) => `≤ ${fmtNum(v)} notes/s`, 200, 'atLeast', `three times the one-relay load's counted cryptography, ${cores}`) });
  out.push({ target: 'Failover: delivered after a relay is cut', goal: '≤ 2 s', measured: has(m, 'multi.failover.ms') ? `${fmtNum(m['multi.failover.ms'])} ms` : '—', verdict: verdict(m['multi.failover.ms'], 2000, 'atMost'), bound: '—' });
  const proof10m = m['micro.merkle.inclusion proof generation @ 10M (ids + fetch + rehash).us'];
  const proof1m = m['micro.merkle.inclusion proof generation @ 1M (ids + fetch + rehash).us'];
  out.push({
    target: 'Proof generation at 10M leaves',
    goal: '≤ 50 µs',
    measured: proof10m !== undefined ? `${fmtNum(proof10m)} µs` : proof1m !== undefined ? `${fmtNum(proof1m)} µs at 1M (10M not built in quick runs)` : '—',
    verdict: verdict(proof10m ?? proof1m, 50, 'atMost') + (proof10m === undefined && proof1m !== undefined ? ' (at 1M)' : ''),
    bound: '—',
  });
  out.push({ target: '`sync` of 10,000 queued notes', goal: '≤ 5 s', measured: has(m, 'station.sync.seconds') ? `${fmtNum(m['station.sync.seconds'])} s for ${fmtNum(m['station.sync.notes'])} notes` : '—', verdict: verdict(m['station.sync.seconds'], 5, 'atMost') + (has(m, 'station.sync.notes') && m['station.sync.notes']! < 10_000 ? ' (fewer notes: quick run)' : ''), bound: boundCell(b.syncSeconds, (v) => `≥ ${fmtNum(v)} s`, 5, 'atMost', `the counted cryptography of the sync in the recipient and the relay, ${cores}`) });
  const memSeconds = m['memory.seconds'];
  out.push({
    target: 'Relay memory flat over 10 min at 2,000 notes/s',
    goal: 'flat',
    measured: has(m, 'memory.heapSlopeMiBPerMin')
      ? `live heap ${m['memory.heapSlopeMiBPerMin']!.toFixed(2)} MiB/min, RSS ${fmtNum(m['memory.rssStartMiB'])} → ${fmtNum(m['memory.rssEndMiB'])} MiB over ${fmtNum(memSeconds)} s at ${fmtNum(m['memory.achieved'])}/s achieved`
      : '—',
    verdict: !has(m, 'memory.flat')
      ? 'not measured'
      : `${m['memory.flat'] === 1 ? 'met' : 'missed: the heap grows'}${memSeconds! < 590 ? ' (shorter run: quick)' : ''}${m['memory.achieved']! < 1900 ? `; offered 2,000/s, the relay took ${fmtNum(m['memory.achieved'])}/s` : ''}`,
    bound: '—',
  });
  return out;
}

const COLORS = { ours: '#2b6cb0', floor: '#90cdf4', peer: '#a0aec0', p50: '#2f855a', p99: '#dd6b20' };

export function throughputChart(m: Metrics): BarChart {
  const peer = (label: string, v: number | undefined): BarChart['rows'][number] => ({ label, values: [v], color: COLORS.peer });
  const rows: BarChart['rows'] = [
    { label: 'Backchannel relay, SQLite (best)', values: [best(m, 'accept.sqlite.c', '.perSecond')] },
    { label: 'Backchannel relay, PostgreSQL (best)', values: [best(m, 'accept.postgres.c', '.perSecond')] },
    { label: "The stack's floor, SQLite (no protocol)", values: [m[FLOOR_SQLITE]], color: COLORS.floor },
    { label: "The stack's floor, PostgreSQL (no protocol)", values: [m[FLOOR_POSTGRES]], color: COLORS.floor },
    peer('Prosody online A→B', m['peer.prosody.online']),
    peer('Prosody offline store', m['peer.prosody.offline']),
    peer('NATS JetStream publish, ack awaited', m['peer.nats.publish1']),
    peer('NATS JetStream publish, 100 in flight', m['peer.nats.publish100']),
    peer('Postfix accept (best of 1, 4 conns)', best(m, 'peer.postfix.c', '.perSecond')),
  ];
  return {
    title: 'Accepted per second, 2 KiB messages, loopback, same run',
    unit: 'messages per second',
    series: [{ name: 'per second', color: COLORS.ours }],
    legend: [
      { name: 'Backchannel: fsync, signed receipt with log proof', color: COLORS.ours },
      { name: "the stack's floor: Fastify, one verification, fsync; no protocol", color: COLORS.floor },
      { name: 'peers (only Postfix fsyncs before its answer)', color: COLORS.peer },
    ],
    rows,
  };
}

export function latencyChart(m: Metrics): BarChart {
  const row = (label: string, k: string): BarChart['rows'][number] => ({ label, values: [m[`${k}.p50`], m[`${k}.p99`]] });
  return {
    title: 'Latency, send to verified receipt (ms)',
    unit: 'milliseconds',
    scale: 'log',
    series: [
      { name: 'p50', color: COLORS.p50 },
      { name: 'p99', color: COLORS.p99 },
    ],
    rows: [
      row('Backchannel FLASH, one at a time', 'e2e.single'),
      row('Backchannel FLASH, 100/s', 'e2e.r100'),
      row('Backchannel FLASH, 1,000/s', 'e2e.r1000'),
      row('Backchannel FLASH, 5,000/s', 'e2e.r5000'),
      row('Backchannel, 3 relays, all copies', 'multi.all'),
      row('Prosody A→B, one at a time', 'peer.prosody.latency'),
      row('NATS JetStream consumer, one at a time', 'peer.nats.latency'),
    ],
  };
}

export function renderCharts(m: Metrics): { throughput: string; latency: string } {
  return { throughput: renderBarChart(throughputChart(m)), latency: renderBarChart(latencyChart(m)) };
}

function cell(v: string | number): string {
  // Counts are integers: no decimals for them, separators for large ones.
  const text = typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : fmtNum(v)) : v;
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function tableMarkdown(t: Table): string {
  let s = `**${t.title}**\n\n| ${t.columns.join(' | ')} |\n| ${t.columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |\n`;
  for (const r of t.rows) s += `| ${r.map(cell).join(' | ')} |\n`;
  for (const n of t.notes ?? []) s += `\n${n}\n`;
  return s;
}

export function reportMarkdown(o: { date: string; machine: string; quick: boolean; load: string; parts: readonly PartOutcome[]; charts: { throughput: string; latency: string } }): string {
  const metrics = Object.assign({}, ...o.parts.map((p) => p.report.metrics)) as Record<string, number>;
  let s = `Measured ${o.date} on ${o.machine}${o.quick ? ' (quick run: shorter loops, fewer notes; figures are indicative)' : ''}. Load average ${o.load}.\n\n`;
  s += '### Targets (issue 9)\n\n';
  s += tableMarkdown({
    title: 'Each target, the figure of this run, the verdict, and the bound this machine puts on it',
    columns: ['target', 'goal', 'measured', 'verdict', "this machine's bound (mandatory work only)"],
    rows: targets(metrics).map((t) => [t.target, t.goal, t.measured, t.verdict, t.bound]),
    notes: [
      "The bound prices only the protocol's own cryptography and durable commits at this run's limits (part 7), and on the one-at-a-time path a bare loopback round trip between two processes for the note's two hops; nothing for Fastify's or the WebSocket's own work, parsing, storage statements or the load generator: no implementation of the protocol does better on this machine, and a goal beyond it cannot be met here. The stack's floor after it, where measured, is a server on the relay's own dependencies (Fastify, cborg, node:crypto, better-sqlite3 or pg) under part 1's load doing only that mandatory work: a goal beyond it cannot be met on this stack here, whatever the protocol's code does.",
    ],
  });
  s += `\n![throughput](${o.charts.throughput})\n\n![latency](${o.charts.latency})\n`;
  for (const p of o.parts) {
    s += `\n### ${p.title}\n\n`;
    if (p.error !== undefined) s += `**This part failed:** ${p.error.replace(/\n/g, ' ')}\n\n`;
    for (const n of p.report.notes) s += `- ${n}\n`;
    if (p.report.notes.length > 0) s += '\n';
    for (const t of p.report.tables) s += `${tableMarkdown(t)}\n`;
    s += `_Part took ${p.seconds.toFixed(1)} s._\n`;
  }
  return s;
}
