/**
 * The desk verbs through real processes against real relays on loopback: two parties made
 * with `init party`, three relays (`startRelay`, each on its own temporary SQLite file, both
 * parties in its mandate), `trust` both ways, `send` through one relay and through all three,
 * `sync` on the other side, `inbox`/`show --json` with three consistent copies and the
 * attribution, `verify`, and the bad input: bad flags (2), an unknown party (1), a wrong
 * passphrase (1), a changed party key (3, with an alert).
 */
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParty, partyCardJson, type PartyCardJson } from '@backchannel/core';
import { once } from 'node:events';
import { PASSPHRASES, cleanupTemp, cliEnv, initPartyHome, jsonError, jsonOut, mapLimit, runCli, spawnCli, tempDir } from './helpers/cli.js';
import { startTestRelay, stopTestRelays } from './helpers/relays.js';
import { runInProcess } from './helpers/in-process.js';

afterAll(async () => {
  await stopTestRelays();
  await cleanupTemp();
});

interface Party {
  home: string;
  card: PartyCardJson;
  cardPath: string;
}

const relay = startTestRelay;

const ok = (r: { code: number | null; stderr: string }): void => {
  expect(r.code, r.stderr).toBe(0);
};

describe('two desks and three relays', () => {
  let us: Party;
  let ir: Party;
  let relays: { id: string; cardPath: string; fingerprint: string }[];
  let flashOne: string;
  let flashAll: string;

  beforeAll(async () => {
    process.env.BACKCHANNEL_LOG_LEVEL ??= 'silent';
    const made = await mapLimit(
      [
        ['us', 'United States'],
        ['ir', 'Iran'],
      ] as const,
      2,
      ([id, name]) => initPartyHome(id, name),
    );
    us = made[0]! as unknown as Party;
    ir = made[1]! as unknown as Party;
    const dir = await tempDir();
    relays = [];
    for (const id of ['ch', 'om', 'qa']) relays.push(await relay(dir, id, [us.card, ir.card]));
  }, 60_000);

  it('trust pins the other party and adds the relays (fingerprint required without a terminal)', async () => {
    const noFp = await runInProcess(['trust', ir.cardPath, '--home', us.home, '--json'], PASSPHRASES);
    expect(noFp.code).toBe(2);
    expect(jsonError(noFp).code).toBe('fingerprint_required');

    const jobs: [Party, string, string][] = [
      [us, ir.cardPath, ir.card.fingerprint],
      [ir, us.cardPath, us.card.fingerprint],
      ...relays.flatMap((r) => [[us, r.cardPath, r.fingerprint] as [Party, string, string], [ir, r.cardPath, r.fingerprint] as [Party, string, string]]),
    ];
    // Each home's trusts run in order (the first relay added is the primary); the two homes in parallel.
    const byHome = [jobs.filter((j) => j[0] === us), jobs.filter((j) => j[0] === ir)];
    const results = await mapLimit(byHome, 2, async (list) => {
      const out = [];
      for (const [p, card, fp] of list) out.push(await runCli(['trust', card, '--home', p.home, '--fingerprint', fp, '--json'], { env: PASSPHRASES }));
      return out;
    });
    for (const r of results.flat()) ok(r);
    expect(jsonOut(results[0]![0]!)).toMatchObject({ kind: 'party', party: 'ir', status: 'pinned', seq: 1, fingerprint: ir.card.fingerprint });
    expect(jsonOut(results[0]![1]!)).toMatchObject({ kind: 'relay', relay: 'ch', status: 'added', primary: true });
    expect(jsonOut(results[0]![2]!)).toMatchObject({ kind: 'relay', relay: 'om', primary: false });

    const wrongFp = await runInProcess(['trust', ir.cardPath, '--home', us.home, '--fingerprint', us.card.fingerprint, '--json'], PASSPHRASES);
    expect(wrongFp.code).toBe(1);
    expect(jsonError(wrongFp).code).toBe('fingerprint_mismatch');
  }, 60_000);

  it('sends FLASH through one relay and through all three, with checked receipts', async () => {
    const [one, all] = await Promise.all([
      runCli(['send', '--to', 'ir', '--precedence', 'FLASH', '--subject', 'Restraint', '--body', 'Do not escalate.', '--via', 'ch', '--failover', 'none', '--home', us.home, '--json'], { env: PASSPHRASES }),
      runCli(['send', '--to', 'ir', '--precedence', 'flash', '--subject', 'Retaliation', '--body-file', '-', '--home', us.home, '--json'], { env: PASSPHRASES, input: 'Retaliation has concluded.\n' }),
    ]);
    ok(one);
    ok(all);
    const a = jsonOut(one) as { id: string; receipts: { relay: string; log_index: number }[] };
    const b = jsonOut(all) as { id: string; receipts: { relay: string; log_index: number }[]; failures: unknown[] };
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.receipts).toEqual([{ relay: 'ch', log_index: expect.any(Number) as unknown }]);
    expect(b.receipts.map((r) => r.relay).sort()).toEqual(['ch', 'om', 'qa']);
    expect(b.failures).toEqual([]);
    flashOne = a.id;
    flashAll = b.id;
  }, 30_000);

  it('the other desk syncs, and shows three identical copies with the attribution', async () => {
    const s = await runCli(['sync', '--home', ir.home, '--json'], { env: PASSPHRASES });
    ok(s);
    const report = jsonOut(s) as { delivered: number; relays: { relay: string; ok: boolean }[]; alerts: number[] };
    expect(report.delivered).toBe(2);
    expect(report.relays.every((r) => r.ok)).toBe(true);
    expect(report.alerts).toEqual([]);

    const [show, inbox, single] = await Promise.all([
      runCli(['show', flashAll, '--home', ir.home, '--json'], { env: PASSPHRASES }),
      runCli(['inbox', '--home', ir.home, '--json'], { env: PASSPHRASES }),
      runCli(['show', flashOne.slice(0, 8), '--home', ir.home], { env: PASSPHRASES }),
    ]);
    ok(show);
    const note = jsonOut(show) as { id: string; from: string; to: string; precedence: string; subject: string; body: string; attribution: { level: string; party: string }; copies: { relay: string; received_at: number; digest: string; valid: boolean }[]; consistent: boolean };
    expect(note).toMatchObject({ id: flashAll, from: 'us', to: 'ir', precedence: 'FLASH', subject: 'Retaliation', body: 'Retaliation has concluded.\n', consistent: true });
    expect(note.attribution).toMatchObject({ party: 'us', level: 'institutional' });
    expect(note.copies.map((c) => c.relay).sort()).toEqual(['ch', 'om', 'qa']);
    expect(new Set(note.copies.map((c) => c.digest)).size).toBe(1);
    for (const c of note.copies) expect(c).toMatchObject({ valid: true, received_at: expect.any(Number) as unknown });

    ok(inbox);
    const ids = (jsonOut(inbox) as { notes: { id: string; direction: string }[] }).notes.filter((n) => n.direction === 'in').map((n) => n.id);
    expect(ids.sort()).toEqual([flashOne, flashAll].sort());

    ok(single); // a prefix names the note; human output is an aligned page
    expect(single.stdout).toContain('Do not escalate.');
    expect(single.stdout).toMatch(/Copies \(consistent\):\nRELAY +RECEIVED +VALID +DIGEST\nch +/);
  }, 40_000);

  it('the sender learns of delivery and acknowledgement; verify checks every receipt', async () => {
    ok(await runCli(['sync', '--home', us.home, '--json'], { env: PASSPHRASES }));
    const [v, show] = await Promise.all([runCli(['verify', '--home', us.home, '--json'], { env: PASSPHRASES }), runCli(['show', flashAll, '--home', us.home, '--json'], { env: PASSPHRASES })]);
    ok(v);
    const report = jsonOut(v) as { ok: boolean; relays: { relay: string; ok: boolean; problems: string[] }[] };
    expect(report.ok).toBe(true);
    expect(report.relays.map((r) => [r.relay, r.ok, r.problems])).toEqual([
      ['ch', true, []],
      ['om', true, []],
      ['qa', true, []],
    ]);
    ok(show);
    const note = jsonOut(show) as { channels: { relay: string; delivered_at: number | null; log_index: number | null }[] };
    expect(note.channels.map((c) => c.relay).sort()).toEqual(['ch', 'om', 'qa']);
    for (const c of note.channels) expect(c.delivered_at).not.toBeNull();
  }, 40_000);

  it('refuses bad flags (2), an unknown party (1) and a wrong passphrase (1), with one clear sentence', async () => {
    const cases: [string[], number, string][] = [
      [['send', '--to', 'ir', '--precedence', 'URGENT', '--subject', 's', '--body', 'b', '--home', us.home, '--json'], 2, 'usage'],
      [['send', '--to', 'ir', '--precedence', 'FLASH', '--subject', 's', '--home', us.home, '--json'], 2, 'body_required'],
      [['send', '--to', 'ir', '--precedence', 'FLASH', '--subject', 's', '--body', 'b', '--body-file', 'x', '--home', us.home, '--json'], 2, 'usage'],
      [['send', '--to', 'ir', '--precedence', 'FLASH', '--subject', 's', '--body', 'b', '--via', 'CH!', '--home', us.home, '--json'], 2, 'usage'],
      [['show', 'xyz', '--home', us.home, '--json'], 2, 'usage'],
      [['inbox', '--limit', '0', '--home', us.home, '--json'], 2, 'usage'],
      [['alerts', '--kind', 'nonsense', '--home', us.home, '--json'], 2, 'usage'],
    ];
    for (const [args, code, err] of cases) {
      const r = await runInProcess(args, PASSPHRASES);
      expect(r.code, args.join(' ')).toBe(code);
      expect(jsonError(r).code, args.join(' ')).toBe(err);
    }
    const unknown = await runCli(['send', '--to', 'fr', '--precedence', 'ROUTINE', '--subject', 's', '--body', 'b', '--home', us.home], { env: PASSPHRASES });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^backchannel: Party fr is not pinned at this station: pin its card with 'backchannel trust CARD\.json --home [^']+', and nothing was sent\.\n$/);
    const wrong = await runCli(['inbox', '--home', us.home, '--json'], { env: { BACKCHANNEL_PASSPHRASE: 'not the passphrase' } });
    expect(wrong.code).toBe(1);
    expect(jsonError(wrong).code).toBe('passphrase_wrong');
    const unknownRelay = await runInProcess(['send', '--to', 'ir', '--precedence', 'FLASH', '--subject', 's', '--body', 'b', '--via', 'xx', '--home', us.home, '--json'], PASSPHRASES);
    expect(unknownRelay.code).toBe(1);
    expect(jsonError(unknownRelay).code).toBe('unknown_relay');
  }, 40_000);

  it('serve runs the station daemon: a note pushed by the relays arrives without a sync, and SIGTERM stops it cleanly', async () => {
    const daemon = spawnCli(['serve', '--home', ir.home, '--heartbeat', '0', '--json'], await cliEnv(PASSPHRASES));
    let out = '';
    let err = '';
    daemon.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    daemon.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    daemon.stdin.end();
    type Event = { event: string; relay?: string; id?: string; outcome?: string };
    const events = (): Event[] => err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
    // Each wait is for the very condition asserted after it, never for a first sign of it: the
    // three relays push their copies independently, and the daemon's log lines reach this
    // process through a pipe that is read apart from the hand-over clients' exits.
    const until = async (what: string, done: () => boolean): Promise<void> => {
      for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 100));
      if (!done()) throw new Error(`the daemon never reached: ${what}\n${err}`);
    };
    try {
      await until('serving', () => out.includes('serving'));
      expect(JSON.parse(out)).toEqual({ serving: { party: 'ir', station: 'desk-1', relays: ['ch', 'om', 'qa'] } });
      // Only the daemon and the hand-over clients need processes of their own; the rest runs here.
      const sent = await runInProcess(['send', '--to', 'ir', '--precedence', 'FLASH', '--subject', 'Pushed', '--body', 'By push.', '--home', us.home, '--json'], PASSPHRASES);
      ok(sent);
      const id = (jsonOut(sent) as { id: string }).id;
      const pushedFrom = (): string[] => [...new Set(events().filter((e) => e.event === 'received' && e.id === id).map((e) => e.relay ?? '?'))].sort();
      await until(`a copy of ${id} from every relay`, () => pushedFrom().length === 3);
      expect(pushedFrom()).toEqual(['ch', 'om', 'qa']);
      const show = await runInProcess(['show', id, '--home', ir.home, '--json'], PASSPHRASES);
      ok(show);
      expect(jsonOut(show)).toMatchObject({ id, consistent: true, body: 'By push.' });

      // sync beside the daemon hands over to it (station.sock, 0600): two at once acknowledge nothing twice.
      expect((await stat(join(ir.home, 'station.sock'))).mode & 0o777).toBe(0o600);
      const another = await runInProcess(['send', '--to', 'ir', '--precedence', 'ROUTINE', '--subject', 'Beside', '--body', 'While the daemon runs.', '--home', us.home, '--json'], PASSPHRASES);
      ok(another);
      const syncs = await Promise.all([0, 1].map(() => runCli(['sync', '--home', ir.home, '--json'], { env: PASSPHRASES })));
      const anotherId = (jsonOut(another) as { id: string }).id;
      type Report = { relays: { acknowledged: number }[]; received: { id: string | null; outcome: string }[] };
      const reports = syncs.map((r) => {
        ok(r);
        return jsonOut(r) as unknown as Report;
      });
      // The copy reaches the daemon by push or through one of the handed-over syncs, whichever
      // comes first; the other paths see a redelivery.
      const delivered = (): unknown[] => [...reports.flatMap((r) => r.received), ...events().filter((e) => e.event === 'received')].filter((e) => e.id === anotherId && e.outcome === 'deliver');
      await until(`note ${anotherId} delivered`, () => delivered().length > 0);
      const handovers = (): number => err.split('\n').filter((l) => l.includes('"event":"handover"')).length;
      await until('both hand-overs logged', () => handovers() >= 2);
      expect(delivered()).toHaveLength(1);
      expect(handovers()).toBe(2);
      // Push and hand-over racing for one copy is not a replay (watch.ts).
      const alerts = await runInProcess(['alerts', '--home', ir.home, '--json'], PASSPHRASES);
      ok(alerts);
      expect((jsonOut(alerts) as { alerts: { kind: string }[] }).alerts.filter((a) => a.kind === 'replay')).toEqual([]);
      const second = await runCli(['serve', '--home', ir.home, '--json'], { env: PASSPHRASES });
      expect(second.code).toBe(1);
      expect(jsonError(second).code).toBe('address_in_use');
    } finally {
      daemon.kill('SIGTERM');
    }
    const [code] = (await once(daemon, 'close')) as [number | null];
    expect(code, err).toBe(0);
    expect(existsSync(join(ir.home, 'station.sock'))).toBe(false);
  }, 60_000);

  it('station add enrols a second desk whose notes the peer accepts under the new bundle', async () => {
    const desk2 = join(await tempDir(), 'us-desk-2');
    const add = await runCli(['station', 'add', '--home', us.home, '--new-home', desk2, '--json'], { env: PASSPHRASES });
    ok(add);
    expect(jsonOut(add)).toMatchObject({ party: 'us', station: 'desk-2', seq: 2, fingerprint: us.card.fingerprint, relays: [{ relay: 'ch', ok: true }, { relay: 'om', ok: true }, { relay: 'qa', ok: true }] });
    const ch = relays[0]!;
    for (const [card, fp] of [[ir.cardPath, ir.card.fingerprint], [ch.cardPath, ch.fingerprint]] as const) ok(await runCli(['trust', card, '--home', desk2, '--fingerprint', fp], { env: PASSPHRASES }));
    const sent = await runCli(['send', '--to', 'ir', '--precedence', 'ROUTINE', '--subject', 'Consular', '--body', 'From the second desk.', '--home', desk2, '--json'], { env: PASSPHRASES });
    ok(sent);
    const id = (jsonOut(sent) as { id: string }).id;
    const sync = await runCli(['sync', '--home', ir.home, '--json'], { env: PASSPHRASES });
    ok(sync);
    const show = await runCli(['show', id, '--home', ir.home, '--json'], { env: PASSPHRASES });
    ok(show);
    expect(jsonOut(show)).toMatchObject({ id, from: 'us', body: 'From the second desk.', consistent: true });
    const noRoot = await runInProcess(['station', 'add', '--home', desk2, '--new-home', join(desk2, '..', 'd3'), '--json'], PASSPHRASES);
    expect(noRoot.code).toBe(1);
    expect(jsonError(noRoot).code).toBe('root_required');
  }, 60_000);

  it('refuses a changed party key with an alert and exit 3', async () => {
    const impostor = await createParty({ id: 'ir', name: 'Iran', now: Date.now() });
    const card = partyCardJson(impostor.bundle);
    const path = join(await tempDir(), 'ir-new.card.json');
    await writeFile(path, JSON.stringify(card));
    const r = await runCli(['trust', path, '--home', us.home, '--fingerprint', card.fingerprint, '--json'], { env: PASSPHRASES });
    expect(r.code).toBe(3);
    expect(jsonError(r)).toMatchObject({ code: 'root_mismatch', message: expect.stringContaining('pinned under another root key') as unknown });
    const alerts = await runInProcess(['alerts', '--home', us.home, '--json'], PASSPHRASES);
    ok(alerts);
    const list = (jsonOut(alerts) as { alerts: { kind: string; party: string | null; evidence: Record<string, unknown> }[] }).alerts;
    expect(list).toEqual([expect.objectContaining({ kind: 'key_change', party: 'ir' })]);
    expect(Object.keys(list[0]!.evidence).length).toBeGreaterThan(0);
  }, 30_000);
});
