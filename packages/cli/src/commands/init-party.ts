/**
 * `backchannel init party ID --name NAME --home DIR [--suites x25519,xwing]
 *   [--signer id:name:title:level …] [--station ID]`
 *
 * Creates a party: its root key (the seal, under its own passphrase, in its own file so it
 * can be moved offline), an encryption key per accepted suite, its signers and this desk's
 * station key, all certified in bundle 1 (core createParty). All or nothing.
 */
import type { Command } from 'commander';
import { createParty, partyCardJson, type SignerSpec, type SuiteName } from '@backchannel/core';
import { CliError } from '../errors.js';
import { parseDisplay, parseKeyId, parsePartyId, parseSigners, parseSuites } from '../flags.js';
import { HomeCreation, LAYOUT, MODE, type PartyHomeJson } from '../home.js';
import { KEY_LABELS, isFastKdf, sealKeyFile } from '../keyfiles.js';
import { getPassphrase } from '../passphrase.js';
import { collect, homeDirOf, listOption, optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

export interface InitPartyInput {
  id: string;
  name: string;
  homeDir: string;
  suites: SuiteName[] | undefined;
  signers: SignerSpec[] | undefined;
  station: string | undefined;
}

export interface InitPartyResult {
  kind: 'party';
  id: string;
  name: string;
  fingerprint: string;
  station: string;
  home: string;
}

export interface InitHooks {
  /** Called after each file is written; tests use it to fail part-way and check the rollback. */
  afterWrite?: (rel: string) => Promise<void> | void;
  now?: () => number;
}

export async function initParty(ctx: Context, input: InitPartyInput, hooks: InitHooks = {}): Promise<InitPartyResult> {
  await HomeCreation.check(input.homeDir);
  const stationPass = await getPassphrase(ctx.io, 'station', { confirm: true });
  const rootPass = await getPassphrase(ctx.io, 'root', { confirm: true });
  if (rootPass === stationPass) {
    throw new CliError('passphrase_reused', 'the root key needs its own passphrase, different from the station passphrase, so that unlocking a desk never unlocks the seal');
  }
  if (isFastKdf(ctx.io.env)) ctx.out.warn('BACKCHANNEL_TEST_FAST_KDF=1: keys are encrypted with a weak KDF setting meant for tests only.');

  ctx.out.progress('Generating keys…');
  const party = await createParty({
    id: input.id,
    name: input.name,
    now: (hooks.now ?? Date.now)(),
    ...(input.suites === undefined ? {} : { suites: input.suites }),
    ...(input.signers === undefined ? {} : { signers: input.signers }),
    ...(input.station === undefined ? {} : { stationId: input.station }),
  });
  const card = partyCardJson(party.bundle);
  const secrets: { rel: string; pass: string; label: string; secret: Uint8Array }[] = [
    { rel: LAYOUT.rootKey, pass: rootPass, label: KEY_LABELS.root(input.id), secret: party.root.exportSeed() },
    { rel: LAYOUT.stationKey, pass: stationPass, label: KEY_LABELS.station(input.id, party.station.id), secret: party.station.key.exportSeed() },
    ...party.signers.map((s) => ({ rel: LAYOUT.signerKey(s.entry.id), pass: stationPass, label: KEY_LABELS.signer(input.id, s.entry.id), secret: s.key.exportSeed() })),
    ...numberEncryptionKeys(party.encryption).map((e) => ({ rel: LAYOUT.encryptionKey(e.suite, e.n), pass: stationPass, label: KEY_LABELS.encryption(input.id, e.suite, e.n), secret: e.priv })),
  ];

  const tx = await HomeCreation.begin(input.homeDir);
  try {
    const step = async (rel: string, data: Uint8Array | string, mode: number): Promise<void> => {
      await tx.write(rel, data, mode);
      await hooks.afterWrite?.(rel);
    };
    await tx.mkdir(LAYOUT.keys);
    await tx.mkdir(LAYOUT.certs);
    ctx.out.progress(`Encrypting ${secrets.length} key files (scrypt, about half a second each)…`);
    for (const s of secrets) {
      const file = sealKeyFile(s.pass, s.label, s.secret, ctx.io.env);
      s.secret.fill(0);
      await step(s.rel, file, MODE.secret);
    }
    for (const s of party.signers) await step(LAYOUT.signerCert(s.entry.id), s.certificate, MODE.public);
    await step(LAYOUT.bundle, party.bundle.bytes, MODE.public);
    await step(LAYOUT.card, `${JSON.stringify(card, null, 2)}\n`, MODE.public);
    const json: PartyHomeJson = { kind: 'party', version: 1, id: input.id, name: input.name, station: party.station.id };
    await tx.commit(json);
  } catch (e) {
    for (const s of secrets) s.secret.fill(0);
    await tx.rollback();
    throw e;
  }
  return { kind: 'party', id: input.id, name: input.name, fingerprint: card.fingerprint, station: party.station.id, home: input.homeDir };
}

/** Encryption key files are numbered per suite from 1 (`enc-x25519-1.key`); rotation adds 2, 3, …. */
function numberEncryptionKeys<E extends { suite: SuiteName }>(keys: readonly E[]): (E & { n: number })[] {
  const count = new Map<SuiteName, number>();
  return keys.map((k) => {
    const n = (count.get(k.suite) ?? 0) + 1;
    count.set(k.suite, n);
    return { ...k, n };
  });
}

export function registerInitParty(init: Command, ctx: Context): void {
  withCommonOptions(
    init
      .command('party')
      .description('create a party: its root key (the seal), encryption keys, signers and this desk’s station key')
      .argument('<id>', 'party id: 1 to 32 lowercase letters, digits and dashes, starting with a letter (e.g. us)')
      .requiredOption('--name <name>', 'display name (e.g. "United States")')
      .option('--suites <list>', 'accepted HPKE suites, most preferred first: x25519, xwing (default: x25519)')
      .option('--signer <id:name:title:level>', 'a signer (repeatable); level is institutional or official; replaces the default institutional signer', collect)
      .option('--station <id>', 'this desk’s station id (default: desk-1)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const suites = stringOption(o, 'suites');
    const signers = listOption(o, 'signer');
    const station = stringOption(o, 'station');
    const input: InitPartyInput = {
      id: parsePartyId(args[0] as string),
      name: parseDisplay(stringOption(o, 'name') ?? '', '--name'),
      homeDir: homeDirOf(ctx, o),
      suites: suites === undefined ? undefined : parseSuites(suites),
      signers: signers.length === 0 ? undefined : parseSigners(signers),
      station: station === undefined ? undefined : parseKeyId(station, '--station'),
    };
    const r = await initParty(ctx, input);
    const human = [
      `Created party ${r.id} (${r.name}) in ${r.home}.`,
      `Fingerprint: ${ctx.out.style('bold', r.fingerprint)}`,
      `Hand over ${LAYOUT.card}; whoever pins it checks this fingerprint with you out of band.`,
      `The root key is ${LAYOUT.rootKey}, under its own passphrase: move it offline (docs/cli.md, "Keeping the root key offline").`,
    ].join('\n');
    await ctx.out.result(human, r);
  });
}
