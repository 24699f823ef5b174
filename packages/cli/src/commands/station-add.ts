/**
 * `backchannel station add --home DIR --new-home DIR2 [--station ID]`: enrols another desk of
 * the same party (a root operation: needs keys/root.key and BACKCHANNEL_ROOT_PASSPHRASE).
 *
 * It makes a new station key, signs a new bundle (sequence + 1, `prev` the old bundle's hash)
 * that lists it beside the existing desks, and creates DIR2 as a party home holding: the new
 * station key, copies of the party's signer and encryption key files (party keys, under the same
 * station passphrase: every desk of a party signs as its offices and reads every note), the
 * signer certificates, the new bundle and card. The root key is not copied. DIR's bundle and
 * card are replaced by the new ones, and DIR's station sends the new bundle to every relay
 * (`publishBundle`: relays then accept the new desk) and sealed to every pinned peer party
 * (`shareBundle`). `station publish --home DIR` sends it again.
 *
 * The new desk's archive starts empty: pin the other parties and add the relays there with
 * `trust`.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Ed25519Key, negotiateSuite, newEncryptionKey, partyCardJson, signBundle, systemRandom } from '@backchannel/core';
import { CliError } from '../errors.js';
import { parseKeyId } from '../flags.js';
import { HomeCreation, LAYOUT, MODE, readHomeFile, resolveHomeDir, type Home, type PartyHomeJson } from '../home.js';
import { KEY_LABELS, sealKeyFile } from '../keyfiles.js';
import { partyHomeOf } from '../party.js';
import { humanPublished, installBundle, publishEverywhere, publishFailures, unlockRoot, type Published } from '../root.js';
import { optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

export async function stationAdd(ctx: Context, home: Home<PartyHomeJson>, newDir: string, stationId: string | undefined): Promise<{ party: string; station: string; seq: number; home: string; new_home: string; fingerprint: string } & Published> {
  await HomeCreation.check(newDir);
  const { root, stationPass, old } = await unlockRoot(ctx, home, 'adding a station');
  const id = stationId ?? nextStationId(old.bundle.stations.map((s) => s.id));
  if (old.bundle.stations.some((s) => s.id === id)) throw new CliError('usage', `party ${home.json.id} already has a station ${id}; choose another --station`);

  const now = Date.now();
  const key = Ed25519Key.generate();
  // The desk's own key-agreement key, certified in its station entry: key shares after later
  // root operations are sealed to it (docs/protocol.md §4.8). Of the party's strongest suite.
  const kxSuite = negotiateSuite(old.bundle, old.bundle);
  const kx = await newEncryptionKey(kxSuite, now, systemRandom);
  const next = signBundle(root, {
    ...old.bundle,
    seq: old.bundle.seq + 1,
    issued: now,
    prev: old.hash,
    stations: [...old.bundle.stations, { id, pub: key.publicKey, notBefore: now, kx: { suite: kxSuite, pub: kx.pub } }],
  });
  const card = partyCardJson(next);
  const tx = await HomeCreation.begin(newDir);
  try {
    await tx.mkdir(LAYOUT.keys);
    await tx.mkdir(LAYOUT.certs);
    const s = key.exportSeed();
    await tx.write(LAYOUT.stationKey, sealKeyFile(stationPass, KEY_LABELS.station(home.json.id, id), s, ctx.io.env), MODE.secret);
    s.fill(0);
    await tx.write(LAYOUT.deskKey, sealKeyFile(stationPass, KEY_LABELS.desk(home.json.id, id), kx.priv, ctx.io.env), MODE.secret);
    kx.priv.fill(0);
    for (const f of await readdir(join(home.dir, LAYOUT.keys))) {
      if (!/^(?:signer-.+|enc-.+)\.key$/.test(f)) continue;
      await tx.write(`${LAYOUT.keys}/${f}`, await readHomeFile(home, `${LAYOUT.keys}/${f}`), MODE.secret);
    }
    for (const f of await readdir(join(home.dir, LAYOUT.certs))) await tx.write(`${LAYOUT.certs}/${f}`, await readHomeFile(home, `${LAYOUT.certs}/${f}`), MODE.public);
    await tx.write(LAYOUT.bundle, next.bytes, MODE.public);
    await tx.write(LAYOUT.card, `${JSON.stringify(card, null, 2)}\n`, MODE.public);
    // The existing desk moves to the new bundle before the new home exists as a home.
    await installBundle(home, next);
    await tx.commit({ kind: 'party', version: 1, id: home.json.id, name: home.json.name, station: id });
  } catch (e) {
    await tx.rollback();
    throw e;
  }
  const published = await publishEverywhere(ctx, home, stationPass);
  return { party: home.json.id, station: id, seq: next.bundle.seq, home: home.dir, new_home: newDir, fingerprint: card.fingerprint, ...published };
}

function nextStationId(taken: readonly string[]): string {
  for (let n = taken.length + 1; ; n++) if (!taken.includes(`desk-${n}`)) return `desk-${n}`;
}

export function registerStation(program: Command, ctx: Context): void {
  const station = program.command('station').description('desks of this party: station add (a new desk, needs the root), station publish (send the bundle to the relays again)');
  withCommonOptions(
    station
      .command('add')
      .description('enrol another desk of the same party in a new home (needs the root key and its passphrase)')
      .requiredOption('--new-home <dir>', 'the new desk’s home: a new or empty folder')
      .option('--station <id>', 'the new desk’s station id (default: the next free desk-N)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const st = stringOption(o, 'station');
    const stationId = st === undefined ? undefined : parseKeyId(st, '--station');
    const home = await partyHomeOf(ctx, o, 'station add');
    const newDir = resolveHomeDir(stringOption(o, 'newHome'), ctx.io.env);
    if (newDir === home.dir) throw new CliError('usage', '--new-home must be another folder than --home');
    const r = await stationAdd(ctx, home, newDir, stationId);
    const failed = publishFailures(r);
    await ctx.out.result(
      [
        `Added station ${r.station} of party ${r.party} in ${r.new_home}, under bundle ${r.seq}.`,
        `Fingerprint (unchanged): ${r.fingerprint}`,
        humanPublished(r),
        `Next, in the new home: 'backchannel trust CARD.json --home ${r.new_home} --fingerprint FP' for each party and relay.`,
      ].join('\n'),
      r,
    );
    if (failed.length > 0) ctx.out.warn(`the new bundle did not reach ${failed.join(', ')}: run 'backchannel station publish --home ${home.dir}' again`);
  });
  withCommonOptions(station.command('publish').description('send this party’s current bundle to every relay and, sealed, to every pinned party (again, after a failure)')).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const home = await partyHomeOf(ctx, o, 'station publish');
    const published = await publishEverywhere(ctx, home);
    await ctx.out.result(humanPublished(published), published);
    const failed = publishFailures(published);
    if (failed.length > 0) throw new CliError('not_sent', `the bundle did not reach ${failed.join(', ')}`);
  });
}
