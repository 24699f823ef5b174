/**
 * The relay verbs through real processes: init relay, card, trust, serve. Loopback only.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParty, parsePartyCard, parseRelayCard, partyCardJson, type PartyCardJson } from '@backchannel/core';
import { addPartyToMandate } from '@backchannel/relay';
import { childrenOf, cleanupTemp, cliEnv, isRunning, jsonError, jsonOut, runCli, spawnCli, tempDir } from './helpers/cli.js';
import { runInProcess } from './helpers/in-process.js';

afterAll(cleanupTemp);

const RELAY_PASS = { BACKCHANNEL_PASSPHRASE: 'relay passphrase for tests' };
const FINGERPRINT_RE = /^[0-9]{5}( [0-9]{5}){11}$/;

async function partyCardFile(dir: string, id: string, name: string): Promise<{ path: string; card: PartyCardJson }> {
  const party = await createParty({ id, name, now: Date.now() });
  const card = partyCardJson(party.bundle);
  const path = join(dir, `${id}.card.json`);
  await writeFile(path, JSON.stringify(card));
  return { path, card };
}

describe('relay home', () => {
  let dir: string;
  let home: string;
  let us: { path: string; card: PartyCardJson };

  beforeAll(async () => {
    dir = await tempDir();
    home = join(dir, 'ch');
    us = await partyCardFile(dir, 'us', 'United States');
  });

  it('init relay writes the layout and card prints a relay card (kind, url, vkey, fingerprint)', async () => {
    const r = await runCli(['init', 'relay', 'ch', '--name', 'Swiss protecting power', '--home', home, '--url', 'http://127.0.0.1:7101', '--json'], { env: RELAY_PASS });
    expect(r.code, r.stderr).toBe(0);
    const made = jsonOut(r);
    expect(made).toMatchObject({ kind: 'relay', id: 'ch', url: 'http://127.0.0.1:7101', db: 'sqlite:relay.db', home });
    expect(made.origin).toMatch(/^127\.0\.0\.1:7101\/ch\/[0-9a-f]{8}$/);

    const c = await runCli(['card', '--home', home]);
    expect(c.code, c.stderr).toBe(0);
    const card = jsonOut(c);
    expect(card).toMatchObject({ kind: 'relay', id: 'ch', name: 'Swiss protecting power', url: 'http://127.0.0.1:7101', fingerprint: made.fingerprint, vkey: made.vkey });
    expect(card.fingerprint).toMatch(FINGERPRINT_RE);
    expect(parseRelayCard(card).origin).toBe(made.origin); // self-signed, and the core accepts it

    expect(JSON.parse(await readFile(join(home, 'home.json'), 'utf8'))).toEqual({ kind: 'relay', version: 1, id: 'ch', name: 'Swiss protecting power', url: 'http://127.0.0.1:7101', origin: made.origin, db: 'sqlite:relay.db' });
    expect((await stat(join(home, 'keys'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(home, 'keys/log.key'))).mode & 0o777).toBe(0o600);
    expect((await readdir(home)).sort()).toEqual(['card.json', 'home.json', 'keys', 'relay.db']);
  });

  it('trust adds a party to the mandate; a relay card and a wrong passphrase are refused', async () => {
    const r = await runCli(['trust', us.path, '--home', home, '--allow', 'ir', '--statements', '--json'], { env: RELAY_PASS });
    expect(r.code, r.stderr).toBe(0);
    expect(jsonOut(r)).toEqual({ relay: 'ch', party: 'us', name: 'United States', fingerprint: us.card.fingerprint, added: true, seq: 1, allow: ['ir'], statements: true });

    // The relay's own view: the party is there (adding it again adds nothing).
    expect(await addPartyToMandate(`sqlite:${join(home, 'relay.db')}`, parsePartyCard(us.card))).toEqual({ added: false, seq: 1 });

    const relayCard = await runCli(['trust', join(home, 'card.json'), '--home', home, '--json'], { env: RELAY_PASS });
    expect(relayCard.code).toBe(1);
    expect(jsonError(relayCard)).toMatchObject({ code: 'card_wrong_kind', message: expect.stringContaining('is a relay card') as unknown });

    const wrong = await runInProcess(['trust', us.path, '--home', home, '--json'], { BACKCHANNEL_PASSPHRASE: 'not the passphrase' });
    expect(wrong.code).toBe(1);
    expect(jsonError(wrong).code).toBe('passphrase_wrong');

    const again = await runInProcess(['trust', '-', '--home', home, '--fingerprint', us.card.fingerprint.replace(/ /g, '-'), '--json'], RELAY_PASS, JSON.stringify(us.card));
    expect(again.code, again.stderr).toBe(0);
    expect(jsonOut(again)).toMatchObject({ party: 'us', added: false, seq: 1 });

    const other = await partyCardFile(dir, 'ir', 'Iran');
    const mismatch = await runInProcess(['trust', other.path, '--home', home, '--fingerprint', us.card.fingerprint, '--json'], RELAY_PASS);
    expect(mismatch.code).toBe(1);
    expect(jsonError(mismatch).code).toBe('fingerprint_mismatch');
    const missing = await runInProcess(['trust', join(dir, 'nope.json'), '--home', home], RELAY_PASS);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^backchannel: The card file .*nope\.json does not exist\.\n$/);
  });

  it('serve answers /card, /healthz and the trusted party’s bundle, and stops on SIGTERM leaving no process', async () => {
    const child = spawnCli(['serve', '--home', home, '--listen', '127.0.0.1:0', '--json'], await cliEnv(RELAY_PASS));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.end();
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      child.stdout.setEncoding('utf8');
      let stdout = '';
      while (!stdout.includes('\n')) {
        const [chunk] = (await Promise.race([once(child.stdout, 'data'), exited.then(() => [''])])) as [string];
        if (chunk === '') throw new Error(`serve exited early: ${stderr}`);
        stdout += chunk;
      }
      const serving = (JSON.parse(stdout.split('\n')[0]!) as { serving: { relay: string; url: string; port: number } }).serving;
      expect(serving.relay).toBe('ch');
      expect(serving.url).toBe(`http://127.0.0.1:${serving.port}`);

      const card = (await (await fetch(`${serving.url}/card`)).json()) as Record<string, unknown>;
      expect(card).toEqual(JSON.parse(await readFile(join(home, 'card.json'), 'utf8')));
      expect((await fetch(`${serving.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${serving.url}/v1/bundles/us`)).status).toBe(200); // trusted above
      const unknown = await fetch(`${serving.url}/v1/bundles/zz`);
      expect(unknown.status).toBe(404);

      // tsx runs the program in a child of the process we spawned: both must be gone after.
      const inner = await childrenOf(child.pid!);
      expect(inner.length).toBeGreaterThan(0);
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code, stderr).toBe(0);
      for (const pid of inner) expect(isRunning(pid)).toBe(false);
      await expect(fetch(`${serving.url}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('serve refuses a wrong passphrase (exit 1, the code in --json) and a taken port', async () => {
    const r = await runCli(['serve', '--home', home, '--listen', '127.0.0.1:0', '--json'], { env: { BACKCHANNEL_PASSPHRASE: 'not the passphrase' } });
    expect(r.code).toBe(1);
    expect(jsonError(r)).toEqual({ code: 'passphrase_wrong', message: 'Wrong passphrase, or the key file was altered.' });

    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      const taken = await runInProcess(['serve', '--home', home, '--listen', `127.0.0.1:${port}`, '--json'], { ...RELAY_PASS, BACKCHANNEL_LOG_LEVEL: 'silent' });
      expect(taken.code).toBe(1);
      expect(jsonError(taken)).toEqual({ code: 'address_in_use', message: `The address 127.0.0.1:${port} is already in use.` });
    } finally {
      blocker.close();
    }
  });

  it('init relay leaves nothing behind when the database cannot be initialised', async () => {
    const parent = await tempDir();
    // Nothing listens on port 1: the database step fails after the key and card are written.
    const r = await runCli(['init', 'relay', 'om', '--name', 'Oman', '--home', join(parent, 'om'), '--db', 'postgres://relay@127.0.0.1:1/relay', '--json'], { env: RELAY_PASS });
    expect(r.code).toBe(1);
    expect(jsonError(r).code).toBe('storage_unavailable');
    expect(await readdir(parent)).toEqual([]);
  });
});
