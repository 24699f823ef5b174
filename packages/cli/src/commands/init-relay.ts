/**
 * `backchannel init relay ID --name NAME --home DIR [--url URL] [--db URL]`
 *
 * Creates a relay home (docs/relay-api.md, "Home folder (relay)"): a fresh log key (encrypted
 * under the passphrase), a globally unique log origin derived from the URL and the id, the
 * self-signed relay card, and an initialised database. All or nothing.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import type { Command } from 'commander';
import { Ed25519Key, deriveOrigin, makeRelayCard } from '@backchannel/core';
import { CliError } from '../errors.js';
import { parseDbUrl, parseDisplay, parseRelayId, parseRelayUrl, redactDb } from '../flags.js';
import { HomeCreation, LAYOUT, MODE, resolveDb, type RelayHomeJson } from '../home.js';
import { KEY_LABELS, isFastKdf, sealKeyFile } from '../keyfiles.js';
import { getPassphrase } from '../passphrase.js';
import { loadRelay } from '../relay.js';
import { homeDirOf, optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

/** Loopback, so a relay made without --url is reachable from this machine only. */
export const DEFAULT_RELAY_URL = 'http://127.0.0.1:7000';
/** Relative to the home folder, so a home can be moved as a whole. */
export const DEFAULT_RELAY_DB = `sqlite:${LAYOUT.relayDb}`;

export interface InitRelayInput {
  id: string;
  name: string;
  homeDir: string;
  url: string;
  db: string;
}

export interface InitRelayResult {
  kind: 'relay';
  id: string;
  name: string;
  url: string;
  origin: string;
  vkey: string;
  fingerprint: string;
  db: string;
  home: string;
}

export async function initRelay(ctx: Context, input: InitRelayInput): Promise<InitRelayResult> {
  await HomeCreation.check(input.homeDir);
  const resolvedDb = resolveDb(input.db, input.homeDir);
  const sqlitePath = resolvedDb.startsWith('sqlite:') ? resolvedDb.slice('sqlite:'.length) : undefined;
  // A new log key over another relay's records would be a second history for one log.
  if (sqlitePath !== undefined && existsSync(sqlitePath)) throw new CliError('home_not_empty', `the database file ${sqlitePath} already exists; a new relay needs a new database, and nothing was changed`);
  const sqliteFolder = sqlitePath === undefined ? undefined : dirname(sqlitePath);
  const folderInHome = sqliteFolder !== undefined && (sqliteFolder === input.homeDir || sqliteFolder.startsWith(input.homeDir + sep));
  if (sqliteFolder !== undefined && !folderInHome && !isFolder(sqliteFolder)) throw new CliError('file_not_found', `the folder of the database, ${sqliteFolder}, does not exist; nothing was changed`);
  const relay = await loadRelay();
  const pass = await getPassphrase(ctx.io, 'relay', { confirm: true });
  if (isFastKdf(ctx.io.env)) ctx.out.warn('BACKCHANNEL_TEST_FAST_KDF=1: the log key is encrypted with a weak KDF setting meant for tests only.');

  const logKey = Ed25519Key.generate();
  const origin = deriveOrigin(input.url, input.id);
  const card = makeRelayCard({ id: input.id, name: input.name, url: input.url, origin, logKey });
  const tx = await HomeCreation.begin(input.homeDir);
  try {
    await tx.mkdir(LAYOUT.keys);
    ctx.out.progress('Encrypting the log key (scrypt)…');
    const seed = logKey.exportSeed();
    const file = sealKeyFile(pass, KEY_LABELS.log(input.id), seed, ctx.io.env);
    seed.fill(0);
    await tx.write(LAYOUT.logKey, file, MODE.secret);
    await tx.write(LAYOUT.card, `${JSON.stringify(card, null, 2)}\n`, MODE.public);
    if (sqliteFolder !== undefined && folderInHome) await tx.mkdirp(sqliteFolder);
    if (sqlitePath !== undefined) for (const suffix of ['', '-wal', '-shm', '-journal']) tx.expect(`${sqlitePath}${suffix}`);
    ctx.out.progress(`Initialising the database ${redactDb(resolvedDb)}…`);
    await relay.initRelayDatabase(resolvedDb);
    const json: RelayHomeJson = { kind: 'relay', version: 1, id: input.id, name: input.name, url: input.url, origin, db: input.db };
    await tx.commit(json);
  } catch (e) {
    await tx.rollback();
    throw e;
  }
  return { kind: 'relay', id: input.id, name: input.name, url: input.url, origin, vkey: card.vkey, fingerprint: card.fingerprint, db: redactDb(input.db), home: input.homeDir };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function registerInitRelay(init: Command, ctx: Context): void {
  withCommonOptions(
    init
      .command('relay')
      .description('create a relay: its log key, log origin, card and database')
      .argument('<id>', 'relay id: 1 to 32 lowercase letters, digits and dashes, starting with a letter (e.g. ch)')
      .requiredOption('--name <name>', 'display name (e.g. "Swiss protecting power")')
      .option('--url <url>', `where stations reach this relay, written into its card (default: ${DEFAULT_RELAY_URL})`)
      .option('--db <url>', `database: sqlite:<path> (relative to the home) or postgres://… (default: ${DEFAULT_RELAY_DB})`),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const url = stringOption(o, 'url');
    const db = stringOption(o, 'db');
    const input: InitRelayInput = {
      id: parseRelayId(args[0] as string),
      name: parseDisplay(stringOption(o, 'name') ?? '', '--name'),
      homeDir: homeDirOf(ctx, o),
      url: url === undefined ? DEFAULT_RELAY_URL : parseRelayUrl(url),
      db: db === undefined ? DEFAULT_RELAY_DB : parseDbUrl(db),
    };
    const r = await initRelay(ctx, input);
    const human = [
      `Created relay ${r.id} (${r.name}) in ${r.home}, reachable at ${r.url}.`,
      `Log origin: ${r.origin}`,
      `Fingerprint: ${ctx.out.style('bold', r.fingerprint)}`,
      `Database: ${r.db}`,
      `Hand over ${LAYOUT.card}; add parties with 'backchannel trust PARTY_CARD.json --home ${r.home}', then run 'backchannel serve --home ${r.home}'.`,
    ].join('\n');
    await ctx.out.result(human, r);
  });
}
