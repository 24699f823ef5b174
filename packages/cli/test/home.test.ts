/**
 * Home folders in process: all-or-nothing creation (a failure at every step leaves nothing),
 * atomic writes and their modes, and the checks on home.json.
 */
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import { createFileExclusive, parseHomeJson, resolveDb, resolveHomeDir, writeFileAtomic } from '../src/home.js';
import { initParty } from '../src/commands/init-party.js';
import { Output, type Io } from '../src/output.js';
import type { Context } from '../src/context.js';
import { PASSPHRASES, cleanupTemp, tempDir } from './helpers/cli.js';

afterAll(cleanupTemp);

function context(): Context {
  const stdin = new PassThrough();
  stdin.end();
  const io: Io = { env: { ...PASSPHRASES, BACKCHANNEL_TEST_FAST_KDF: '1' }, stdin, stdout: new PassThrough(), stderr: new PassThrough() };
  return { io, out: new Output(io, true) };
}

const PARTY = { id: 'us', name: 'United States', suites: undefined, signers: undefined, station: undefined };

describe('init party is all or nothing', () => {
  it('a failure after any file leaves no trace, in a new folder or an existing empty one', async () => {
    // Learn the steps from a run that succeeds.
    const steps: string[] = [];
    const ok = join(await tempDir(), 'us');
    await initParty(context(), { ...PARTY, homeDir: ok }, { afterWrite: (rel) => void steps.push(rel) });
    expect(steps).toEqual(['keys/root.key', 'keys/station.key', 'keys/signer-institution.key', 'keys/enc-x25519-1.key', 'certs/signer-institution.cert', 'bundle.bin', 'card.json']);

    for (const failAt of steps) {
      const parent = await tempDir();
      const fresh = join(parent, 'a', 'us'); // two folders to create
      const failing = { afterWrite: (rel: string) => {
        if (rel === failAt) throw new Error(`injected failure after ${rel}`);
      } };
      await expect(initParty(context(), { ...PARTY, homeDir: fresh }, failing)).rejects.toThrow('injected failure');
      expect(await readdir(parent), failAt).toEqual([]);

      const empty = join(parent, 'empty');
      await mkdir(empty);
      await expect(initParty(context(), { ...PARTY, homeDir: empty }, failing)).rejects.toThrow('injected failure');
      expect(await readdir(empty), failAt).toEqual([]);
    }
  });
});

describe('writes', () => {
  it('are atomic replacements with exact modes, leaving no temporary file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'one', 0o600);
    await writeFileAtomic(path, 'two', 0o644);
    expect(await readFile(path, 'utf8')).toBe('two');
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await readdir(dir)).toEqual(['f']);
  });

  it('exclusive creation never replaces a file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'home.json');
    await writeFile(path, 'theirs');
    await expect(createFileExclusive(path, 'ours', 0o600)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('theirs');
    expect(await readdir(dir)).toEqual(['home.json']);
  });
});

describe('home.json and paths', () => {
  it('names every bad field at once', () => {
    let err: unknown;
    try {
      parseHomeJson(JSON.stringify({ kind: 'relay', version: 1, id: 'CH', name: '', url: 'ftp://x', origin: 'o', db: 'mysql://x' }), '/h');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).code).toBe('home_invalid');
    for (const field of ['id', 'name', 'url', 'db']) expect((err as CliError).message).toContain(`${field} is missing or invalid`);
    expect(() => parseHomeJson('[]', '/h')).toThrow(expect.objectContaining({ code: 'home_invalid' }));
    expect(() => parseHomeJson('{', '/h')).toThrow(expect.objectContaining({ code: 'home_invalid' }));
    expect(parseHomeJson(JSON.stringify({ kind: 'party', version: 1, id: 'us', name: 'US', station: 'desk-1', later: true }), '/h')).toEqual({ kind: 'party', version: 1, id: 'us', name: 'US', station: 'desk-1' });
  });

  it('resolves the home and a relative SQLite path against it', () => {
    expect(resolveHomeDir('/x/y', {})).toBe('/x/y');
    expect(resolveHomeDir(undefined, { BACKCHANNEL_HOME: '/from/env' })).toBe('/from/env');
    expect(resolveHomeDir(undefined, { HOME: '/users/a' })).toBe('/users/a/.backchannel');
    expect(resolveDb('sqlite:relay.db', '/h')).toBe('sqlite:/h/relay.db');
    expect(resolveDb('sqlite:/abs/relay.db', '/h')).toBe('sqlite:/abs/relay.db');
    expect(resolveDb('postgres://db/relay', '/h')).toBe('postgres://db/relay');
  });
});
