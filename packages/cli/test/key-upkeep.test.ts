/**
 * The daemon's key-rotation timer on a real home (key-upkeep.ts): after `rotate --overlap 0` the
 * old encryption key is superseded and its overlap ends at once, so the next check destroys its
 * private key file (never the new key's, never a key the bundle does not list), and the station
 * it runs beside forgets it; a party whose key nears its end gets a `rotation_due` alert, shown
 * by `alerts` and under `channels`.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openHome, type Home, type PartyHomeJson } from '../src/home.js';
import { destroySupersededKeys } from '../src/key-upkeep.js';
import { PASSPHRASES, cleanupTemp, jsonOut, tempDir } from './helpers/cli.js';
import { runInProcess } from './helpers/in-process.js';

afterAll(async () => {
  await cleanupTemp();
});

const DAY = 86_400_000;
const pass = PASSPHRASES.BACKCHANNEL_PASSPHRASE!;

describe('key upkeep', () => {
  it('destroys superseded key files once their overlap has passed, and only those', async () => {
    const dir = join(await tempDir(), 'us');
    expect((await runInProcess(['init', 'party', 'us', '--name', 'United States', '--home', dir, '--json'], PASSPHRASES)).code).toBe(0);
    const home = (await openHome(dir)) as Home<PartyHomeJson>;
    // Nothing superseded yet: even far in the future the only key stays (notes sealed to it must open).
    expect(await destroySupersededKeys(home, pass, Date.now() + 400 * DAY)).toEqual([]);

    const rot = await runInProcess(['rotate', '--overlap', '0', '--home', dir, '--json'], PASSPHRASES);
    expect(rot.code, rot.stderr).toBe(0);
    expect(jsonOut(rot)).toMatchObject({ seq: 2, destroyed: [] });
    // A stray file the bundle does not list (rotate writes keys before the bundle) is left alone.
    await writeFile(join(dir, 'keys', 'enc-x25519-9.key'), 'not ours to judge');
    expect(await destroySupersededKeys(home, pass, Date.now() + 1)).toEqual(['keys/enc-x25519-1.key']);
    expect(existsSync(join(dir, 'keys', 'enc-x25519-1.key'))).toBe(false);
    expect(existsSync(join(dir, 'keys', 'enc-x25519-2.key'))).toBe(true);
    expect(existsSync(join(dir, 'keys', 'enc-x25519-9.key'))).toBe(true);
    expect(await destroySupersededKeys(home, pass, Date.now() + 1)).toEqual([]);
  }, 60_000);
});
