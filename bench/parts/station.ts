/**
 * Part 4, the station: seal + sign and verify + open per second, HPKE alone (the single-process
 * micro benchmarks core.bench.ts and hpke.bench.ts), and `sync` of queued notes — 10,000 in a
 * full run, 1,000 in a quick one — sent by a real sending desk through a real relay process
 * while the recipient was not watching, then fetched, verified, opened, merged and
 * acknowledged by the recipient desk's `sync` (timed in the recipient's process), with where
 * its CPU goes (support/note-cost.ts).
 */
import { concurrentFor, fmtNum, type BenchOptions, type PartReport } from '../lib.js';
import { openSender, startReceiver, startRelays } from '../support/e2e-world.js';
import { costTable, countCrypto, perNote, snapshot } from '../support/note-cost.js';
import { tempDir } from '../support/procs.js';
import { profiled } from '../support/profile.js';
import { runMicro } from './micro.js';
import { NOTE_BODY } from './e2e.js';
import { cryptoCosts } from './limits.js';

export async function run(opts: BenchOptions): Promise<PartReport> {
  const r = await runMicro(['core.bench.ts', 'hpke.bench.ts'], 'Station crypto: envelopes, signatures, HPKE (one process, one core)', opts);

  const target = opts.quick ? 1000 : 10_000;
  const dir = tempDir('bc-bench-sync-');
  const counting = await countCrypto();
  const relays = await startRelays(['ch'], dir);
  const rx = await startReceiver(relays, dir, false);
  counting.stopPassingOn();
  const desk = await openSender(relays, dir);
  const pids = { sender: process.pid, relay: relays[0]!.pid, receiver: rx.pid };
  let failed = 0;
  const q = await concurrentFor(opts.quick ? 30_000 : 120_000, target, 32, async () => {
    const s = await desk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'queued', body: NOTE_BODY, via: ['ch'], failover: 'none' });
    if (s.receipts.length === 0) failed++;
  });
  const queued = q.ops - failed;
  const before = await snapshot(counting.dir, pids);
  const s = await profiled('sync', 'sender', [relays[0]!.inspect, rx.inspect], () => rx.sync());
  const cost = perNote(before, await snapshot(counting.dir, pids), s.delivered);
  if (!s.ok) r.notes.push('sync: a relay reported a failure during the timed sync.');
  r.metrics['station.queue.perSecond'] = queued / q.seconds;
  r.metrics['station.sync.seconds'] = s.seconds;
  r.metrics['station.sync.notes'] = s.delivered;
  r.metrics['station.sync.perSecond'] = s.delivered / s.seconds;
  r.tables.push({
    title: `sync of ${fmtNum(queued)} queued notes (2 KiB bodies, one relay, SQLite)`,
    columns: ['step', 'notes', 'seconds', 'per second'],
    rows: [
      ['queue: Station.send, 32 concurrent, ROUTINE', queued, fmtNum(q.seconds), fmtNum(queued / q.seconds)],
      ['sync: fetch, verify, open, merge, acknowledge', `${s.delivered} delivered of ${s.fetched} fetched`, fmtNum(s.seconds), fmtNum(s.delivered / s.seconds)],
    ],
    notes: queued < target ? [`Fewer than ${fmtNum(target)} notes were queued within the time bound.`] : [],
  });
  costTable('station', [{ key: 'sync', label: 'sync', cost }], await cryptoCosts(opts.quick ? 300 : 1000), r);
  return r;
}
