/**
 * Opening a party home's station (@backchannel/station): its store `station.db` in the home,
 * and the desk keys decrypted from the home's key files with the station passphrase.
 *
 * The storage key (notes' contents encrypted at rest) is not a file of its own: it is derived
 * from this desk's station key with HKDF-SHA256 (salt `backchannel/v1/storage-key`, info
 * `storage:<party>/<station>`). So it is exactly as well protected as the station key (same
 * passphrase, same scrypt), costs no extra key-file decryption per command, and a home made by
 * any earlier `init party` needs nothing new. A new desk (`station add`) has a new station key
 * and so its own storage key; copying `station.db` to another desk does not make it readable
 * there.
 *
 * The station package (and its SQLite driver) is loaded only by the verbs that need it.
 */
import { hkdfSync } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Ed25519Key, equalBytes, findRevocation, importPrivateKey, isBackchannelError, openBundle, openSignerCertificate, serializePublicKey, suiteFromName, type SignedBundle, type SuiteName } from '@backchannel/core';
import type * as StationModule from '@backchannel/station';
import type { Station, StationKeys } from '@backchannel/station';
import { CliError } from './errors.js';
import { LAYOUT, readHomeFile, type Home, type PartyHomeJson } from './home.js';
import { KEY_LABELS, openKeyFile } from './keyfiles.js';
import { getPassphrase } from './passphrase.js';
import { installKeysInHome, readDeskKey } from './desk-keys.js';
import type { Context } from './context.js';

export const STATION_DB = 'station.db';
const STORAGE_SALT = 'backchannel/v1/storage-key';

export async function loadStation(): Promise<typeof StationModule> {
  return import('@backchannel/station');
}

function damaged(home: Home, rel: string, e: unknown): CliError {
  const why = isBackchannelError(e) ? e.message : 'it cannot be read';
  return new CliError('home_invalid', `the home at ${home.dir} is damaged: ${rel}: ${why}`, { cause: e });
}

/** The 32-byte storage key of a desk, derived from its station key seed (see the header). */
export function deriveStorageKey(stationSeed: Uint8Array, party: string, station: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', stationSeed, Buffer.from(STORAGE_SALT), Buffer.from(`storage:${party}/${station}`), 32));
}

/** The home's current signed bundle (bundle.bin). */
export async function readBundle(home: Home<PartyHomeJson>): Promise<SignedBundle> {
  const bytes = await readHomeFile(home, LAYOUT.bundle);
  let b: SignedBundle;
  try {
    b = openBundle(bytes);
  } catch (e) {
    throw damaged(home, LAYOUT.bundle, e);
  }
  if (b.bundle.party !== home.json.id) throw new CliError('home_invalid', `the home at ${home.dir} is damaged: ${LAYOUT.bundle} is party ${b.bundle.party}'s, not ${home.json.id}'s`);
  return b;
}

const ENC_FILE_RE = /^enc-([a-z0-9]+)-([1-9][0-9]{0,5})\.key$/;

/**
 * Decrypts the desk's keys: the station key, every signer the current bundle still vouches for
 * (and whose key file this home holds), and every encryption key file (old ones too, to read
 * old notes). One passphrase; a wrong one is `passphrase_wrong` (exit 1).
 */
export async function readDeskKeys(ctx: Context, home: Home<PartyHomeJson>): Promise<StationKeys> {
  return readDeskKeysWith(ctx, home, await getPassphrase(ctx.io, 'station', { confirm: false }));
}

async function readDeskKeysWith(ctx: Context, home: Home<PartyHomeJson>, pass: string): Promise<StationKeys> {
  const party = home.json.id;
  const stationId = home.json.station;
  const signed = await readBundle(home);
  const stationFile = await readHomeFile(home, LAYOUT.stationKey);
  ctx.out.progress('Unlocking the station keys…');
  const seed = openKeyFile(pass, KEY_LABELS.station(party, stationId), stationFile);
  let stationKey: Ed25519Key;
  let storageKey: Uint8Array;
  try {
    stationKey = Ed25519Key.fromSeed(seed);
    storageKey = deriveStorageKey(seed, party, stationId);
  } catch (e) {
    throw damaged(home, LAYOUT.stationKey, e);
  } finally {
    seed.fill(0);
  }
  const now = Date.now();
  const signers: StationKeys['signers'][number][] = [];
  for (const entry of signed.bundle.signers) {
    if (findRevocation(signed.bundle, entry.pub) !== undefined || entry.notAfter <= now) continue;
    let keyFile: Uint8Array;
    let certificate: Uint8Array;
    try {
      keyFile = await readHomeFile(home, LAYOUT.signerKey(entry.id));
      certificate = await readHomeFile(home, LAYOUT.signerCert(entry.id));
    } catch {
      continue; // this desk does not hold that signer
    }
    const s = openKeyFile(pass, KEY_LABELS.signer(party, entry.id), keyFile);
    try {
      const key = Ed25519Key.fromSeed(s);
      if (!equalBytes(key.publicKey, entry.pub)) continue; // an older key of a re-certified signer
      if (!equalBytes(openSignerCertificate(certificate).pub, entry.pub)) continue;
      signers.push({ id: entry.id, key, certificate });
    } catch (e) {
      throw damaged(home, LAYOUT.signerKey(entry.id), e);
    } finally {
      s.fill(0);
    }
  }
  if (signers.length === 0) throw new CliError('home_invalid', `the home at ${home.dir} holds no signer key that party ${party}'s current bundle vouches for, so it cannot sign notes`);

  const encryption: { suite: SuiteName; pub: Uint8Array; priv: Uint8Array }[] = [];
  for (const name of (await readdir(join(home.dir, LAYOUT.keys))).sort()) {
    const m = ENC_FILE_RE.exec(name);
    if (m === null) continue;
    const suite = m[1] as SuiteName;
    const n = Number(m[2]);
    let suiteObj;
    try {
      suiteObj = suiteFromName(suite);
    } catch {
      continue;
    }
    const rel = LAYOUT.encryptionKey(suite, n);
    const priv = openKeyFile(pass, KEY_LABELS.encryption(party, suite, n), await readHomeFile(home, rel));
    try {
      const key = await importPrivateKey(suiteObj, priv);
      encryption.push({ suite, pub: serializePublicKey(key.publicKey), priv });
    } catch (e) {
      throw damaged(home, rel, e);
    }
  }
  const kx = signed.bundle.stations.find((x) => x.id === stationId)?.kx;
  const desk = kx === undefined ? undefined : await readDeskKey(home, pass, kx.suite);
  return { party, bundle: signed, station: { id: stationId, key: stationKey }, signers, encryption, storageKey, ...(desk === undefined ? {} : { desk }) };
}

export interface OpenOptions {
  /** Run the deadline timers (the daemon); one-shot commands check deadlines themselves. */
  timers?: boolean;
  /** Multiplies every delivery objective (tests and the demo). */
  timeScale?: number;
}

/** Decrypts the keys and opens the home's station store (created on first use). */
export async function openStation(ctx: Context, home: Home<PartyHomeJson>, opts: OpenOptions = {}): Promise<Station> {
  const pass = await getPassphrase(ctx.io, 'station', { confirm: false });
  const keys = await readDeskKeysWith(ctx, home, pass);
  const { Station } = await loadStation();
  // Keys a share from the desk holding the root brings go into the home's key files first
  // (desk-keys.ts), under the passphrase already given; the running station then uses them.
  try {
    return await Station.open({
      path: join(home.dir, STATION_DB),
      keys,
      installKeys: (k) => installKeysInHome(home, pass, ctx.io.env, k),
      timers: opts.timers ?? false,
      ...(opts.timeScale === undefined ? {} : { timeScale: opts.timeScale }),
    });
  } finally {
    // The store keeps the storage key; the HPKE private keys were imported (copied) by open.
    for (const e of keys.encryption) e.priv.fill(0);
    keys.desk?.priv.fill(0);
  }
}
