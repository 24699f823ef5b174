/**
 * `backchannel sync --home DIR [--json]`: fetches from every channel, verifies and merges the
 * copies, acknowledges each to its relay, sends the end-to-end acknowledgement back through every
 * channel the notes came by, collects delivery records of sent notes, and checks deadlines.
 *
 * Exit 0; 3 (`misbehaviour`) when the sync raised an alert with evidence (the report is printed
 * first); 1 (`sync_failed`) when no channel could be reached at all. On a terminal, progress
 * goes to standard error while a long sync runs.
 */
import type { Command } from 'commander';
import type { SyncProgress, SyncReport } from '@backchannel/station';
import { handOver } from '../handover.js';
import { CliError } from '../errors.js';
import type { Style } from '../output.js';
import { partyHomeOf, withStation } from '../party.js';
import { duration, table } from '../table.js';
import { optionsOf, withCommonOptions, type Context } from '../context.js';

export function humanSync(r: SyncReport, style: (s: Style, text: string) => string): string {
  const rows = r.relays.map((x) => [x.relay, x.ok ? 'ok' : 'failed', String(x.fetched), String(x.acknowledged), String(x.deliveries), x.error === undefined ? '' : `${x.error.code}: ${x.error.message}`]);
  const lines = [
    table([{ title: 'RELAY' }, { title: 'STATUS' }, { title: 'FETCHED', right: true }, { title: 'ACKED', right: true }, { title: 'DELIVERIES', right: true }, { title: 'ERROR' }], rows, (_row, col, padded) =>
      col === 1 ? style(padded.startsWith('ok') ? 'green' : 'red', padded) : padded,
    ),
    '',
    `${r.delivered} new note${r.delivered === 1 ? '' : 's'} delivered; ${r.received.length} cop${r.received.length === 1 ? 'y' : 'ies'} received; ${r.acks.length} acknowledgement${r.acks.length === 1 ? '' : 's'} sent.`,
  ];
  for (const f of r.deadlines.failovers) lines.push(style('yellow', `Failover: note ${f.id} to ${f.relays.join(', ')} (${f.reason}).`));
  for (const d of r.deadlines.drops) lines.push(style('red', `Drop: relay ${d.relay} gave a receipt for note ${d.id} but did not deliver it by the deadline.`));
  for (const m of r.deadlines.missed) lines.push(style('red', `Missed deadline: note ${m}.`));
  if (r.alerts.length > 0) lines.push(style('red', `${r.alerts.length} new alert${r.alerts.length === 1 ? '' : 's'} (ids ${r.alerts.join(', ')}): see 'backchannel alerts'.`));
  return lines.join('\n');
}

/** Progress lines for a person at a terminal (Output.progress prints nothing otherwise). */
export function syncProgress(ctx: Context): (p: SyncProgress) => void {
  return (p) => {
    switch (p.phase) {
      case 'fetch':
        ctx.out.progress(`Fetched ${p.fetched} cop${p.fetched === 1 ? 'y' : 'ies'} from ${p.relay ?? '?'} (${p.total} in all)`);
        break;
      case 'acks':
        ctx.out.progress('Sending the end-to-end acknowledgements…');
        break;
      case 'deliveries':
        ctx.out.progress('Collecting delivery records…');
        break;
      case 'deadlines':
        ctx.out.progress('Checking deadlines…');
        break;
    }
  };
}

export function registerSync(program: Command, ctx: Context): void {
  withCommonOptions(program.command('sync').description('fetch from every channel, verify, merge copies, acknowledge')).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const home = await partyHomeOf(ctx, o, 'sync');
    const onProgress = syncProgress(ctx);
    const started = Date.now();
    // Between progress reports (a slow relay), a person at a terminal still sees it is alive.
    const tick = setInterval(() => {
      ctx.out.progress(`… still syncing (${duration(Date.now() - started)})`);
    }, 5000);
    let r: SyncReport;
    try {
      const handed = await handOver(ctx, home, { verb: 'sync' }, (p) => {
        onProgress(p as SyncProgress);
      });
      r = handed.handed
        ? (handed.result as SyncReport)
        : await withStation(ctx, home, async (station) => {
            const relays = (await station.channels()).length;
            ctx.out.progress(`Syncing with ${relays} relay${relays === 1 ? '' : 's'}…`);
            return station.sync({ onProgress });
          });
    } finally {
      clearInterval(tick);
    }
    await ctx.out.result(humanSync(r, (s, t) => ctx.out.style(s, t)), r);
    if (r.alerts.length > 0) throw new CliError('misbehaviour', `the sync raised ${r.alerts.length} alert${r.alerts.length === 1 ? '' : 's'} with evidence (ids ${r.alerts.join(', ')}); see 'backchannel alerts'`);
    if (r.relays.length > 0 && r.relays.every((x) => !x.ok)) throw new CliError('sync_failed', `no channel could be reached (${r.relays.map((x) => `${x.relay}: ${x.error?.code ?? 'failed'}`).join('; ')})`);
  });
}
