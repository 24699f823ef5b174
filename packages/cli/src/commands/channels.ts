/**
 * `backchannel channels` (the health of each relay: last contact, last heartbeat, lag, last
 * error, open alerts) and `backchannel alerts [--all] [--kind K]` / `alerts resolve ID`
 * (misbehaviour found, each with its evidence).
 */
import type { Command } from 'commander';
import { ALERT_KINDS, type Alert, type AlertKind, type ChannelHealthView } from '@backchannel/station';
import { usage } from '../errors.js';
import { quote } from '../flags.js';
import type { Style } from '../output.js';
import { partyHomeOf, withStation } from '../party.js';
import { cut, duration, table, when } from '../table.js';
import { flagOption, optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

type Paint = (s: Style, text: string) => string;

export function humanChannels(cs: readonly ChannelHealthView[], paint: Paint): string {
  if (cs.length === 0) return 'No channels: add a relay with trust RELAY_CARD.json.';
  const rows = cs.map((c) => [c.relay + (c.primary ? ' *' : ''), c.url, when(c.last_contact), when(c.last_heartbeat), duration(c.lag_ms), String(c.open_alerts), c.last_error === null ? '' : `${c.last_error.code} at ${when(c.last_error.at)}`]);
  return [
    table([{ title: 'RELAY' }, { title: 'URL' }, { title: 'LAST CONTACT' }, { title: 'LAST HEARTBEAT' }, { title: 'LAG', right: true }, { title: 'ALERTS', right: true }, { title: 'LAST ERROR' }], rows, (row, col, padded) => {
      const c = cs[row];
      if (col === 5 && c !== undefined && c.open_alerts > 0) return paint('red', padded);
      if (col === 6 && padded.trim() !== '') return paint('yellow', padded);
      return padded;
    }),
    '',
    '* the primary channel',
  ].join('\n');
}

export function alertJson(a: Alert): Record<string, unknown> {
  return { id: a.id, kind: a.kind, at: a.at, relay: a.relay ?? null, party: a.party ?? null, note: a.note ?? null, message: a.message, evidence: a.evidence, resolved_at: a.resolvedAt ?? null };
}

export function humanAlerts(as: readonly Alert[], paint: Paint): string {
  if (as.length === 0) return 'No alerts.';
  const rows = as.map((a) => [String(a.id), a.kind, when(a.at), a.relay ?? a.party ?? '', a.resolvedAt === undefined ? 'open' : 'resolved', cut(a.message, 80)]);
  return [
    table([{ title: 'ID', right: true }, { title: 'KIND' }, { title: 'AT' }, { title: 'WHO' }, { title: 'STATE' }, { title: 'MESSAGE' }], rows, (row, col, padded) => (col === 4 && as[row]?.resolvedAt === undefined ? paint('red', padded) : padded)),
    '',
    'Each alert carries its evidence: see it with --json.',
  ].join('\n');
}

export function registerChannels(program: Command, ctx: Context): void {
  const paint: Paint = (s, t) => ctx.out.style(s, t);
  withCommonOptions(program.command('channels').description('health of each relay: last contact, last heartbeat, lag, last error, open alerts')).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const home = await partyHomeOf(ctx, o, 'channels');
    const { channels, due } = await withStation(ctx, home, async (s) => ({ channels: await s.channels(), due: await s.alerts({ open: true, kind: 'rotation_due' }) }));
    // The party's own keys are part of the desk's health: a rotation that is due is said here too.
    const reminders = due.map((a) => paint('red', `KEY ROTATION DUE: ${a.message} (alert ${a.id})`));
    await ctx.out.result([humanChannels(channels, paint), ...(reminders.length > 0 ? ['', ...reminders] : [])].join('\n'), { channels, rotation_due: due.map(alertJson) });
  });

  const alerts = withCommonOptions(
    program
      .command('alerts')
      .description('alerts with their evidence (open ones unless --all); alerts resolve ID marks one resolved')
      .option('--all', 'include resolved alerts')
      .option('--kind <kind>', `only this kind: ${ALERT_KINDS.join(', ')}`),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const kind = stringOption(o, 'kind');
    if (kind !== undefined && !(ALERT_KINDS as readonly string[]).includes(kind)) throw usage(`--kind ${quote(kind)} is not valid: use one of ${ALERT_KINDS.join(', ')}`);
    const home = await partyHomeOf(ctx, o, 'alerts');
    const list = await withStation(ctx, home, (s) => s.alerts({ ...(flagOption(o, 'all') ? {} : { open: true }), ...(kind === undefined ? {} : { kind: kind as AlertKind }) }));
    await ctx.out.result(humanAlerts(list, paint), { alerts: list.map(alertJson) });
  });
  withCommonOptions(alerts.command('resolve').description('mark an alert resolved (it stays in the archive with its evidence)').argument('<id>', 'the alert id')).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const idText = args[0] as string;
    if (!/^[1-9][0-9]{0,12}$/.test(idText)) throw usage(`the alert id ${quote(idText)} is not valid: give the number shown by 'backchannel alerts'`);
    const id = Number(idText);
    const home = await partyHomeOf(ctx, o, 'alerts resolve');
    await withStation(ctx, home, async (s) => {
      if (!(await s.alerts()).some((a) => a.id === id)) throw usage(`there is no alert ${id} at this station`);
      await s.resolveAlert(id);
    });
    await ctx.out.result(`Alert ${id} is resolved; it stays in the archive with its evidence.`, { resolved: id });
  });
}
