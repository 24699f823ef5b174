/**
 * Reading what a home holds, checked: its public card (consistent with home.json) and, for a
 * relay, its log key (which must be the key of that card). A file that fails a check makes the
 * home `home_invalid`, naming the file, rather than surfacing a bare core error that would read
 * like a bad input from someone else.
 */
import { Ed25519Key, deriveVkey, formatVkey, isBackchannelError, openBundle, parseRelayCard, partyCardJson, type PartyCardJson, type RelayCard } from '@backchannel/core';
import { CliError } from './errors.js';
import { LAYOUT, readHomeFile, type Home, type PartyHomeJson, type RelayHomeJson } from './home.js';
import { KEY_LABELS, openKeyFile } from './keyfiles.js';
import { getPassphrase } from './passphrase.js';
import type { Context } from './context.js';

function damaged(home: Home, rel: string, e: unknown): CliError {
  const why = isBackchannelError(e) ? e.message : 'it cannot be read';
  return new CliError('home_invalid', `the home at ${home.dir} is damaged: ${rel}: ${why}`, { cause: e });
}

/** A party's public card, built from its current signed bundle (bundle.bin). */
export async function readPartyCard(home: Home<PartyHomeJson>): Promise<PartyCardJson> {
  const bytes = await readHomeFile(home, LAYOUT.bundle);
  let card: PartyCardJson;
  try {
    card = partyCardJson(openBundle(bytes));
  } catch (e) {
    throw damaged(home, LAYOUT.bundle, e);
  }
  if (card.id !== home.json.id) throw new CliError('home_invalid', `the home at ${home.dir} is damaged: ${LAYOUT.bundle} is party ${card.id}'s, not ${home.json.id}'s`);
  return card;
}

/** A relay's card (card.json), verified and matching home.json. */
export async function readRelayCard(home: Home<RelayHomeJson>): Promise<RelayCard> {
  const text = Buffer.from(await readHomeFile(home, LAYOUT.card)).toString('utf8');
  let card: RelayCard;
  try {
    card = parseRelayCard(text);
  } catch (e) {
    throw damaged(home, LAYOUT.card, e);
  }
  const j = home.json;
  if (card.id !== j.id || card.origin !== j.origin || card.url !== j.url) {
    throw new CliError('home_invalid', `the home at ${home.dir} is damaged: ${LAYOUT.card} does not match home.json (id, url or origin)`);
  }
  return card;
}

/** Asks for the passphrase and decrypts the relay's log key; it must be the key of its card. */
export async function unlockLogKey(ctx: Context, home: Home<RelayHomeJson>, card: RelayCard): Promise<Ed25519Key> {
  const file = await readHomeFile(home, LAYOUT.logKey);
  const pass = await getPassphrase(ctx.io, 'relay', { confirm: false });
  ctx.out.progress('Unlocking the log key…');
  const seed = openKeyFile(pass, KEY_LABELS.log(home.json.id), file);
  let key: Ed25519Key;
  try {
    key = Ed25519Key.fromSeed(seed);
  } catch (e) {
    throw damaged(home, LAYOUT.logKey, e);
  } finally {
    seed.fill(0);
  }
  if (formatVkey(deriveVkey(key, card.origin)) !== card.json.vkey) {
    throw new CliError('home_invalid', `the home at ${home.dir} is damaged: ${LAYOUT.logKey} is not the key of ${LAYOUT.card}`);
  }
  return key;
}
