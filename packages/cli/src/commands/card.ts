/**
 * `backchannel card --home DIR` — prints the home's public card as JSON (PRODUCT.md: `kind`,
 * `id`, `name`, `fingerprint`; a relay card also `url` and `vkey`). The card is JSON either way,
 * so the output is the same with or without --json. No passphrase: nothing secret is read.
 */
import type { Command } from 'commander';
import type { PartyCardJson, RelayCardJson } from '@backchannel/core';
import { isPartyHome, isRelayHome, openHome } from '../home.js';
import { readPartyCard, readRelayCard } from '../home-keys.js';
import { homeDirOf, optionsOf, withCommonOptions, type Context } from '../context.js';

export async function readCard(dir: string): Promise<PartyCardJson | RelayCardJson> {
  const home = await openHome(dir);
  if (isPartyHome(home)) return readPartyCard(home);
  if (isRelayHome(home)) return (await readRelayCard(home)).json;
  throw new Error('unreachable: home.json was checked');
}

export function registerCard(program: Command, ctx: Context): void {
  withCommonOptions(program.command('card').description('print this home’s public card (party or relay) as JSON')).action(async (...args: unknown[]) => {
    const card = await readCard(homeDirOf(ctx, optionsOf(args)));
    await ctx.out.raw(JSON.stringify(card, null, 2));
  });
}
