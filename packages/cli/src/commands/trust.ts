/**
 * `backchannel trust CARD.json --home DIR [--fingerprint FP] [--allow us,ir] [--statements]`
 *
 * On a relay home: adds the party of CARD.json (its root-signed bundle, pinned) to the relay's
 * mandate, in the relay's database (@backchannel/relay addPartyToMandate). The passphrase
 * unlocks the log key first: only whoever holds the relay's key changes what it serves.
 *
 * On a party home, `trust` pins a peer party or adds a relay as a channel of the home's station
 * (station-trust.ts).
 */
import type { Command } from 'commander';
import { readInputFile } from '../input-file.js';
import { BackchannelError, fingerprintsEqual, parsePartyCard, type PartyCard } from '@backchannel/core';
import { CliError } from '../errors.js';
import { parseFingerprint, parseIdList } from '../flags.js';
import { isPartyHome, isRelayHome, openHome, resolveDb, type Home, type RelayHomeJson } from '../home.js';
import { readRelayCard, unlockLogKey } from '../home-keys.js';
import { loadRelay } from '../relay.js';
import { trustOnStation } from './station-trust.js';
import { collect, homeDirOf, listOption, optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';
import type { Io } from '../output.js';

const MAX_CARD_BYTES = 1024 * 1024;

export interface TrustInput {
  cardPath: string;
  homeDir: string;
  fingerprint: string | undefined;
  /** undefined: keep what the mandate holds (for a new party: any party of the mandate). */
  allow: string[] | undefined;
  /** undefined: keep what the mandate holds (for a new party: no consent). */
  statements: boolean | undefined;
  /** Party home, relay card: the witness quorum policy for that relay (--witness, --quorum). */
  witnesses?: string[];
  quorum?: number;
}

export interface TrustResult {
  relay: string;
  party: string;
  name: string;
  fingerprint: string;
  added: boolean;
  seq: number;
  /** Present when --allow was given. */
  allow?: string[];
  /** Present when --statements or --no-statements was given. */
  statements?: boolean;
}

/** Reads CARD.json, or standard input for "-"; bounded, since the file comes from someone else. */
export async function readCardFile(io: Io, path: string): Promise<string> {
  const bytes = await readInputFile(io, path, 'card', MAX_CARD_BYTES, (where) => new BackchannelError('too_large', `${where} is larger than 1 MiB, so it is not a card`));
  return bytes.toString('utf8');
}

/** The card's declared kind, read before the full check so the error can say what it is. */
export function kindOf(text: string): unknown {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>).kind : undefined;
  } catch {
    return undefined; // parsePartyCard reports the JSON error
  }
}

export async function trustOnRelay(ctx: Context, home: Home<RelayHomeJson>, input: TrustInput): Promise<TrustResult> {
  const text = await readCardFile(ctx.io, input.cardPath);
  const kind = kindOf(text);
  if (kind === 'relay') throw new CliError('card_wrong_kind', `${input.cardPath === '-' ? 'the card on standard input' : input.cardPath} is a relay card; a relay's mandate lists parties, so give it a party card`);
  const card: PartyCard = parsePartyCard(text);
  if (input.fingerprint !== undefined && !fingerprintsEqual(input.fingerprint, card.fingerprint)) {
    throw new BackchannelError('fingerprint_mismatch', `the card of party ${card.id} does not have the fingerprint given with --fingerprint, and nothing was changed`);
  }
  const relayCard = await readRelayCard(home);
  const relay = await loadRelay();
  await unlockLogKey(ctx, home, relayCard); // authorises the change; the key itself is not needed
  const options: { allow?: string[]; statements?: boolean } = {};
  if (input.allow !== undefined) options.allow = input.allow;
  if (input.statements !== undefined) options.statements = input.statements;
  ctx.out.progress(`Adding party ${card.id} to the mandate…`);
  const r = await relay.addPartyToMandate(resolveDb(home.json.db, home.dir), card, options);
  return { relay: home.json.id, party: card.id, name: card.name, fingerprint: card.fingerprint, added: r.added, seq: r.seq, ...options };
}

export function registerTrust(program: Command, ctx: Context): void {
  withCommonOptions(
    program
      .command('trust')
      .description('party home: pin another party, or add a relay as a channel; relay home: add a party to the mandate')
      .argument('<card>', 'the card file (JSON) to trust, or - for standard input')
      .option('--fingerprint <fp>', 'refuse the card unless it has this fingerprint (60 digits, spaces allowed)')
      .option('--allow <ids>', 'relay: the parties this party may exchange notes with, comma-separated (default: unchanged; for a new party, any party of the mandate)', collect)
      .option('--statements', 'relay: the party consents to statements that open precedence and digest')
      .option('--no-statements', 'relay: withdraw that consent (default: unchanged; for a new party, no consent)')
      .option('--witness <vkey>', 'party home, relay card: a witness (cosignature/v1 vkey) whose cosignature the relay\'s checkpoints need; repeatable', collect)
      .option('--quorum <n>', 'party home, relay card: how many of the --witness keys must cosign (default: all)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const fp = stringOption(o, 'fingerprint');
    const allow = listOption(o, 'allow');
    const cardPath = args[0] as string;
    if (cardPath.length === 0) throw new CliError('usage', 'the card file name is empty');
    const input: TrustInput = {
      cardPath,
      homeDir: homeDirOf(ctx, o),
      fingerprint: fp === undefined ? undefined : parseFingerprint(fp),
      allow: allow.length === 0 ? undefined : parseIdList(allow, '--allow'),
      statements: typeof o.statements === 'boolean' ? o.statements : undefined,
    };
    const witnesses = listOption(o, 'witness');
    const quorum = stringOption(o, 'quorum');
    if (quorum !== undefined && !/^(?:0|[1-9][0-9]{0,3})$/.test(quorum)) throw new CliError('usage', `--quorum must be a whole number`);
    if (witnesses.length > 0 || quorum !== undefined) {
      input.witnesses = witnesses;
      if (quorum !== undefined) input.quorum = Number(quorum);
    }
    const home = await openHome(input.homeDir);
    if (isPartyHome(home)) {
      if (input.allow !== undefined || input.statements !== undefined) throw new CliError('usage', '--allow and --statements set a relay\'s mandate; on a party home, trust takes only the card and --fingerprint');
      await trustOnStation(ctx, home, input);
      return;
    }
    if (!isRelayHome(home)) throw new Error('unreachable: home.json was checked');
    if (input.witnesses !== undefined) throw new CliError('usage', '--witness and --quorum set a station\'s witness policy for a relay; on a relay home, trust takes a party card');
    const r = await trustOnRelay(ctx, home, input);
    const lines = [
      r.added ? `Added party ${r.party} (${r.name}) to relay ${r.relay}'s mandate, at bundle ${r.seq}.` : `Updated party ${r.party} (${r.name}) in relay ${r.relay}'s mandate; it is at bundle ${r.seq}.`,
      `Fingerprint: ${ctx.out.style('bold', r.fingerprint)} (check it with ${r.party} out of band)`,
    ];
    if (r.allow !== undefined) lines.push(`It may exchange notes with: ${r.allow.join(', ')}.`);
    if (r.statements !== undefined) lines.push(r.statements ? 'It consents to statements that open precedence and digest.' : 'It does not consent to statements that open precedence and digest.');
    const human = lines.join('\n');
    await ctx.out.result(human, r);
  });
}
