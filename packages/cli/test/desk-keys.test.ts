/**
 * Key delivery to the party's other desks through real processes and real relays on loopback
 * (docs/protocol.md §4.8; docs/cli.md, `rotate`): desk A of `us` holds the root, desk B is
 * enrolled with `station add` (its own key-agreement key certified in the bundle). A rotates;
 * the keys reach B sealed to B's key through both relays; the peer `ir` seals its next note to
 * the new key; B opens it after a `sync`, and, with `serve` running on B, without a sync or a
 * restart. (A removed desk and a tampered share: packages/station/test/key-share.test.ts.)
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle, type PartyCardJson } from '@backchannel/core';
import { PASSPHRASES, cleanupTemp, cliEnv, initPartyHome, jsonOut, runCli, spawnCli, tempDir } from './helpers/cli.js';
import { startTestRelay, stopTestRelays } from './helpers/relays.js';
import { runInProcess } from './helpers/in-process.js';

afterAll(async () => {
  await stopTestRelays();
  await cleanupTemp();
});

const cli = async (args: string[]): Promise<Record<string, unknown>> => {
  const r = await runCli([...args, '--json'], { env: PASSPHRASES, timeoutMs: 60_000 });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return jsonOut(r);
};

/** The same program in this process: for the setup and the reads, which need no process of their own. */
const cliIn = async (args: string[]): Promise<Record<string, unknown>> => {
  const r = await runInProcess([...args, '--json'], PASSPHRASES);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return jsonOut(r);
};

type Received = { kind: string | null; id: string | null; from: string | null; relay: string; outcome: string; valid: boolean };

describe('keys reach the party’s other desks by themselves', () => {
  let us: { home: string; card: PartyCardJson; cardPath: string };
  let ir: { home: string; card: PartyCardJson; cardPath: string };
  let deskB: string;

  beforeAll(async () => {
    process.env.BACKCHANNEL_LOG_LEVEL ??= 'silent';
    us = (await initPartyHome('us', 'United States')) as unknown as typeof us;
    ir = (await initPartyHome('ir', 'Iran')) as unknown as typeof ir;
    const dir = await tempDir();
    const relays = [await startTestRelay(dir, 'ch', [us.card, ir.card]), await startTestRelay(dir, 'om', [us.card, ir.card])];
    for (const [home, card, fp] of [
      [us.home, ir.cardPath, ir.card.fingerprint],
      [ir.home, us.cardPath, us.card.fingerprint],
      ...relays.flatMap((r) => [[us.home, r.cardPath, r.fingerprint] as const, [ir.home, r.cardPath, r.fingerprint] as const]),
    ] as const) {
      await cliIn(['trust', card, '--home', home, '--fingerprint', fp]);
    }
    deskB = join(await tempDir(), 'us-desk-2');
    const add = await cli(['station', 'add', '--home', us.home, '--new-home', deskB]);
    expect(add).toMatchObject({ station: 'desk-2', seq: 2 });
    // The new desk's key-agreement key is certified in its station entry; its private key is in its home only.
    const b2 = openBundle(new Uint8Array(await readFile(join(deskB, 'bundle.bin')))).bundle;
    expect(b2.stations.find((s) => s.id === 'desk-2')?.kx?.suite).toBe('x25519');
    expect(existsSync(join(deskB, 'keys', 'desk.key'))).toBe(true);
    expect(existsSync(join(us.home, 'keys', 'desk.key'))).toBe(false);
    for (const [card, fp] of [[ir.cardPath, ir.card.fingerprint], ...relays.map((r) => [r.cardPath, r.fingerprint] as const)] as const) await cliIn(['trust', card, '--home', deskB, '--fingerprint', fp]);
    await cliIn(['sync', '--home', ir.home]);
  }, 180_000);

  it('after rotate, desk B opens a note sealed to the new key once it syncs', async () => {
    const rot = await cli(['rotate', '--overlap', '1', '--home', us.home]);
    expect(rot).toMatchObject({ seq: 3, desks: [{ station: 'desk-2', receipts: ['ch', 'om'] }], parties: [{ party: 'ir' }] });
    await cliIn(['sync', '--home', ir.home]);
    const sent = await cliIn(['send', '--to', 'us', '--precedence', 'FLASH', '--subject', 'After the rotation', '--body', 'Sealed to the new key.', '--home', ir.home]);

    const sync = await cli(['sync', '--home', deskB]);
    const received = sync.received as Received[];
    // One share installs; the other relay's copy, and the shares `station add` sent under bundle 2
    // (which B was created holding), change nothing.
    const shares = received.filter((e) => e.kind === 'keys');
    expect(shares.filter((e) => e.outcome === 'deliver')).toHaveLength(1);
    expect(shares.filter((e) => e.outcome !== 'deliver').every((e) => e.outcome === 'duplicate' && e.valid)).toBe(true);
    expect(new Set(shares.map((e) => e.relay))).toEqual(new Set(['ch', 'om']));
    // FLASH: both relays carry the note; the first copy opens with the new key, the second matches it.
    expect(received.filter((e) => e.id === sent.id).map((e) => e.outcome).sort()).toEqual(['deliver', 'duplicate']);
    expect(await cliIn(['show', sent.id as string, '--home', deskB])).toMatchObject({ from: 'ir', body: 'Sealed to the new key.' });
    // Installed in the home, under its own passphrase: a new process reads them.
    expect(openBundle(new Uint8Array(await readFile(join(deskB, 'bundle.bin')))).bundle.seq).toBe(3);
    expect(existsSync(join(deskB, 'keys', 'enc-x25519-2.key'))).toBe(true);
    const again = await cliIn(['send', '--to', 'us', '--precedence', 'ROUTINE', '--subject', 'Again', '--body', 'Still the new key.', '--home', ir.home]);
    await cli(['sync', '--home', deskB]);
    expect(await cliIn(['show', again.id as string, '--home', deskB])).toMatchObject({ body: 'Still the new key.' });
    expect((await cliIn(['alerts', '--home', deskB])).alerts).toEqual([]);
  }, 180_000);

  it('with serve running on desk B, the keys and then the note arrive by push, without a restart', async () => {
    const daemon = spawnCli(['serve', '--home', deskB, '--heartbeat', '0', '--json'], await cliEnv(PASSPHRASES));
    let out = '';
    let err = '';
    daemon.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    daemon.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    daemon.stdin.end();
    type Event = { event: string; id?: string; kind?: string; outcome?: string };
    const events = (): Event[] => err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
    const until = async (what: string, done: () => boolean): Promise<void> => {
      for (let i = 0; i < 600 && !done(); i++) await new Promise((r) => setTimeout(r, 100));
      if (!done()) throw new Error(`the daemon never reached: ${what}\n${err}`);
    };
    try {
      await until('serving', () => out.includes('serving'));
      const rot = await cli(['rotate', '--overlap', '1', '--home', us.home]);
      expect(rot).toMatchObject({ seq: 4, desks: [{ station: 'desk-2' }] });
      await until('the key share', () => events().some((e) => e.event === 'received' && e.kind === 'keys' && e.outcome === 'deliver'));
      await cliIn(['sync', '--home', ir.home]);
      const sent = await cliIn(['send', '--to', 'us', '--precedence', 'FLASH', '--subject', 'Pushed', '--body', 'To the rotated key, by push.', '--home', ir.home]);
      await until(`note ${sent.id as string}`, () => events().some((e) => e.event === 'received' && e.id === sent.id && e.outcome === 'deliver'));
      expect(await cliIn(['show', sent.id as string, '--home', deskB])).toMatchObject({ body: 'To the rotated key, by push.' });
      expect(openBundle(new Uint8Array(await readFile(join(deskB, 'bundle.bin')))).bundle.seq).toBe(4);
    } finally {
      daemon.kill('SIGTERM');
    }
    const [code] = (await once(daemon, 'close')) as [number | null];
    expect(code, err).toBe(0);
  }, 180_000);
});
