/**
 * What root operations share (`station add`, `signer add/revoke`, `rotate`; DESIGN.md,
 * "Identities, rotation, revocation"): unlocking the root key (keys/root.key under
 * BACKCHANNEL_ROOT_PASSPHRASE) after checking the station passphrase, installing a new
 * root-signed bundle in the home (bundle.bin and card.json, atomically), and publishing it: to
 * every relay (`publishBundle`: relays then refuse what it revoked) and, sealed, to every pinned
 * peer party (`shareBundle`: the peer accepts it under the root it pinned). A station daemon
 * (`serve`) running on the home is told to reload the new keys first (handover.ts, `reload`).
 */
import { join } from 'node:path';
import { Ed25519Key, equalBytes, partyCardJson, type SignedBundle } from '@backchannel/core';
import type { BundleShare, KeyShareResult } from '@backchannel/station';
import { readKeyMaterial, wipeKeyMaterial } from './desk-keys.js';
import { CliError, describeError } from './errors.js';
import { reloadDaemon } from './handover.js';
import { LAYOUT, MODE, readHomeFile, writeFileAtomic, type Home, type PartyHomeJson } from './home.js';
import { KEY_LABELS, openKeyFile } from './keyfiles.js';
import { getPassphrase, passphraseEnvVar } from './passphrase.js';
import { withStation } from './party.js';
import { readBundle } from './station-home.js';
import { table } from './table.js';
import type { Context } from './context.js';

export interface RootSession {
  root: Ed25519Key;
  /** The station passphrase (checked): new private key files are sealed under it. */
  stationPass: string;
  /** The home's current bundle. */
  old: SignedBundle;
}

/**
 * Asks for both passphrases and checks them before anything is made: the station one against
 * keys/station.key, the root one against keys/root.key, whose key must be the bundle's root.
 */
export async function unlockRoot(ctx: Context, home: Home<PartyHomeJson>, what: string): Promise<RootSession> {
  const rootFile = await readHomeFile(home, LAYOUT.rootKey).catch((e: unknown) => {
    throw new CliError('root_required', `${what} is a root operation, and ${join(home.dir, LAYOUT.rootKey)} is not there: put the root key back from offline storage (docs/cli.md, "Keeping the root key offline")`, { cause: e });
  });
  const old = await readBundle(home);
  const stationPass = await getPassphrase(ctx.io, 'station', { confirm: false });
  const rootPass = await getPassphrase(ctx.io, 'root', { confirm: false });
  openKeyFile(stationPass, KEY_LABELS.station(home.json.id, home.json.station), await readHomeFile(home, LAYOUT.stationKey)).fill(0);
  ctx.out.progress('Unlocking the root key…');
  const seed = openKeyFile(rootPass, KEY_LABELS.root(home.json.id), rootFile);
  let root: Ed25519Key;
  try {
    root = Ed25519Key.fromSeed(seed);
  } finally {
    seed.fill(0);
  }
  if (!equalBytes(root.publicKey, old.bundle.root)) throw new CliError('home_invalid', `the home at ${home.dir} is damaged: ${LAYOUT.rootKey} is not the root of ${LAYOUT.bundle}`);
  return { root, stationPass, old };
}

/** Replaces the home's bundle.bin and card.json with `next` (each write atomic; the bundle first). */
export async function installBundle(home: Home<PartyHomeJson>, next: SignedBundle): Promise<void> {
  await writeFileAtomic(join(home.dir, LAYOUT.bundle), next.bytes, MODE.public);
  await writeFileAtomic(join(home.dir, LAYOUT.card), `${JSON.stringify(partyCardJson(next), null, 2)}\n`, MODE.public);
}

export type RelayPublished = { relay: string; ok: boolean; code?: string; message?: string }[];

export interface Published {
  relays: RelayPublished;
  /** The key shares to the party's other desks (docs/protocol.md §4.8). */
  desks: KeyShareResult[];
  parties: BundleShare[];
}

/**
 * Tells a station daemon running on the home (if any) to re-read the home's keys and bundle.
 * `stationPass`, when the caller already checked it, saves asking again. A daemon that fails to
 * reload is a warning, not a failure: the home is already changed, and a restart of `serve` reads it.
 */
export async function reloadServing(ctx: Context, home: Home<PartyHomeJson>, stationPass?: string): Promise<boolean> {
  const c: Context = stationPass === undefined ? ctx : { ...ctx, io: { ...ctx.io, env: { ...ctx.io.env, [passphraseEnvVar('station')]: stationPass } } };
  try {
    return await reloadDaemon(c, home);
  } catch (e) {
    ctx.out.warn(`the station daemon on ${home.dir} did not reload the new keys (${describeError(e).message}): restart 'backchannel serve'`);
    return false;
  }
}

/**
 * Sends the home's current bundle to every relay, then sealed to every pinned peer party; first
 * has a running daemon on the home reload the keys, so it opens notes sealed to new keys at once.
 */
export async function publishEverywhere(ctx: Context, home: Home<PartyHomeJson>, stationPass?: string): Promise<Published> {
  await reloadServing(ctx, home, stationPass);
  const pass = stationPass ?? (await getPassphrase(ctx.io, 'station', { confirm: false }));
  const published = await withStation(ctx, home, async (s) => {
    ctx.out.progress('Sending the new bundle to the relays…');
    const relays = await s.publishBundle();
    // The other desks get the keys before the peers get the bundle: relays hand the FLASH shares
    // out ahead of any note the peer then seals to the new keys.
    const material = await readKeyMaterial(home, pass);
    let desks: KeyShareResult[];
    try {
      ctx.out.progress('Sending the keys sealed to the party’s other desks…');
      desks = await s.shareKeys(material);
    } finally {
      wipeKeyMaterial(material);
    }
    const peers = (await s.parties()).filter((p) => !p.self);
    if (peers.length > 0) ctx.out.progress(`Sending it sealed to ${peers.map((p) => p.id).join(', ')}…`);
    const parties = await s.shareBundle();
    return { relays, desks, parties };
  });
  const manual = published.desks.filter((d) => d.skipped === 'no_desk_key').map((d) => d.station);
  if (manual.length > 0) ctx.out.warn(`desk${manual.length === 1 ? '' : 's'} ${manual.join(', ')} of this party ${manual.length === 1 ? 'was' : 'were'} enrolled before key delivery and cannot receive keys sealed to ${manual.length === 1 ? 'it' : 'them'}: copy the keys by hand (docs/cli.md, "Desks enrolled before key delivery")`);
  return published;
}

/** What did not arrive anywhere: relays that refused or failed, peers that no relay took it for. */
export function publishFailures(p: Published): string[] {
  return [
    ...p.relays.filter((x) => !x.ok).map((x) => `relay ${x.relay}`),
    ...p.desks.filter((x) => x.skipped === 'no_channel' || (x.skipped === undefined && x.receipts.length === 0 && x.pending.length === 0)).map((x) => `desk ${x.station}`),
    ...p.parties.filter((x) => x.receipts.length === 0 && x.pending.length === 0).map((x) => `party ${x.party}`)];
}

export function humanPublished(p: Published): string {
  const rows: string[][] = [
    ...p.relays.map((x) => [`relay ${x.relay}`, x.ok ? 'sent' : `failed (${x.code ?? 'error'}: ${x.message ?? ''})`]),
    ...p.desks.map((x) => [
      `desk ${x.station}`,
      x.skipped === 'no_desk_key'
        ? 'keys not sent: enrolled before key delivery (copy them by hand)'
        : x.skipped === 'no_channel'
          ? 'keys not sent: no channel'
          : x.receipts.length > 0
            ? `keys sent sealed via ${x.receipts.join(', ')}`
            : x.pending.length > 0
              ? `keys pending on ${x.pending.join(', ')}`
              : `keys failed (${x.failures.map((f) => `${f.relay}: ${f.code}`).join('; ')})`,
    ]),
    ...p.parties.map((x) => [
      `party ${x.party}`,
      x.receipts.length > 0 ? `sent sealed via ${x.receipts.join(', ')}` : x.pending.length > 0 ? `pending on ${x.pending.join(', ')}` : x.id === undefined ? 'no channel' : `failed (${x.failures.map((f) => `${f.relay}: ${f.code}`).join('; ')})`,
    ]),
  ];
  if (rows.length === 0) return 'No relays or parties to send the bundle to yet (add them with trust).';
  return table([{ title: 'TO' }, { title: 'BUNDLE' }], rows);
}
