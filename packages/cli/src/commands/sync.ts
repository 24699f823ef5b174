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
import type { SyncReport } from '@backchannel/station';
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

export function registerSync(program: Command, ctx: Context): void {
  withCommonOptions(program.command('sync').description('fetch from every channel, verify, merge copies, acknowledge')).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const home = await partyHomeOf(ctx, o, 'sync');
    const r = await withStation(ctx, home, async (station) => {
      const relays = (await station.channels()).length;
      ctx.out.progress(`Syncing with ${relays} relay${relays === 1 ? '' : 's'}…`);
      const started = Date.now();
      // The station reports when the whole sync is done; a person at a terminal sees it is alive.
      const tick = setInterval(() => {
        ctx.out.progress(`… still syncing (${duration(Date.now() - started)})`);
      }, 2000);
      try {
        return await station.sync();
      } finally {
        clearInterval(tick);
      }
    });
    await ctx.out.result(humanSync(r, (s, t) => ctx.out.style(s, t)), r);
    if (r.alerts.length > 0) throw new CliError('misbehaviour', `the sync raised ${r.alerts.length} alert${r.alerts.length === 1 ? '' : 's'} with evidence (ids ${r.alerts.join(', ')}); see 'backchannel alerts'`);
    if (r.relays.length > 0 && r.relays.every((x) => !x.ok)) throw new CliError('sync_failed', `no channel could be reached (${r.relays.map((x) => `${x.relay}: ${x.error?.code ?? 'failed'}`).join('; ')})`);
  });
}
