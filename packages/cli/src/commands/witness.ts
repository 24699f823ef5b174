/**
 * A stand-alone witness (C2SP tlog-witness; @backchannel/witness `startWitness`).
 *
 * `backchannel witness init --home DIR --name NAME` — a witness folder: `witness.json`
 * `{kind:"witness", version:1, name, vkey}`, `keys/witness.key` (its own Ed25519 cosigning key,
 * encrypted at rest under BACKCHANNEL_PASSPHRASE, label `witness:<name>`), and later
 * `witness.db` (the last cosigned checkpoint per log). Never a log key.
 *
 * `backchannel witness serve --home DIR --listen HOST:PORT --log RELAY_CARD.json …` — unlocks the
 * key and serves `POST /add-checkpoint` for the logs of the given relay cards until SIGINT or
 * SIGTERM. Give relays the printed URL and vkey (`RelayOptions.witnesses`).
 *
 * A witness folder is not a party or relay home (it has no home.json): the other verbs refuse it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { Ed25519Key, SIGNATURE_TYPE_COSIGNATURE_V1, deriveVkey, formatVkey, parseRelayCard, type Vkey } from '@backchannel/core';
import { CliError, usage } from '../errors.js';
import { formatListen, parseListen, quote } from '../flags.js';
import { MODE, createFileExclusive, writeFileAtomic } from '../home.js';
import { isFastKdf, openKeyFile, sealKeyFile } from '../keyfiles.js';
import { getPassphrase } from '../passphrase.js';
import { onceSignalled } from './serve.js';
import { collect, homeDirOf, listOption, optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

export const WITNESS_LAYOUT = { json: 'witness.json', key: 'keys/witness.key', db: 'witness.db' } as const;
/** A signed-note key name: printable, no spaces, no '+'. */
function isValidKeyNameLike(name: string): boolean {
  return /^[\x21-\x2a\x2c-\x7e]{1,255}$/.test(name);
}

export const witnessKeyLabel = (name: string): string => `witness:${name}`;

interface WitnessHomeJson {
  kind: 'witness';
  version: 1;
  name: string;
  vkey: string;
}

async function readWitnessHome(dir: string): Promise<WitnessHomeJson> {
  let text: string;
  try {
    text = await readFile(join(dir, WITNESS_LAYOUT.json), 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') throw new CliError('home_missing', `there is no witness at ${dir}; create one with 'backchannel witness init --home ${dir} --name NAME'`, { cause: e });
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new CliError('home_invalid', `${join(dir, WITNESS_LAYOUT.json)} is not valid JSON`, { cause });
  }
  const o = v as Partial<WitnessHomeJson> | null;
  if (o === null || typeof o !== 'object' || o.kind !== 'witness' || o.version !== 1 || typeof o.name !== 'string' || typeof o.vkey !== 'string') {
    throw new CliError('home_invalid', `${join(dir, WITNESS_LAYOUT.json)} is damaged or of an unknown version`);
  }
  return { kind: 'witness', version: 1, name: o.name, vkey: o.vkey };
}

async function unlockWitnessKey(ctx: Context, dir: string, w: WitnessHomeJson): Promise<Ed25519Key> {
  let file: Uint8Array;
  try {
    file = new Uint8Array(await readFile(join(dir, WITNESS_LAYOUT.key)));
  } catch (e) {
    throw new CliError('home_invalid', `the witness at ${dir} is damaged: ${WITNESS_LAYOUT.key} is missing`, { cause: e });
  }
  const pass = await getPassphrase(ctx.io, 'relay', { confirm: false });
  const seed = openKeyFile(pass, witnessKeyLabel(w.name), file);
  try {
    const key = Ed25519Key.fromSeed(seed);
    if (formatVkey(deriveVkey(key, w.name, SIGNATURE_TYPE_COSIGNATURE_V1)) !== w.vkey) throw new CliError('home_invalid', `the witness at ${dir} is damaged: ${WITNESS_LAYOUT.key} is not the key of ${WITNESS_LAYOUT.json}`);
    return key;
  } finally {
    seed.fill(0);
  }
}

async function initWitness(ctx: Context, dir: string, name: string): Promise<WitnessHomeJson> {
  if (existsSync(dir)) {
    const entries = await readdir(dir).catch(() => ['?']);
    if (entries.length > 0) throw new CliError('home_not_empty', `${dir} is not empty; a witness is created only in a new or empty folder, and nothing was changed`);
  }
  const pass = await getPassphrase(ctx.io, 'relay', { confirm: true });
  if (isFastKdf(ctx.io.env)) ctx.out.warn('BACKCHANNEL_TEST_FAST_KDF=1: the cosigning key is encrypted with a weak KDF setting meant for tests only.');
  const key = Ed25519Key.generate();
  const vkey = formatVkey(deriveVkey(key, name, SIGNATURE_TYPE_COSIGNATURE_V1));
  await mkdir(join(dir, 'keys'), { recursive: true, mode: MODE.folder });
  const seed = key.exportSeed();
  try {
    await writeFileAtomic(join(dir, WITNESS_LAYOUT.key), sealKeyFile(pass, witnessKeyLabel(name), seed, ctx.io.env), MODE.secret);
  } finally {
    seed.fill(0);
  }
  const json: WitnessHomeJson = { kind: 'witness', version: 1, name, vkey };
  // Written last and exclusively: a folder without it is not a witness.
  await createFileExclusive(join(dir, WITNESS_LAYOUT.json), `${JSON.stringify(json, null, 2)}\n`, MODE.public);
  return json;
}

export function registerWitness(program: Command, ctx: Context): void {
  const witness = program.command('witness').description('a stand-alone witness that cosigns relays’ logs (C2SP tlog-witness)');
  withCommonOptions(
    witness
      .command('init')
      .description('create a witness: its own cosigning key, encrypted at rest')
      .requiredOption('--name <name>', 'the witness name: the key name on its cosignatures (e.g. witness.example.org/w1)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const name = stringOption(o, 'name') ?? '';
    if (!isValidKeyNameLike(name)) throw usage(`--name ${quote(name)} is not a valid key name: no spaces, no '+', at most 255 characters`);
    const dir = homeDirOf(ctx, o);
    const w = await initWitness(ctx, dir, name);
    await ctx.out.result(`Created witness ${w.name} in ${dir}.\nIts key (give it to relays and verifiers): ${w.vkey}`, { name: w.name, vkey: w.vkey, home: dir });
  });

  withCommonOptions(
    witness
      .command('serve')
      .description('serve POST /add-checkpoint for the logs of the given relay cards, until SIGINT or SIGTERM')
      .requiredOption('--listen <host:port>', 'address to listen on; port 0 picks a free port')
      .option('--log <card>', 'a relay card (JSON) whose log this witness cosigns; repeatable', collect),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const listen = parseListen(stringOption(o, 'listen') ?? '');
    const cards = listOption(o, 'log');
    if (cards.length === 0) throw usage('--log is required: give the card of every relay whose log this witness cosigns');
    const dir = homeDirOf(ctx, o);
    const w = await readWitnessHome(dir);
    const logs: Vkey[] = [];
    for (const path of cards) {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as { code?: unknown }).code === 'ENOENT') throw new CliError('file_not_found', `the relay card ${path} does not exist`, { cause: e });
        throw e;
      }
      logs.push(parseRelayCard(text).vkey);
    }
    const key = await unlockWitnessKey(ctx, dir, w);
    const level = ctx.io.env.BACKCHANNEL_LOG_LEVEL ?? 'info';
    const logger = pino({ level, base: { witness: w.name } }, pino.destination({ fd: 2, sync: true }));
    const stop = onceSignalled();
    try {
      const { startWitness } = await import('@backchannel/witness');
      ctx.out.progress(`Starting witness ${w.name} on ${formatListen(listen)}…`);
      const running = await startWitness({ key, name: w.name, logs, db: join(dir, WITNESS_LAYOUT.db), listen, logger });
      await ctx.out.result(`Witness ${w.name} is serving at ${running.url} for ${logs.length} log${logs.length === 1 ? '' : 's'} (Ctrl-C to stop).\nKey: ${running.vkey}`, {
        serving: { witness: w.name, url: running.url, port: running.port, vkey: running.vkey, logs: logs.map((l) => l.name) },
      });
      const signal = await stop.signalled;
      ctx.out.progress(`Received ${signal}; stopping…`);
      await running.close();
    } finally {
      stop.dispose();
    }
  });
}
