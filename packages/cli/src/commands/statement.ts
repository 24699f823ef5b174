/**
 * Transmission statements (protocol §7, docs/relay-api.md "Witnessing and statements").
 *
 * `backchannel statement --pair us,ir --since ISO|MS --until ISO|MS --home RELAY_HOME [--out FILE]`
 * — the relay's operator: unlocks the log key, runs `produceStatement` on the relay's
 * database, and writes the Signed statement bytes (to FILE, else to standard output; with
 * --json a summary with the bytes in base64).
 *
 * `backchannel verify-statement FILE --relay RELAY_CARD.json --party CARD.json --party CARD.json
 * [--witness VKEY …] [--quorum N]` — anyone, offline: `verifyStatement` with the relay's card
 * and the parties' cards, then the witness quorum on its checkpoint. Exit 3
 * (`statement_invalid`) when it does not verify; the report is printed in every case.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isBackchannelError, parsePartyCard, parseRelayCard, toBase64, verifyStatement, type KeyBundle, type RelayCard } from '@backchannel/core';
import { checkQuorum, isStationError, makeWitnessPolicy } from '@backchannel/station';
import { CliError, usage } from '../errors.js';
import { parsePartyId, quote } from '../flags.js';
import { isRelayHome, openHome, resolveDb, writeFileAtomic, MODE } from '../home.js';
import { readRelayCard, unlockLogKey } from '../home-keys.js';
import { writeBytes } from '../output.js';
import { collect, homeDirOf, listOption, optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

/** `--since`/`--until`: milliseconds since the epoch, or an ISO 8601 date-time with a zone (or a date, UTC). */
export function parseTime(value: string, flag: string): number {
  if (/^(?:0|[1-9][0-9]{0,15})$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  if (/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
    const n = Date.parse(value);
    if (Number.isSafeInteger(n) && n >= 0) return n;
  }
  throw usage(`${flag} ${quote(value)} is not a time: give milliseconds since the epoch or an ISO 8601 time with its zone (e.g. 2026-03-01T12:00:00Z)`);
}

function parsePair(value: string): [string, string] {
  const parts = value.split(',');
  if (parts.length !== 2) throw usage(`--pair ${quote(value)} must be two party ids separated by a comma (e.g. us,ir)`);
  const a = parsePartyId(parts[0]!, '--pair party id');
  const b = parsePartyId(parts[1]!, '--pair party id');
  if (a === b) throw usage('--pair must name two different parties');
  return [a, b];
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') throw new CliError('file_not_found', `the ${what} ${path} does not exist`, { cause: e });
    throw e;
  }
}

async function readRelayCardFile(path: string): Promise<RelayCard> {
  return parseRelayCard((await readInput(path, 'relay card')).toString('utf8'));
}

export interface StatementVerification {
  ok: boolean;
  count: number;
  by_direction: Record<string, number>;
  origin: string | null;
  parties: string[];
  since: number | null;
  until: number | null;
  issued: number | null;
  checkpoint_size: number | null;
  witnesses: string[];
  quorum: number;
  problems: string[];
}

/** Verifies statement bytes with the relay's card, the parties' bundles and a witness policy. Never throws for a bad statement. */
export function checkStatement(bytes: Uint8Array, relay: RelayCard, bundles: Record<string, KeyBundle>, witnesses: readonly string[], quorum: number | undefined): StatementVerification {
  const policy = makeWitnessPolicy(witnesses, quorum);
  const r: StatementVerification = { ok: false, count: 0, by_direction: {}, origin: null, parties: [], since: null, until: null, issued: null, checkpoint_size: null, witnesses: [], quorum: policy.quorum, problems: [] };
  try {
    const v = verifyStatement(bytes, relay.vkey, bundles);
    Object.assign(r, { count: v.count, by_direction: v.byDirection, origin: v.origin, parties: v.parties, since: v.since, until: v.until, issued: v.issued, checkpoint_size: v.checkpoint.size });
    for (const p of v.parties) if (bundles[p] === undefined) r.problems.push(`no card was given for party ${p}`);
    const q = checkQuorum(v.checkpointNote.text, v.checkpointNote.signatures, policy);
    r.witnesses = q.cosigned;
    r.problems.push(...q.problems);
  } catch (e) {
    if (!isBackchannelError(e) && !isStationError(e)) throw e;
    r.problems.push(`${e.code}: ${e.message}`);
  }
  r.ok = r.problems.length === 0;
  return r;
}

function humanReport(r: StatementVerification): string {
  if (!r.ok) return ['The statement does NOT verify:', ...r.problems.map((p) => `  - ${p}`)].join('\n');
  const dirs = Object.entries(r.by_direction).map(([d, n]) => `${d.replace('>', ' → ')}: ${n}`).join(', ');
  return [
    `The statement verifies: relay ${r.origin ?? '?'} states at least ${r.count} envelope${r.count === 1 ? '' : 's'} (acknowledgements and heartbeats included) between ${r.parties.join(' and ')}`,
    `from ${new Date(r.since ?? 0).toISOString()} to ${new Date(r.until ?? 0).toISOString()}${dirs === '' ? '' : ` (${dirs})`}.`,
    `Checkpoint size ${r.checkpoint_size ?? '?'}; witnesses: ${r.witnesses.length === 0 ? 'none' : r.witnesses.join(', ')} (quorum ${r.quorum}).`,
  ].join('\n');
}

export function registerStatement(program: Command, ctx: Context): void {
  withCommonOptions(
    program
      .command('statement')
      .description('relay home: produce a signed transmission statement about a pair of parties over a time window')
      .requiredOption('--pair <a,b>', 'the two parties, e.g. us,ir')
      .requiredOption('--since <time>', 'window start (inclusive): ms since the epoch or ISO 8601')
      .requiredOption('--until <time>', 'window end (exclusive): ms since the epoch or ISO 8601')
      .option('--out <file>', 'write the statement here (default: standard output, binary)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const pair = parsePair(stringOption(o, 'pair') ?? '');
    const since = parseTime(stringOption(o, 'since') ?? '', '--since');
    const until = parseTime(stringOption(o, 'until') ?? '', '--until');
    if (until <= since) throw usage('--until must be after --since');
    const out = stringOption(o, 'out');
    const home = await openHome(homeDirOf(ctx, o));
    if (!isRelayHome(home)) throw new CliError('not_supported', 'statement runs on a relay home (its operator produces statements); a party asks its relay with GET /v1/statement');
    const card = await readRelayCard(home);
    const logKey = await unlockLogKey(ctx, home, card);
    const { produceStatement } = await import('@backchannel/relay');
    const s = await produceStatement(resolveDb(home.json.db, home.dir), logKey, { pair, since, until, origin: home.json.origin });
    if (out !== undefined) await writeFileAtomic(out, s.bytes, MODE.public);
    const summary = { count: s.count, checkpoint_size: s.size, cosignatures: s.cosignatures, opened: s.opened, bytes: s.bytes.length, ...(out === undefined ? {} : { out }) };
    if (ctx.out.json) {
      await ctx.out.result('', { ...summary, statement: toBase64(s.bytes) });
      return;
    }
    if (out === undefined) {
      await writeBytes(ctx.io.stdout, s.bytes);
      return;
    }
    await ctx.out.result(`Wrote a statement of at least ${s.count} envelope${s.count === 1 ? '' : 's'} between ${pair.join(' and ')} to ${out} (checkpoint size ${s.size}, ${s.cosignatures} witness cosignature${s.cosignatures === 1 ? '' : 's'}).`, summary);
  });

  withCommonOptions(
    program
      .command('verify-statement')
      .description('check a transmission statement offline, with the relay’s card, the parties’ cards and the witnesses’ keys')
      .argument('<file>', 'the statement (as `backchannel statement` wrote it)')
      .requiredOption('--relay <card>', 'the relay’s card (JSON)')
      .option('--party <card>', 'a party’s card (JSON); give both parties', collect)
      .option('--witness <vkey>', 'a witness key (cosignature/v1 vkey) the checkpoint may be cosigned by; repeatable', collect)
      .option('--quorum <n>', 'how many of the --witness keys must have cosigned (default: all of them)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const file = args[0] as string;
    const partyPaths = listOption(o, 'party');
    if (partyPaths.length === 0) throw usage('--party is required: give both parties’ cards');
    const witnesses = listOption(o, 'witness');
    const q = stringOption(o, 'quorum');
    if (q !== undefined && !/^(?:0|[1-9][0-9]{0,3})$/.test(q)) throw usage(`--quorum ${quote(q)} must be a whole number`);
    if (q !== undefined && Number(q) > witnesses.length) throw usage(`--quorum ${q} is more than the ${witnesses.length} --witness key${witnesses.length === 1 ? '' : 's'} given`);
    let policyCheck: unknown;
    try {
      makeWitnessPolicy(witnesses, q === undefined ? undefined : Number(q));
    } catch (e) {
      policyCheck = e;
    }
    if (policyCheck !== undefined) throw usage(policyCheck instanceof Error ? policyCheck.message : 'bad --witness');
    const relay = await readRelayCardFile(stringOption(o, 'relay') ?? '');
    const bundles: Record<string, KeyBundle> = {};
    for (const p of partyPaths) {
      const text = (await readInput(p, 'party card')).toString('utf8');
      const card = parsePartyCard(text);
      bundles[card.id] = card.signed.bundle;
    }
    const bytes = new Uint8Array(await readInput(file, 'statement'));
    const r = checkStatement(bytes, relay, bundles, witnesses, q === undefined ? undefined : Number(q));
    await ctx.out.result(humanReport(r), r);
    if (!r.ok) throw new CliError('statement_invalid', `the statement ${file} does not verify: ${r.problems[0] ?? ''}`);
  });
}
