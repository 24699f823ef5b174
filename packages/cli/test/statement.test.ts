/**
 * Statements and the stand-alone witness through real processes (issue 7): a relay home made
 * with `init relay`, a witness made with `witness init` and run with `witness serve`, the relay
 * started in process (startRelay) on the home's database and submitting to that witness, traffic
 * from two Stations; then `statement` on the relay home and `verify-statement` with nothing but
 * the cards and the witness key. Any changed byte fails (exit 3), and the statement carries no
 * subject or body.
 */
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ed25519Key, createParty, decryptSecret, parsePartyCard, parseRelayCard, parseVkey, partyCardJson, systemRandom, type NewParty } from '@backchannel/core';
import { startRelay, type RunningRelay } from '@backchannel/relay';
import { Station, type StationKeys } from '@backchannel/station';
import { checkStatement } from '../src/commands/statement.js';
import { PASSPHRASES, cleanupTemp, cliEnv, jsonError, jsonOut, runCli, spawnCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/relays.js';

function keysOf(p: NewParty, id: string): StationKeys {
  return {
    party: id,
    bundle: p.bundle,
    station: p.station,
    signers: p.signers.map((s) => ({ id: s.entry.id, key: s.key, certificate: s.certificate })),
    encryption: p.encryption.map((e) => ({ suite: e.suite, pub: e.pub, priv: e.priv })),
    storageKey: systemRandom(32),
  };
}

const MARKER = 'ZEBRA-QUOKKA-7731';

describe('statement and verify-statement, with a stand-alone witness', () => {
  let dir: string;
  let relayHome: string;
  let relayCardPath: string;
  let usCardPath: string;
  let irCardPath: string;
  let witnessVkey: string;
  let relay: RunningRelay | undefined;
  let witnessProc: ReturnType<typeof spawnCli> | undefined;
  const desks: Station[] = [];
  let statementPath: string;
  let sent = 0;

  beforeAll(async () => {
    process.env.BACKCHANNEL_LOG_LEVEL ??= 'silent';
    dir = await tempDir();
    relayHome = join(dir, 'relay');
    const port = await freePort();
    const init = await runCli(['init', 'relay', 'ch', '--name', 'Swiss protecting power', '--url', `http://127.0.0.1:${port}`, '--home', relayHome, '--json'], { env: PASSPHRASES });
    expect(init.code, init.stderr).toBe(0);
    relayCardPath = join(relayHome, 'card.json');
    const card = parseRelayCard(await readFile(relayCardPath, 'utf8'));

    // The witness: init, then serve as its own process.
    const witnessHome = join(dir, 'witness');
    const wi = await runCli(['witness', 'init', '--home', witnessHome, '--name', 'witness.example/w1', '--json'], { env: PASSPHRASES });
    expect(wi.code, wi.stderr).toBe(0);
    witnessVkey = jsonOut(wi).vkey as string;
    const wproc = spawnCli(['witness', 'serve', '--home', witnessHome, '--listen', '127.0.0.1:0', '--log', relayCardPath, '--json'], await cliEnv({ ...PASSPHRASES, BACKCHANNEL_LOG_LEVEL: 'silent' }));
    witnessProc = wproc;
    wproc.stdin.end();
    let out = '';
    wproc.stdout.setEncoding('utf8');
    while (!out.includes('\n')) {
      const [chunk] = (await once(wproc.stdout, 'data')) as [string];
      out += chunk;
    }
    const serving = (JSON.parse(out) as { serving: { url: string; vkey: string } }).serving;
    expect(serving.vkey).toBe(witnessVkey);

    // The parties and their desks.
    const now = Date.now() - 60_000;
    const us = await createParty({ id: 'us', name: 'United States', now, random: systemRandom, signers: [{ id: 'institution', name: 'United States', title: 'Institutional', level: 'institutional' }] });
    const ir = await createParty({ id: 'ir', name: 'Iran', now, random: systemRandom, signers: [{ id: 'institution', name: 'Iran', title: 'Institutional', level: 'institutional' }] });
    const usCard = partyCardJson(us.bundle);
    const irCard = partyCardJson(ir.bundle);
    usCardPath = join(dir, 'us.card.json');
    irCardPath = join(dir, 'ir.card.json');
    await writeFile(usCardPath, JSON.stringify(usCard));
    await writeFile(irCardPath, JSON.stringify(irCard));

    // The relay, in process, on the home's database, with the home's decrypted log key.
    const seed = decryptSecret(PASSPHRASES.BACKCHANNEL_PASSPHRASE!, 'log:ch', new Uint8Array(await readFile(join(relayHome, 'keys/log.key'))));
    const logKey = Ed25519Key.fromSeed(seed);
    relay = await startRelay({
      id: 'ch',
      name: card.name,
      url: card.url,
      origin: card.origin,
      logKey,
      card: card.json,
      db: `sqlite:${join(relayHome, 'relay.db')}`,
      listen: { host: '127.0.0.1', port },
      mandate: [{ card: parsePartyCard(usCard) }, { card: parsePartyCard(irCard) }],
      witnesses: [{ url: serving.url, vkey: parseVkey(witnessVkey) }],
    });

    const policy = { requestTimeoutMs: 3000, sendTimeoutMs: 4000 };
    const usDesk = await Station.open({ path: join(dir, 'us.db'), keys: keysOf(us, 'us'), policy });
    const irDesk = await Station.open({ path: join(dir, 'ir.db'), keys: keysOf(ir, 'ir'), policy });
    desks.push(usDesk, irDesk);
    for (const d of desks) await d.addRelay(card.json);
    await usDesk.pinParty(JSON.stringify(irCard), { fingerprint: irCard.fingerprint });
    await irDesk.pinParty(JSON.stringify(usCard), { fingerprint: usCard.fingerprint });
    for (let i = 0; i < 3; i++) {
      const r = await usDesk.send({ to: 'ir', precedence: 'IMMEDIATE', subject: `${MARKER} subject ${i}`, body: `${MARKER} body ${i}`, via: ['ch'], failover: 'none' });
      expect(r.receipts.length).toBe(1);
      sent++;
    }
    await irDesk.sync(); // ir acknowledges: an acknowledgement envelope ir > us
    const reply = await irDesk.send({ to: 'us', precedence: 'ROUTINE', subject: `${MARKER} reply`, body: `${MARKER} reply body`, via: ['ch'], failover: 'none' });
    expect(reply.receipts.length).toBe(1);
    sent++;

    // Wait for the witness to cosign a checkpoint covering everything.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const text = await (await fetch(`${card.url}/checkpoint`)).text();
      const size = Number(text.split('\n')[1]);
      if (text.includes('— witness.example/w1 ') && size >= sent) break;
      if (Date.now() > deadline) throw new Error(`no witnessed checkpoint: ${text}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    statementPath = join(dir, 'statement.bin');
  }, 90_000);

  afterAll(async () => {
    for (const d of desks.splice(0)) await d.close();
    await relay?.close();
    if (witnessProc !== undefined && witnessProc.exitCode === null) {
      witnessProc.kill('SIGTERM');
      await once(witnessProc, 'close');
    }
    await cleanupTemp();
  });

  it('the relay operator produces a statement, and it verifies with the cards and the witness key', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const s = await runCli(['statement', '--pair', 'us,ir', '--since', '0', '--until', until, '--home', relayHome, '--out', statementPath, '--json'], { env: PASSPHRASES });
    expect(s.code, s.stderr).toBe(0);
    const made = jsonOut(s);
    expect(made.count).toBeGreaterThanOrEqual(sent);
    expect(made.cosignatures).toBe(1);
    expect(typeof made.statement).toBe('string');

    const v = await runCli(['verify-statement', statementPath, '--relay', relayCardPath, '--party', usCardPath, '--party', irCardPath, '--witness', witnessVkey, '--quorum', '1', '--json']);
    expect(v.code, v.stderr).toBe(0);
    const report = jsonOut(v);
    expect(report).toMatchObject({ ok: true, witnesses: ['witness.example/w1'], problems: [] });
    expect(report.count).toBe(made.count);
    const dirs = report.by_direction as Record<string, number>;
    expect(dirs['us>ir']).toBeGreaterThanOrEqual(3);
    expect(dirs['ir>us']).toBeGreaterThanOrEqual(2); // the acknowledgement and the reply
  });

  it('reveals no subject or body', async () => {
    const bytes = await readFile(statementPath);
    expect(bytes.includes(Buffer.from(MARKER))).toBe(false);
    expect(bytes.toString('latin1')).not.toMatch(/subject|body/i);
  });

  it('any single changed byte makes it fail (every position in process, one through the command: exit 3)', async () => {
    const bytes = new Uint8Array(await readFile(statementPath));
    const relayCard = parseRelayCard(await readFile(relayCardPath, 'utf8'));
    const bundles = { us: parsePartyCard(await readFile(usCardPath, 'utf8')).signed.bundle, ir: parsePartyCard(await readFile(irCardPath, 'utf8')).signed.bundle };
    expect(checkStatement(bytes, relayCard, bundles, [witnessVkey], 1).ok).toBe(true);
    const passed: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const copy = Uint8Array.from(bytes);
      copy[i] = copy[i]! ^ 0x01;
      if (checkStatement(copy, relayCard, bundles, [witnessVkey], 1).ok) passed.push(i);
    }
    expect(passed).toEqual([]);

    const bad = Uint8Array.from(bytes);
    bad[Math.floor(bad.length / 2)] = bad[Math.floor(bad.length / 2)]! ^ 0x80;
    const badPath = join(dir, 'statement.bad');
    await writeFile(badPath, bad);
    const v = await runCli(['verify-statement', badPath, '--relay', relayCardPath, '--party', usCardPath, '--party', irCardPath, '--witness', witnessVkey, '--json']);
    expect(v.code).toBe(3);
    expect(jsonError(v).code).toBe('statement_invalid');
    expect(jsonOut(v)).toMatchObject({ ok: false });
  });

  it('a witness quorum the checkpoint lacks fails (exit 3, not witnessed)', async () => {
    const other = Ed25519Key.generate();
    const { deriveVkey, formatVkey, SIGNATURE_TYPE_COSIGNATURE_V1 } = await import('@backchannel/core');
    const stranger = formatVkey(deriveVkey(other, 'witness.example/w2', SIGNATURE_TYPE_COSIGNATURE_V1));
    const v = await runCli(['verify-statement', statementPath, '--relay', relayCardPath, '--party', usCardPath, '--party', irCardPath, '--witness', witnessVkey, '--witness', stranger, '--json']);
    expect(v.code).toBe(3);
    expect((jsonOut(v).problems as string[]).join(' ')).toMatch(/not witnessed/);
  });
});
