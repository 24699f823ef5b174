/**
 * Part 1, relay accept throughput: `measureAccept` (bench/relay-accept.ts, which starts the
 * relay and the load generator as processes of their own) at 1, 8, 32 and 64 concurrent
 * stations, on SQLite and on PostgreSQL, 2 KiB notes. Per-core figures divide by the CPU the
 * relay process used, since the load generator (and PostgreSQL's server, whose CPU is shown
 * too) share the two cores. The last rows are the stack's floor (support/stack-floor.ts) under
 * the same load: Fastify, cborg, one verification and a group commit, none of the protocol's
 * own work, so the report can say what of the relay's time is the stack's and what is ours.
 */
import { emptyReport, fmtNum, type BenchOptions, type PartReport } from '../lib.js';

const CONCURRENCY = [1, 8, 32, 64];
// A quick run keeps the ends of the range, so it stays near a minute in all.
const QUICK_CONCURRENCY = [1, 64];

export async function run(opts: BenchOptions): Promise<PartReport> {
  const r = emptyReport();
  const { measureAccept } = await import('../relay-accept.js');
  const rows: (string | number)[][] = [];
  // The relay's default checks one signature per submission (the token); the last row shows the
  // cost of the operator's option to verify the envelope's station signature as well.
  const configs = [
    ...(['sqlite', 'postgres'] as const).flatMap((backend) => (opts.quick ? QUICK_CONCURRENCY : CONCURRENCY).map((concurrency) => ({ backend, concurrency, envelopeSignature: false, floor: false }))),
    { backend: 'sqlite' as const, concurrency: 64, envelopeSignature: true, floor: false },
    ...(['sqlite', 'postgres'] as const).map((backend) => ({ backend, concurrency: 64, envelopeSignature: false, floor: true })),
  ];
  for (const { backend, concurrency, envelopeSignature, floor } of configs) {
    process.stderr.write(`  ${floor ? "the stack's floor, " : ''}${backend}, ${concurrency} concurrent${envelopeSignature ? ', envelope signature checked too' : ''} …\n`);
    try {
      const a = await measureAccept({ backend, concurrency, seconds: opts.quick ? 2 : 6, payloadBytes: 2048, quick: opts.quick, envelopeSignature, server: floor ? 'floor' : 'relay' });
      // The two-check and floor rows have keys of their own, outside the accept.<store>.c<N> figures the targets read as the relay's.
      const key = floor ? `accept.floor.${backend}.c${concurrency}` : envelopeSignature ? `accept.twoChecks.${backend}.c${concurrency}` : `accept.${backend}.c${concurrency}`;
      r.metrics[`${key}.perSecond`] = a.perSecond;
      r.metrics[`${key}.p50`] = a.p50Ms;
      r.metrics[`${key}.p99`] = a.p99Ms;
      // Per core of relay CPU: what the relay would do with a core of its own.
      const perCore = a.relayCpuPercent !== undefined && a.relayCpuPercent > 0 ? a.perSecond / (a.relayCpuPercent / 100) : undefined;
      if (perCore !== undefined) r.metrics[`${key}.perRelayCore`] = perCore;
      if (a.databaseCpuPercent !== undefined) r.metrics[`${key}.databaseCpuPercent`] = a.databaseCpuPercent;
      rows.push([
        `${floor ? "the stack's floor, " : ''}${backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'}${envelopeSignature ? ' (+ envelope signature)' : ''}`,
        concurrency,
        fmtNum(a.perSecond),
        `${fmtNum(a.p50Ms)} / ${fmtNum(a.p99Ms)}`,
        a.relayCpuPercent === undefined ? '—' : `${a.relayCpuPercent.toFixed(0)} %`,
        a.loadCpuPercent === undefined ? '—' : `${a.loadCpuPercent.toFixed(0)} %`,
        a.databaseCpuPercent === undefined ? '—' : `${a.databaseCpuPercent.toFixed(0)} %`,
        fmtNum(perCore),
        a.accepted,
        a.note ?? '',
      ]);
    } catch (e) {
      // One configuration failing (PostgreSQL unreachable, say) leaves the others measured.
      rows.push([`${floor ? "the stack's floor, " : ''}${backend}`, concurrency, '—', '—', '—', '—', '—', '—', 0, `failed: ${e instanceof Error ? e.message : String(e)}`]);
    }
  }
  r.tables.push({
    title: 'Relay durable accept: envelopes per second with receipts after the durable commit, 2 KiB notes',
    columns: ['store', 'concurrent stations', 'per second', 'receipt latency p50 / p99 (ms)', 'relay CPU', 'load generator CPU', 'PostgreSQL CPU', 'per relay core', 'accepted', 'note'],
    rows,
    notes: [
      'CPU is the share of one core each process used during the measured window (200 % = both cores). PostgreSQL CPU is that of the server processes serving the relay (pg_stat_activity, read from /proc); SQLite runs inside the relay process.',
      "One Ed25519 verification per submission (the submission token, which signs these exact bytes' digest); the row marked + envelope signature is a relay started with verifyEnvelopeSignature, which checks the envelope's station signature as well.",
      "The stack's floor (bench/support/stack-floor.ts) is not a relay: the same load generator and bodies against a Fastify route that decodes the body with cborg, verifies the token's Ed25519 signature (node:crypto, on libuv's threads) and answers after a group commit of the envelope, its digest and token (SQLite WAL synchronous=FULL on a writer thread, or one INSERT a batch on PostgreSQL). No mandate, token or freshness checks, no log leaf, Merkle tree, checkpoint signature or receipt, no deduplication or push: what no relay on this stack can go below on this machine, and the relay's distance to it is the price of the protocol's own work. In its rows the relay's CPU and the note are the floor server's.",
    ],
  });
  return r;
}
