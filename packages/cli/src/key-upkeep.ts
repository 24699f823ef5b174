/**
 * The daemon's key-rotation timer (DESIGN.md, "Identities, rotation, revocation": encryption
 * keys rotate, default 30 days, old private keys destroyed after an overlap).
 *
 * Rotating signs a new bundle, which takes the root key, and the root is meant to stay offline,
 * so the daemon never rotates, even when it could read keys/root.key: it reminds. Each check
 * (at start, then hourly) asks the station for due rotations (`Station.checkKeyRotation`: a
 * `rotation_due` alert a week before the current key runs out and another once it has), and
 * destroys the private key files of encryption keys the bundle has superseded and whose
 * overlap has passed (`supersededKeys`), then has the running station forget them (`reload`).
 * `rotate` destroys what has run out as well; this covers the days between rotations.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { equalBytes, importPrivateKey, serializePublicKey, suiteFromName, type SuiteName } from '@backchannel/core';
import { supersededKeys, type RotationCheck, type Station } from '@backchannel/station';
import { LAYOUT, readHomeFile, type Home, type PartyHomeJson } from './home.js';
import { KEY_LABELS, openKeyFile } from './keyfiles.js';
import { readBundle } from './station-home.js';

const ENC_FILE_RE = /^enc-([a-z0-9]+)-([1-9][0-9]{0,5})\.key$/;
export const KEY_CHECK_MS = 3_600_000;

/**
 * Removes the home's encryption key files whose keys the bundle superseded and whose validity
 * ended before `now`. A file whose key the bundle does not list is left alone (`rotate` writes
 * new keys before it installs the bundle that names them), as is one that does not open.
 * Returns the files removed.
 */
export async function destroySupersededKeys(home: Home<PartyHomeJson>, stationPass: string, now: number): Promise<string[]> {
  const b = (await readBundle(home)).bundle;
  const gone = supersededKeys(b, now);
  if (gone.length === 0) return [];
  const destroyed: string[] = [];
  for (const name of (await readdir(join(home.dir, LAYOUT.keys))).sort()) {
    const m = ENC_FILE_RE.exec(name);
    if (m === null) continue;
    const suite = m[1] as SuiteName;
    if (!gone.some((e) => e.suite === suite)) continue;
    let pub: Uint8Array;
    try {
      const priv = openKeyFile(stationPass, KEY_LABELS.encryption(home.json.id, suite, Number(m[2])), await readHomeFile(home, `${LAYOUT.keys}/${name}`));
      try {
        pub = serializePublicKey((await importPrivateKey(suiteFromName(suite), priv)).publicKey);
      } finally {
        priv.fill(0);
      }
    } catch {
      continue; // a file this desk cannot read is not one it may judge superseded: left alone
    }
    if (!gone.some((e) => e.suite === suite && equalBytes(e.pub, pub))) continue;
    await rm(join(home.dir, LAYOUT.keys, name), { force: true });
    destroyed.push(`${LAYOUT.keys}/${name}`);
  }
  return destroyed;
}

export interface KeyUpkeepReport {
  rotation: RotationCheck[];
  destroyed: string[];
}

/** One check: reminders, then destruction of superseded keys (and a reload when files went). */
export async function keyUpkeep(station: Station, home: Home<PartyHomeJson>, stationPass: string, reload: () => Promise<unknown>, now: number = Date.now()): Promise<KeyUpkeepReport> {
  const rotation = await station.checkKeyRotation();
  const destroyed = await destroySupersededKeys(home, stationPass, now);
  if (destroyed.length > 0) await reload();
  return { rotation, destroyed };
}

/**
 * Runs `keyUpkeep` now and every `KEY_CHECK_MS`, one at a time, telling `onReport` what each
 * did. Returns the interval (the daemon clears it with its other timers).
 */
export function startKeyUpkeep(station: Station, home: Home<PartyHomeJson>, stationPass: string, reload: () => Promise<unknown>, onReport: (r: KeyUpkeepReport | Error) => void): NodeJS.Timeout {
  let running = false;
  const run = (): void => {
    if (running) return;
    running = true;
    keyUpkeep(station, home, stationPass, reload)
      .then(onReport, (e: unknown) => {
        onReport(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        running = false;
      });
  };
  run();
  return setInterval(run, KEY_CHECK_MS);
}
