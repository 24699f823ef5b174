/**
 * Part 3, three relays: FLASH notes sent through all three (the FLASH policy), open loop at
 * 200 notes/s; for each note the time from the send call to the recipient's first verified
 * copy and to its last (all three). Then failover: relay `qa` (reached through a FaultProxy)
 * is cut — first refusing connections (a relay that is down), then swallowing requests (a relay
 * that hangs, where FLASH fails over when no receipt comes within one second) — and FLASH
 * notes are sent through `qa` alone with the other two as failover candidates; the figure is
 * the time from the send call to the first verified copy through another relay.
 *
 * The two phases run on two sets of relays. The load reaches all three directly: the FaultProxy
 * is an HTTP proxy in this very process, so with `qa` behind it every request to `qa`, the
 * sender's and the recipient's, waited on the sending desk's busy event loop (measured at 200
 * notes/s: `qa`'s copies p50 1.9 s, against 0.56 s for `ch`), which is the harness, not
 * Backchannel. The failover phase has `qa` behind the proxy, which is what it cuts.
 */
import { emptyReport, fmtNum, summarize, wallMs, type BenchOptions, type PartReport } from '../lib.js';
import { openSender, startReceiver, startRelays } from '../support/e2e-world.js';
import { tempDir } from '../support/procs.js';
import { NOTE_BODY, offeredLoad, warmUp } from './e2e.js';

const ALL = ['ch', 'om', 'qa'];

export async function run(opts: BenchOptions): Promise<PartReport> {
  const r = emptyReport();
  const dir = tempDir('bc-bench-multi-');
  const relays = await startRelays(ALL, dir);
  const rx = await startReceiver(relays, dir, true);
  const desk = await openSender(relays, dir);
  const seconds = opts.quick ? 2 : 6;

  await warmUp(desk, rx, ALL, opts.quick ? 200 : 1000, 3);

  const l = await offeredLoad(desk, rx, ALL, 200, seconds, 3);
  const first: number[] = [];
  const all: number[] = [];
  for (const [id, t] of l.sentAt) {
    const c = rx.copies.get(id);
    if (c === undefined) continue;
    first.push(Math.min(...c.values()) - t);
    if (c.size === 3) all.push(Math.max(...c.values()) - t);
  }
  const f = summarize(first);
  const a = summarize(all);
  r.metrics['multi.first.p50'] = f.p50;
  r.metrics['multi.first.p99'] = f.p99;
  r.metrics['multi.all.p50'] = a.p50;
  r.metrics['multi.all.p99'] = a.p99;
  r.metrics['multi.achieved'] = l.achieved;
  r.tables.push({
    title: `FLASH through three relays, 200 notes/s offered for ${seconds} s (achieved ${fmtNum(l.achieved)}/s)`,
    columns: ['copy', 'notes', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
    rows: [
      ['first copy', f.n, fmtNum(f.p50), fmtNum(f.p99), fmtNum(f.p999), fmtNum(f.max)],
      ['all three copies', `${a.n} of ${l.sent}`, fmtNum(a.p50), fmtNum(a.p99), fmtNum(a.p999), fmtNum(a.max)],
    ],
    notes: ['Each relay reached directly; the failover below runs on a second set of relays, with `qa` behind the FaultProxy.'],
  });
  await desk.close();
  await rx.stop();
  await Promise.all(relays.map((x) => x.stop()));

  // Failover: qa cut; notes sent through qa alone must arrive through ch or om. A fresh set of
  // relays, warmed up a little: the figure is a failover's time, not a cold process's.
  const fdir = tempDir('bc-bench-failover-');
  const cut = await startRelays(ALL, fdir, { proxied: ['qa'] });
  const frx = await startReceiver(cut, fdir, true);
  const fdesk = await openSender(cut, fdir);
  const qa = cut.find((x) => x.id === 'qa')!.proxy!;
  await warmUp(fdesk, frx, ALL, opts.quick ? 50 : 200, 3);
  const rows: (string | number)[][] = [];
  const n = opts.quick ? 3 : 10;
  for (const mode of ['refused', 'silent'] as const) {
    if (mode === 'refused') qa.partition();
    else {
      qa.heal();
      qa.setFault({ kind: 'drop' });
    }
    const times: number[] = [];
    let lost = 0;
    for (let i = 0; i < n; i++) {
      const t = wallMs();
      const s = await fdesk.send({ to: 'ir', precedence: 'FLASH', subject: 'failover', body: NOTE_BODY, via: ['qa'], failover: ['ch', 'om'] });
      if (!(await frx.waitFor(s.id, 1, 30_000))) {
        lost++;
        continue;
      }
      times.push(Math.min(...frx.copies.get(s.id)!.values()) - t);
    }
    const s = summarize(times);
    r.metrics[`multi.failover.${mode}.p50`] = s.p50;
    r.metrics[`multi.failover.${mode}.max`] = s.max;
    rows.push([mode === 'refused' ? 'qa refuses connections (down)' : 'qa swallows requests (hangs)', `${s.n} of ${n}${lost > 0 ? `, ${lost} not within 30 s` : ''}`, fmtNum(s.p50), fmtNum(s.max)]);
  }
  qa.setFault({ kind: 'pass' });
  // The target is on the worst case: the slowest delivery after a cut, of either kind.
  r.metrics['multi.failover.ms'] = Math.max(r.metrics['multi.failover.refused.max'] ?? NaN, r.metrics['multi.failover.silent.max'] ?? NaN);
  r.tables.push({ title: 'Failover: FLASH via qa alone, qa cut, ch and om as failover', columns: ['cut', 'delivered', 'p50 ms to first copy', 'max ms'], rows });
  return r;
}
