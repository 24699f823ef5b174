/**
 * The framework and the party verbs: help, init party, card, the all-or-nothing home,
 * passphrases, and the single error path. The behaviour that needs a real process (exit
 * statuses reaching the shell, the environment, files on disk) runs as one; pure error paths
 * run through the same `run` in process, to keep the suite fast on two cores.
 */
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptSecret, parsePartyCard, toBase64, Ed25519Key } from '@backchannel/core';
import { PASSPHRASES, cleanupTemp, initPartyHome, jsonError, jsonOut, runCli, tempDir } from './helpers/cli.js';
import { runInProcess } from './helpers/in-process.js';

afterAll(cleanupTemp);

const FINGERPRINT_RE = /^[0-9]{5}( [0-9]{5}){11}$/;

describe('backchannel with no arguments, --help, --version', () => {
  it('prints its help and exits 0, so `npm start` works', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: backchannel/);
    for (const verb of ['init', 'card', 'trust', 'serve']) expect(r.stdout).toContain(verb);
    expect(r.stderr).toBe('');
  });

  it('prints its version and per-command help', async () => {
    const v = await runInProcess(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^[0-9]+\.[0-9]+\.[0-9]+$/);
    const h = await runInProcess(['init', 'party', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--signer <id:name:title:level>');
    expect(h.stdout).toContain('--home <dir>');
  });
});

describe('init party and card', () => {
  it('creates a party home whose card meets the contract (kind, id, name, fingerprint)', async () => {
    const home = join(await tempDir(), 'us');
    const r = await runCli(['init', 'party', 'us', '--name', 'United States', '--home', home, '--json', '--suites', 'x25519,xwing', '--signer', 'mfa.minister:Jane Doe:Foreign Minister:official', '--signer', 'mfa:Ministry:Foreign Ministry:institutional'], { env: PASSPHRASES });
    expect(r.code, r.stderr).toBe(0);
    const made = jsonOut(r) as { kind: string; id: string; name: string; fingerprint: string; station: string; home: string };
    expect(made).toEqual({ kind: 'party', id: 'us', name: 'United States', fingerprint: expect.stringMatching(FINGERPRINT_RE) as unknown, station: 'desk-1', home });

    const c = await runCli(['card', '--home', home, '--json']);
    expect(c.code).toBe(0);
    const card = jsonOut(c);
    expect(card).toMatchObject({ kind: 'party', id: 'us', name: 'United States', fingerprint: made.fingerprint });
    // The card is a real one: the core accepts it, with the suites and signers asked for.
    const parsed = parsePartyCard(card);
    expect(parsed.signed.bundle.suites).toEqual(['x25519', 'xwing']);
    expect(parsed.signed.bundle.signers.map((s) => [s.id, s.level])).toEqual([
      ['mfa.minister', 'official'],
      ['mfa', 'institutional'],
    ]);
    // Same output without --json, and the same as card.json.
    const plain = await runCli(['card', '--home', home]);
    expect(plain.stdout).toBe(c.stdout);
    expect(JSON.parse(await readFile(join(home, 'card.json'), 'utf8'))).toEqual(card);

    // The layout, and its modes: keys 0600 in a 0700 folder.
    expect((await readdir(join(home, 'keys'))).sort()).toEqual(['enc-x25519-1.key', 'enc-xwing-1.key', 'root.key', 'signer-mfa.key', 'signer-mfa.minister.key', 'station.key']);
    expect((await stat(join(home, 'keys'))).mode & 0o777).toBe(0o700);
    for (const f of await readdir(join(home, 'keys'))) expect((await stat(join(home, 'keys', f))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(home, 'home.json'), 'utf8'))).toEqual({ kind: 'party', version: 1, id: 'us', name: 'United States', station: 'desk-1' });

    // The root key has its own passphrase and is the card's root; the station key is not under it.
    const rootFile = new Uint8Array(await readFile(join(home, 'keys/root.key')));
    expect(() => decryptSecret(PASSPHRASES.BACKCHANNEL_PASSPHRASE!, 'root:us', rootFile)).toThrow(expect.objectContaining({ code: 'passphrase_wrong' }));
    const root = Ed25519Key.fromSeed(decryptSecret(PASSPHRASES.BACKCHANNEL_ROOT_PASSPHRASE!, 'root:us', rootFile));
    expect(toBase64(root.publicKey)).toBe(card.root);
    const stationFile = new Uint8Array(await readFile(join(home, 'keys/station.key')));
    const station = Ed25519Key.fromSeed(decryptSecret(PASSPHRASES.BACKCHANNEL_PASSPHRASE!, 'station:us/desk-1', stationFile));
    expect(parsed.signed.bundle.stations[0]!.pub).toEqual(station.publicKey);
  });

  it('uses $BACKCHANNEL_HOME, else ~/.backchannel, and says clearly when there is no home', async () => {
    const home = join(await tempDir(), 'ir');
    const r = await runCli(['init', 'party', 'ir', '--name', 'Iran'], { env: { ...PASSPHRASES, BACKCHANNEL_HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Fingerprint:');
    const c = await runCli(['card', '--json'], { env: { BACKCHANNEL_HOME: home } });
    expect(jsonOut(c)).toMatchObject({ kind: 'party', id: 'ir' });

    const missing = await runInProcess(['card', '--home', join(home, 'nowhere'), '--json']);
    expect(missing.code).toBe(1);
    expect(jsonError(missing).code).toBe('home_missing');
    const userHome = await tempDir();
    const dflt = await runInProcess(['card'], { HOME: userHome });
    expect(dflt.code).toBe(1);
    expect(dflt.stderr).toBe(`backchannel: There is no Backchannel home at ${join(userHome, '.backchannel')}; create one with 'backchannel init party' or 'backchannel init relay', or choose one with --home.\n`);
    const notHome = await runInProcess(['card', '--home', userHome, '--json']);
    expect(jsonError(notHome)).toEqual({ code: 'home_missing', message: `${userHome} is not a Backchannel home (it has no home.json).` });
  });

  it('reports a damaged home as home_invalid', async () => {
    const home = await tempDir();
    await writeFile(join(home, 'home.json'), '{"kind":"party","version":1,"id":"US"}');
    const r = await runInProcess(['card', '--home', home, '--json']);
    expect(r.code).toBe(1);
    expect(jsonError(r)).toMatchObject({ code: 'home_invalid', message: expect.stringContaining('id is missing or invalid') as unknown });
    await writeFile(join(home, 'home.json'), '{"kind":"party","version":7}');
    expect(jsonError(await runInProcess(['card', '--home', home, '--json'])).message).toContain('version 7');
    await writeFile(join(home, 'home.json'), '{"kind":"party","version":1,"id":"us","name":"US","station":"desk-1"}');
    expect(jsonError(await runInProcess(['card', '--home', home, '--json']))).toMatchObject({ code: 'home_invalid', message: expect.stringContaining('bundle.bin is missing') as unknown });
  });
});

describe('an existing party home', () => {
  let home: string;
  let cardPath: string;
  beforeAll(async () => {
    ({ home, cardPath } = await initPartyHome('us', 'United States'));
  });

  it('is never overwritten by init, nor is any non-empty folder', async () => {
    const before = await readFile(join(home, 'home.json'), 'utf8');
    const again = await runCli(['init', 'party', 'ir', '--name', 'Iran', '--home', home], { env: PASSPHRASES });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^backchannel: .*already holds a Backchannel home; nothing was changed\.\n$/);
    expect(await readFile(join(home, 'home.json'), 'utf8')).toBe(before);

    const dir = await tempDir();
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const r = await runInProcess(['init', 'party', 'us', '--name', 'United States', '--home', dir, '--json'], PASSPHRASES);
    expect(r.code).toBe(1);
    expect(jsonError(r).code).toBe('home_not_empty');
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });

  it('works without its root key, which can be kept offline', async () => {
    await rename(join(home, 'keys/root.key'), join(home, 'root.key.offline'));
    try {
      const c = await runInProcess(['card', '--home', home, '--json']);
      expect(c.code, c.stderr).toBe(0);
      expect(JSON.parse(c.stdout)).toMatchObject({ kind: 'party', id: 'us' });
    } finally {
      await rename(join(home, 'root.key.offline'), join(home, 'keys/root.key'));
    }
  });

  it('refuses to trust its own card and relay-only serve flags, changing nothing', async () => {
    const before = await readdir(home);
    const t = await runCli(['trust', cardPath, '--home', home, '--json'], { env: PASSPHRASES });
    expect(t.code).toBe(2);
    expect(jsonError(t)).toMatchObject({ code: 'usage', message: expect.stringContaining("is this home's own party card") as unknown });
    const s = await runInProcess(['serve', '--home', home, '--db', 'sqlite:x.db'], PASSPHRASES);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/^backchannel: --db, --tls-cert and --tls-key are for a relay home/);
    const v = await runInProcess(['serve', '--home', home, '--verify-envelope-signature'], PASSPHRASES);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/^backchannel: --verify-envelope-signature is for a relay home/);
    expect(await readdir(home)).toEqual(before);
  });
});

describe('passphrases', () => {
  it('none available and no terminal: exit 2, and nothing is created', async () => {
    const parent = await tempDir();
    const home = join(parent, 'new', 'us');
    const none = await runCli(['init', 'party', 'us', '--name', 'United States', '--home', home, '--json']);
    expect(none.code).toBe(2);
    expect(jsonError(none)).toEqual({ code: 'passphrase_required', message: 'No passphrase: set BACKCHANNEL_PASSPHRASE, or run in a terminal to be asked for it.' });
    const noRoot = await runInProcess(['init', 'party', 'us', '--name', 'United States', '--home', home, '--json'], { BACKCHANNEL_PASSPHRASE: 'x' });
    expect(noRoot.code).toBe(2);
    expect(jsonError(noRoot).message).toContain('BACKCHANNEL_ROOT_PASSPHRASE');
    const empty = await runInProcess(['init', 'party', 'us', '--name', 'United States', '--home', home, '--json'], { BACKCHANNEL_PASSPHRASE: '' });
    expect(empty.code).toBe(2);
    expect(jsonError(empty).message).toContain('empty');
    expect(await readdir(parent)).toEqual([]);
  });

  it('the root passphrase must differ from the station passphrase', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'home'));
    const same = await runInProcess(['init', 'party', 'us', '--name', 'United States', '--home', join(dir, 'home'), '--json'], { BACKCHANNEL_PASSPHRASE: 'same', BACKCHANNEL_ROOT_PASSPHRASE: 'same' });
    expect(same.code).toBe(2);
    expect(jsonError(same).code).toBe('passphrase_reused');
    expect(await readdir(join(dir, 'home'))).toEqual([]);
  });
});
