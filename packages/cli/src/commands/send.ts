/**
 * `backchannel send --to ID --precedence P --subject S (--body T | --body-file F|-)
 *   [--via R1,R2] [--reply-to MSGID] [--failover R1,R2|none] [--category C] [--signer ID]
 *   [--time-scale X] --home DIR [--json]`
 *
 * Seals the note once, stores it, and submits it through the chosen relays (default: the
 * precedence's policy), failing over at once when a submission fails (FLASH also after one
 * second without a receipt). Returns when every relay answered or the send timeout passed, with
 * each receipt (checked), each failure and each failover (PRODUCT.md `send --json`: at least
 * `{"id", "receipts": [{"relay", "log_index"}]}`). No receipt at all is `not_sent` (exit 1),
 * after the result is printed: the note stays stored, sealed, for a later resend.
 */
import type { Command } from 'commander';
import { CATEGORIES, MAX_ENVELOPE_BYTES, PRECEDENCES, type Category, type Precedence } from '@backchannel/core';
import type { SendRequest, SendResult, Station } from '@backchannel/station';
import { handOver } from '../handover.js';
import { readInputFile } from '../input-file.js';
import { CliError, CodedError, EXIT, usage } from '../errors.js';
import { parseKeyId, parsePartyId, parseRelayIdList, parseTimeScale, quote } from '../flags.js';
import type { Io } from '../output.js';
import { parseNoteId, partyHomeOf, resolveNoteId, withStation } from '../party.js';
import { table, when } from '../table.js';
import { optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

/** The largest body taken; the envelope (padded, with headers and signatures) must fit its largest bucket. */
export const MAX_BODY_BYTES = MAX_ENVELOPE_BYTES - 64 * 1024;

export function parsePrecedenceFlag(value: string): Precedence {
  const u = value.toUpperCase();
  if (!(PRECEDENCES as readonly string[]).includes(u)) throw usage(`--precedence ${quote(value)} is not valid: use one of ${PRECEDENCES.join(', ')}`);
  return u as Precedence;
}

export function parseCategory(value: string): Category {
  if (!(CATEGORIES as readonly string[]).includes(value)) throw usage(`--category ${quote(value)} is not valid: use one of ${CATEGORIES.join(', ')}`);
  return value as Category;
}

async function readBody(io: Io, path: string): Promise<string> {
  const bytes = await readInputFile(io, path, 'body', MAX_BODY_BYTES, (where) => new CliError('usage', `${where} is larger than ${MAX_BODY_BYTES} bytes, the most a note carries`));
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').length !== bytes.length) throw new CliError('usage', 'the body is not UTF-8 text');
  return text;
}

export function humanSend(r: SendResult): string {
  const rows: string[][] = [
    ...r.receipts.map((x) => [x.relay, 'receipt', `log index ${x.log_index}`]),
    ...r.failures.map((x) => [x.relay, 'failed', `${x.code}: ${x.message}`]),
    ...r.failover.map((x) => [x.relay, 'failover', x.reason]),
    ...r.pending.map((x) => [x, 'pending', 'no answer yet']),
  ];
  return [
    `Sent note ${r.id} (${r.precedence}), deadline ${when(r.deadline)}.`,
    `Digest ${r.digest}`,
    '',
    table([{ title: 'RELAY' }, { title: 'OUTCOME' }, { title: 'DETAIL' }], rows),
  ].join('\n');
}

/** Sends on an open station (the command's, or the daemon's when handed over). */
export async function sendOn(ctx: Context, station: Station, req: SendRequest, replyId: string | undefined, homeDir: string): Promise<SendResult> {
  if (!(await station.parties()).some((p) => p.id === req.to && !p.self)) {
    throw new CodedError('unknown_party', `party ${req.to} is not pinned at this station: pin its card with 'backchannel trust CARD.json --home ${homeDir}', and nothing was sent`, EXIT.failed);
  }
  if (replyId !== undefined) req.replyTo = await resolveNoteId(station, replyId);
  ctx.out.progress(`Sealing and submitting to ${req.via?.join(', ') ?? 'the policy’s channels'}…`);
  return station.send(req);
}

export function registerSend(program: Command, ctx: Context): void {
  withCommonOptions(
    program
      .command('send')
      .description('seal, sign and submit a note through the chosen relays (default: the precedence’s policy)')
      .requiredOption('--to <party>', 'the recipient party (pinned with trust)')
      .requiredOption('--precedence <p>', 'FLASH, IMMEDIATE, PRIORITY or ROUTINE')
      .requiredOption('--subject <text>', 'the subject')
      .option('--body <text>', 'the body (visible to other users of this machine while the command runs: prefer --body-file)')
      .option('--body-file <file>', 'read the body from a file, or - for standard input')
      .option('--via <relays>', 'relays to send through, comma-separated (default: the precedence’s policy)')
      .option('--reply-to <msgid>', 'the note this one answers; the reply joins its thread')
      .option('--failover <relays>', 'failover relays in order, comma-separated, or none (default: every other channel)')
      .option('--category <c>', `${CATEGORIES.join(', ')} (default: political)`)
      .option('--signer <id>', 'the signer to sign as (default: the first the desk holds)')
      .option('--time-scale <x>', 'multiply the delivery objective by x, for tests and demos (default 1)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const body = stringOption(o, 'body');
    const bodyFile = stringOption(o, 'bodyFile');
    if (body !== undefined && bodyFile !== undefined) throw usage('give the body with --body or --body-file, not both');
    if (body === undefined && bodyFile === undefined) throw new CliError('body_required', 'a note needs a body: give --body TEXT, or --body-file FILE (- for standard input)');
    const subject = stringOption(o, 'subject') ?? '';
    if (subject.trim().length === 0) throw usage('--subject must not be empty');
    const via = stringOption(o, 'via');
    const failover = stringOption(o, 'failover');
    const replyTo = stringOption(o, 'replyTo');
    const category = stringOption(o, 'category');
    const signer = stringOption(o, 'signer');
    const scale = stringOption(o, 'timeScale');
    const req: SendRequest = {
      to: parsePartyId(stringOption(o, 'to') ?? '', 'recipient (--to)'),
      precedence: parsePrecedenceFlag(stringOption(o, 'precedence') ?? ''),
      subject,
      body: '',
      ...(via === undefined ? {} : { via: parseRelayIdList(via, '--via') }),
      ...(failover === undefined ? {} : { failover: failover === 'none' ? ('none' as const) : parseRelayIdList(failover, '--failover') }),
      ...(category === undefined ? {} : { category: parseCategory(category) }),
      ...(signer === undefined ? {} : { signer: parseKeyId(signer, '--signer') }),
    };
    const replyId = replyTo === undefined ? undefined : parseNoteId(replyTo, '--reply-to note id');
    const timeScale = scale === undefined ? undefined : parseTimeScale(scale);
    const home = await partyHomeOf(ctx, o, 'send');
    req.body = body ?? (await readBody(ctx.io, bodyFile ?? '-'));
    const handed = timeScale === undefined ? await handOver(ctx, home, { verb: 'send', request: { ...req }, replyTo: replyId ?? null }) : { handed: false as const };
    const r = handed.handed ? (handed.result as SendResult) : await withStation(ctx, home, (station) => sendOn(ctx, station, req, replyId, home.dir), timeScale === undefined ? {} : { timeScale });
    await ctx.out.result(humanSend(r), r);
    if (r.receipts.length === 0 && r.pending.length === 0) {
      throw new CliError('not_sent', `no relay gave a receipt for note ${r.id} (${r.failures.map((f) => `${f.relay}: ${f.code}`).join('; ') || 'no channel answered'}); it stays stored, sealed, for a resend`);
    }
  });
}
