/**
 * Home folders: whose keys and data a command uses (`--home DIR`, else $BACKCHANNEL_HOME, else
 * ~/.backchannel).
 *
 * Party home                                  Relay home (docs/relay-api.md)
 *   home.json   {kind:"party", version:1,       home.json   {kind:"relay", version:1, id,
 *                id, name, station}                          name, url, origin, db}
 *   keys/root.key         the seal, own         keys/log.key  the log key
 *                         passphrase            card.json     the public relay card
 *   keys/station.key      this desk             relay.db      SQLite (the default db)
 *   keys/signer-<id>.key  offices, officials
 *   keys/enc-<suite>-<n>.key  encryption
 *   certs/signer-<id>.cert    root-signed signer certificates (public)
 *   card.json   the public party card
 *   bundle.bin  the current root-signed key bundle
 *
 * Every write is atomic (temporary file, fsync, rename, fsync of the folder). `home.json` is
 * written last, by an exclusive link: a folder without it is not a home, so a crash or a
 * failure during `init` never leaves something that looks like one, and two concurrent
 * `init`s cannot both succeed. Keys are 0600 in a 0700 folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chmod, link, mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { PARTY_ID_RE, KEY_ID_RE, DISPLAY_RE, RELAY_ID_RE, type SuiteName } from '@backchannel/core';
import { CliError } from './errors.js';

export const HOME_FILE = 'home.json';
export const HOME_VERSION = 1;

export const LAYOUT = {
  homeJson: HOME_FILE,
  keys: 'keys',
  certs: 'certs',
  card: 'card.json',
  bundle: 'bundle.bin',
  rootKey: 'keys/root.key',
  stationKey: 'keys/station.key',
  /** The desk's own key-agreement key: key shares from the party's other desks are sealed to it. */
  deskKey: 'keys/desk.key',
  signerKey: (id: string) => `keys/signer-${id}.key`,
  encryptionKey: (suite: SuiteName, n: number) => `keys/enc-${suite}-${n}.key`,
  signerCert: (id: string) => `certs/signer-${id}.cert`,
  logKey: 'keys/log.key',
  relayDb: 'relay.db',
} as const;

export const MODE = { secret: 0o600, private: 0o600, public: 0o644, folder: 0o700 } as const;

export interface PartyHomeJson {
  kind: 'party';
  version: 1;
  id: string;
  name: string;
  /** This desk's station id (the station key in keys/station.key). */
  station: string;
}

export interface RelayHomeJson {
  kind: 'relay';
  version: 1;
  id: string;
  name: string;
  url: string;
  origin: string;
  /** `sqlite:<path>` (relative to the home) or `postgres://…`. */
  db: string;
}

export type HomeJson = PartyHomeJson | RelayHomeJson;

export interface Home<J extends HomeJson = HomeJson> {
  dir: string;
  json: J;
}

/** `--home`, else $BACKCHANNEL_HOME, else ~/.backchannel; always absolute. */
export function resolveHomeDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined) return resolve(flag);
  const fromEnv = env.BACKCHANNEL_HOME;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
  return join(home, '.backchannel');
}

/** The database a relay home uses; a relative SQLite path is relative to the home folder. */
export function resolveDb(db: string, homeDir: string): string {
  if (!db.startsWith('sqlite:')) return db;
  const path = db.slice('sqlite:'.length);
  return isAbsolute(path) ? db : `sqlite:${join(homeDir, path)}`;
}

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Reads and checks a home's home.json. Every bad field is named at once. */
export async function openHome(dir: string): Promise<Home> {
  let text: string;
  try {
    text = await readFile(join(dir, HOME_FILE), 'utf8');
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') {
      const isDir = await stat(dir).then(
        (st) => st.isDirectory(),
        () => false,
      );
      if (!isDir) throw new CliError('home_missing', `there is no Backchannel home at ${dir}; create one with 'backchannel init party' or 'backchannel init relay', or choose one with --home`, { cause: e });
      throw new CliError('home_missing', `${dir} is not a Backchannel home (it has no ${HOME_FILE})`, { cause: e });
    }
    throw e;
  }
  return { dir, json: parseHomeJson(text, dir) };
}

function show(v: unknown): string {
  return v === undefined ? 'none' : JSON.stringify(v);
}

export function parseHomeJson(text: string, dir: string): HomeJson {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new CliError('home_invalid', `${join(dir, HOME_FILE)} is not valid JSON`, { cause });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError('home_invalid', `${join(dir, HOME_FILE)} is not a JSON object`);
  const o = v as Record<string, unknown>;
  if (o.kind !== 'party' && o.kind !== 'relay') throw new CliError('home_invalid', `${join(dir, HOME_FILE)} has kind ${show(o.kind)}, not "party" or "relay"`);
  if (o.version !== HOME_VERSION) throw new CliError('home_invalid', `${join(dir, HOME_FILE)} is version ${show(o.version)}, and this backchannel reads version ${HOME_VERSION}`);
  const problems: string[] = [];
  const text_ = (key: string, re: RegExp): string => {
    const x = o[key];
    if (typeof x !== 'string' || !re.test(x)) {
      problems.push(`${key} is missing or invalid`);
      return '';
    }
    return x;
  };
  // Unknown fields are ignored: later releases may add fields within version 1.
  let json: HomeJson;
  if (o.kind === 'party') {
    json = { kind: 'party', version: 1, id: text_('id', PARTY_ID_RE), name: text_('name', DISPLAY_RE), station: text_('station', KEY_ID_RE) };
  } else {
    json = {
      kind: 'relay',
      version: 1,
      id: text_('id', RELAY_ID_RE),
      name: text_('name', DISPLAY_RE),
      url: text_('url', /^https?:\/\/\S+$/),
      origin: text_('origin', /^\S+$/),
      db: text_('db', /^(?:sqlite:|postgres(?:ql)?:\/\/)\S+$/),
    };
  }
  if (problems.length > 0) throw new CliError('home_invalid', `${join(dir, HOME_FILE)} is damaged: ${problems.join('; ')}`);
  return json;
}

/** Reads a file of a home; a missing one means the home is damaged. */
export async function readHomeFile(home: Home, rel: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(join(home.dir, rel)));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new CliError('home_invalid', `the home at ${home.dir} is damaged: ${rel} is missing`, { cause: e });
    throw e;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function tempName(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

async function writeTemp(path: string, data: Uint8Array | string, mode: number): Promise<string> {
  const tmp = tempName(path);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode); // the umask may have narrowed or (for 0644) changed nothing; be exact
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

/** Atomic replacement: readers see the old file or the new one, never a part. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const tmp = await writeTemp(path, data, mode);
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** Atomic creation that fails (EEXIST) when the file exists: link(2) never replaces. */
export async function createFileExclusive(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const tmp = await writeTemp(path, data, mode);
  try {
    await link(tmp, path);
  } finally {
    await unlink(tmp);
  }
  await fsyncDir(dirname(path));
}

/**
 * Creating a home, all or nothing. `begin` refuses a folder that holds anything; each step
 * records what it created; `commit` writes home.json; `rollback` (called on any failure, and
 * on SIGINT/SIGTERM while the home is being made) removes everything this run created.
 */
export class HomeCreation {
  readonly dir: string;
  /** The topmost folder this run created (the home or one of its parents), if any. */
  readonly #createdRoot: string | undefined;
  readonly #created: string[] = [];
  #done = false;
  readonly #onSignal: () => void;

  private constructor(dir: string, createdRoot: string | undefined) {
    this.dir = dir;
    this.#createdRoot = createdRoot;
    this.#onSignal = () => {
      this.#rollbackSync();
      process.exit(1);
    };
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  /** Refuses, before anything is asked or made, a path that is not a new or empty folder. */
  static async check(dir: string): Promise<void> {
    let st;
    try {
      st = await stat(dir);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
      st = undefined;
    }
    if (st !== undefined) {
      if (!st.isDirectory()) throw new CliError('home_not_empty', `${dir} exists and is not a folder; choose a new or empty folder for the home`);
      const entries = await readdir(dir);
      if (entries.includes(HOME_FILE)) throw new CliError('home_not_empty', `${dir} already holds a Backchannel home; nothing was changed`);
      if (entries.length > 0) throw new CliError('home_not_empty', `${dir} is not empty; init creates a home only in a new or empty folder, and nothing was changed`);
    }
  }

  static async begin(dir: string): Promise<HomeCreation> {
    await HomeCreation.check(dir);
    const createdRoot = await mkdir(dir, { recursive: true, mode: MODE.folder });
    if (createdRoot !== undefined) await chmod(dir, MODE.folder);
    return new HomeCreation(dir, createdRoot);
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  async mkdir(rel: string): Promise<void> {
    const p = this.path(rel);
    await mkdir(p, { mode: MODE.folder });
    this.#created.push(p);
    await chmod(p, MODE.folder);
  }

  /** Creates a folder and any missing parents (absolute, or relative to the home). */
  async mkdirp(path: string): Promise<void> {
    const first = await mkdir(resolve(this.dir, path), { recursive: true, mode: MODE.folder });
    if (first !== undefined) this.#created.push(first);
  }

  async write(rel: string, data: Uint8Array | string, mode: number): Promise<void> {
    const p = this.path(rel);
    try {
      await createFileExclusive(p, data, mode);
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') this.#created.push(p); // it may exist: ours, half-synced
      throw e;
    }
    this.#created.push(p);
  }

  /**
   * Records a file another component is about to create (a database and its journals), so a
   * rollback removes it; `path` is absolute or relative to the home. A file already there is
   * not this run's and is left alone.
   */
  expect(path: string): void {
    const p = resolve(this.dir, path);
    if (!existsSync(p)) this.#created.push(p);
  }

  async commit(json: HomeJson): Promise<void> {
    await createFileExclusive(this.path(HOME_FILE), `${JSON.stringify(json, null, 2)}\n`, MODE.private);
    this.#finish();
  }

  async rollback(): Promise<void> {
    if (this.#done) return;
    this.#finish();
    for (const p of [...this.#created].reverse()) await rm(p, { recursive: true, force: true });
    if (this.#createdRoot !== undefined) await rm(this.#createdRoot, { recursive: true, force: true });
  }

  #rollbackSync(): void {
    if (this.#done) return;
    this.#finish();
    for (const p of [...this.#created].reverse()) rmSync(p, { recursive: true, force: true });
    if (this.#createdRoot !== undefined) rmSync(this.#createdRoot, { recursive: true, force: true });
  }

  #finish(): void {
    this.#done = true;
    process.removeListener('SIGINT', this.#onSignal);
    process.removeListener('SIGTERM', this.#onSignal);
  }
}

export function isPartyHome(h: Home): h is Home<PartyHomeJson> {
  return h.json.kind === 'party';
}

export function isRelayHome(h: Home): h is Home<RelayHomeJson> {
  return h.json.kind === 'relay';
}
