/**
 * `backchannel verify --home DIR [--json]`: checks every receipt and delivery record held
 * against the relays' logs (inclusion) and every checkpoint held against the relay's current one
 * (consistency). PRODUCT.md `verify --json`: `{"ok", "relays": [{"relay", "ok", "problems"}]}`.
 *
 * Exit 0 when every relay checks out; 3 (`misbehaviour`) when a relay is caught (a fork, or a
 * receipt for something not in its log: an alert with evidence, new or still open); 1
 * (`verify_failed`) when a relay could not be checked (unreachable) and nothing worse was found.
 * The report is printed in every case.
 */
import type { Command } from 'commander';
import type { Station, VerifyProgress, VerifyReport } from '@backchannel/station';
import { handOver } from '../handover.js';
import { CliError } from '../errors.js';
import type { Style } from '../output.js';
import { partyHomeOf, withStation } from '../party.js';
import { table } from '../table.js';
import { optionsOf, withCommonOptions, type Context } from '../context.js';

const LOG_MISBEHAVIOUR: ReadonlySet<string> = new Set(['fork', 'receipt_invalid']);

export function humanVerify(r: VerifyReport, paint: (s: Style, text: string) => string): string {
  if (r.relays.length === 0) return 'No relays to verify: add one with trust.';
  const rows = r.relays.map((x) => [x.relay, x.ok ? 'ok' : 'PROBLEM', x.size === undefined ? '-' : String(x.size), String(x.checkpoints), String(x.receipts), x.problems.join('; ')]);
  return [
    table([{ title: 'RELAY' }, { title: 'STATUS' }, { title: 'TREE', right: true }, { title: 'CHECKPOINTS', right: true }, { title: 'RECEIPTS', right: true }, { title: 'PROBLEMS' }], rows, (row, col, padded) =>
      col === 1 ? paint(r.relays[row]?.ok === true ? 'green' : 'red', padded) : padded,
    ),
    '',
    r.ok ? paint('green', 'Every receipt and checkpoint held checks out against the relays’ logs.') : paint('red', 'Verification found problems.'),
  ].join('\n');
}

export interface VerifyOutcome {
  report: VerifyReport;
  /** Alerts of log misbehaviour: raised now, or still open for a relay that failed. */
  caught: number[];
}

/** The verification on an open station (the command's, or the daemon's when handed over). */
export async function verifyOn(s: Station, onProgress?: (p: VerifyProgress) => void): Promise<VerifyOutcome> {
  const report = await s.verify(onProgress === undefined ? {} : { onProgress });
  const failing = new Set(report.relays.filter((x) => !x.ok).map((x) => x.relay));
  const open = (await s.alerts({ open: true })).filter((a) => LOG_MISBEHAVIOUR.has(a.kind) && (report.alerts.includes(a.id) || (a.relay !== undefined && failing.has(a.relay))));
  return { report, caught: [...new Set([...report.alerts, ...open.map((a) => a.id)])] };
}

export function registerVerify(program: Command, ctx: Context): void {
  withCommonOptions(program.command('verify').description('check every receipt and checkpoint held against the relays’ logs')).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const home = await partyHomeOf(ctx, o, 'verify');
    const onProgress = (p: VerifyProgress): void => {
      ctx.out.progress(p.phase === 'relay' ? `Verifying relay ${p.relay} (${p.relayIndex}/${p.relays}): ${p.receipts} receipt${p.receipts === 1 ? '' : 's'}…` : `… relay ${p.relay}: ${p.checked}/${p.receipts} receipts checked`);
    };
    const handed = await handOver(ctx, home, { verb: 'verify' }, (p) => {
      onProgress(p as VerifyProgress);
    });
    const { report, caught } = handed.handed ? (handed.result as VerifyOutcome) : await withStation(ctx, home, (s) => verifyOn(s, onProgress));
    await ctx.out.result(
      humanVerify(report, (s, t) => ctx.out.style(s, t)),
      report,
    );
    if (caught.length > 0) throw new CliError('misbehaviour', `verification caught a relay misbehaving: alert${caught.length === 1 ? '' : 's'} ${caught.join(', ')} with evidence; see 'backchannel alerts'`);
    if (!report.ok) throw new CliError('verify_failed', `some relays could not be verified (${report.relays.filter((x) => !x.ok).map((x) => x.relay).join(', ')}); no misbehaviour was found in what could be checked`);
  });
}
