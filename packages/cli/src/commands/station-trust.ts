/**
 * `backchannel trust CARD.json --home PARTY_HOME [--fingerprint FP]`: the station pins another
 * party (by its root; a newer bundle of the same root is accepted later without asking) or adds
 * a relay as a channel (by its log key and origin; the first relay added is the primary).
 *
 * The fingerprint must be checked out of band: with `--fingerprint` the card must have it;
 * without it, on a terminal, the fingerprint is shown and the person answers y/N; with neither
 * (a script with no terminal) nothing is trusted (`fingerprint_required`, exit 2).
 *
 * A card under another root for a pinned party (or another log key for a pinned relay) is
 * refused: the station raises a `key_change` alert with both keys as evidence, and the command
 * exits 3 with `root_mismatch`.
 */
import { BackchannelError, fingerprintsEqual, isBackchannelError, parsePartyCard, parseRelayCard } from '@backchannel/core';
import { CliError, CodedError, EXIT } from '../errors.js';
import type { Home, PartyHomeJson } from '../home.js';
import { askYesNo, withStation } from '../party.js';
import { kindOf, readCardFile, type TrustInput } from './trust.js';
import type { Context } from '../context.js';

export type StationTrustResult =
  | { kind: 'party'; station: string; party: string; name: string; fingerprint: string; seq: number; status: 'pinned' | 'updated' | 'unchanged' }
  | { kind: 'relay'; station: string; relay: string; name: string; url: string; origin: string; fingerprint: string; status: 'added' | 'updated' | 'unchanged'; primary: boolean };

export async function trustOnStation(ctx: Context, home: Home<PartyHomeJson>, input: TrustInput): Promise<void> {
  const where = input.cardPath === '-' ? 'the card on standard input' : input.cardPath;
  const text = await readCardFile(ctx.io, input.cardPath);
  const isRelay = kindOf(text) === 'relay';
  const card = isRelay ? parseRelayCard(text) : parsePartyCard(text);
  const what = isRelay ? `relay ${card.id}` : `party ${card.id}`;
  const name = isRelay ? parseRelayCard(text).name : parsePartyCard(text).name;
  if (!isRelay && input.witnesses !== undefined) throw new CliError('usage', '--witness and --quorum are a policy for a relay: give them with a relay card');
  if (!isRelay && card.id === home.json.id) throw new CliError('usage', `${where} is this home's own party card (${card.id}); trust the other party's card`);
  if (input.fingerprint !== undefined) {
    if (!fingerprintsEqual(input.fingerprint, card.fingerprint)) throw new BackchannelError('fingerprint_mismatch', `the card of ${what} does not have the fingerprint given with --fingerprint, and nothing was changed`);
  } else if (ctx.io.stdin.isTTY === true) {
    ctx.io.stderr.write(`${what} (${name})\nFingerprint: ${card.fingerprint}\n`);
    const yes = await askYesNo(ctx.io, `Does this fingerprint match the one ${card.id} gave you out of band?`);
    if (!yes) throw new CliError('not_confirmed', `the fingerprint of ${what} was not confirmed, and nothing was changed`);
  } else {
    throw new CliError('fingerprint_required', `trusting ${what} needs its fingerprint checked out of band: give it with --fingerprint, or run on a terminal to be shown it and asked`);
  }

  const r = await withStation(ctx, home, async (station): Promise<StationTrustResult> => {
    try {
      if (isRelay) {
        const rc = parseRelayCard(text);
        const pin = await station.addRelay(rc, { fingerprint: card.fingerprint, ...(input.witnesses === undefined ? {} : { witnesses: input.witnesses, ...(input.quorum === undefined ? {} : { quorum: input.quorum }) }) });
        const channels = await station.channels();
        const primary = channels.find((c) => c.relay === rc.id)?.primary ?? false;
        return { kind: 'relay', station: home.json.id, relay: rc.id, name: rc.name, url: rc.url, origin: rc.origin, fingerprint: rc.fingerprint, status: pin.status, primary };
      }
      const pc = parsePartyCard(text);
      const pin = await station.pinParty(pc, { fingerprint: card.fingerprint });
      return { kind: 'party', station: home.json.id, party: pc.id, name: pc.name, fingerprint: pc.fingerprint, seq: pin.seq, status: pin.status };
    } catch (e) {
      if (isBackchannelError(e, 'root_mismatch')) {
        throw new CodedError(
          'root_mismatch',
          isRelay
            ? `relay ${card.id} is already a channel under another log key or origin; this card was refused and a key_change alert was raised (see 'backchannel alerts')`
            : `party ${card.id} is pinned under another root key, and this card's root differs: it was refused and a key_change alert was raised (see 'backchannel alerts'); check with ${card.id} out of band`,
          EXIT.misbehaviour,
          { cause: e },
        );
      }
      throw e;
    }
  });
  if (r.kind === 'party') {
    const head = r.status === 'pinned' ? `Pinned party ${r.party} (${r.name}) at bundle ${r.seq}.` : r.status === 'updated' ? `Updated party ${r.party} (${r.name}) to bundle ${r.seq} (same root).` : `Party ${r.party} (${r.name}) was already pinned at bundle ${r.seq}; nothing changed.`;
    await ctx.out.result(`${head}\nFingerprint: ${ctx.out.style('bold', r.fingerprint)}`, r);
  } else {
    const head = r.status === 'added' ? `Added relay ${r.relay} (${r.name}) at ${r.url} as a channel${r.primary ? ' (the primary)' : ''}.` : r.status === 'updated' ? `Updated relay ${r.relay} (${r.name}); it is reached at ${r.url}.` : `Relay ${r.relay} (${r.name}) was already a channel; nothing changed.`;
    await ctx.out.result(`${head}\nFingerprint: ${ctx.out.style('bold', r.fingerprint)}`, r);
  }
}
