/**
 * A station killed mid-sync (issue 8, scenario 2): thousands of notes queued at a relay for a
 * desk, whose `backchannel sync` (a real CLI process on a party home) is killed with SIGKILL in
 * the middle of its work — mid-fetch, or in the acknowledgement phases — and started again,
 * over and over, until a sync finishes. Afterwards:
 *  - the desk's inbox shows every note exactly once (by id and by subject): nothing lost,
 *    nothing shown twice, however many times a copy was fetched again;
 *  - the relay holds one delivery record per note and desk (a copy acknowledged twice is
 *    answered with the first record, not logged again);
 *  - the sender sees every note acknowledged end to end and no alert: repeated
 *    acknowledgements did no harm.
 * Notes: 100 and at least 2 kills in `npm test`; 2,000 and at least 10 kills under
 * BACKCHANNEL_LONG=1. Process crashes, not power losses.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { systemRandom, type PartyCardJson } from '@backchannel/core';
import { Station } from '@backchannel/station';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSPHRASES, cleanupTemp, initPartyHome, jsonOut, mapLimit, runCli, tempDir } from '../../cli/test/helpers/cli.js';
import { startTestRelay, stopTestRelays } from '../../cli/test/helpers/relays.js';
import { keysOf, makeParty, type TestParty } from '../../station/test/fixtures/parties.js';
import { relayProgress, storedCopies, syncUntil, type SyncRun } from '../src/crash/sync-kills.js';

const LONG = process.env.BACKCHANNEL_LONG === '1';

/** Distinct copies the relay holds a delivery record for (read between sync runs). */
function deliveryRecords(relayDb: string): number {
  const db = new Database(relayDb, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM (SELECT DISTINCT env_index, desk FROM delivery_records)').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
const NOTES = LONG ? 2000 : 100;
const MIN_KILLS = LONG ? 10 : 2;
const MAX_RUNS = LONG ? 80 : 30;

describe('a station killed mid-sync', () => {
  let dir: string;
  let us: TestParty;
  let usDeskRef: Station | undefined;
  let ir: { home: string; card: PartyCardJson };
  let relayDb: string;
  let relayUrl: string;

  beforeAll(async () => {
    process.env.BACKCHANNEL_LOG_LEVEL ??= 'silent';
    dir = await tempDir('bc-sync-kill-');
    us = await makeParty('us', 'United States', Date.now() - 60_000, systemRandom);
    const usCardPath = join(dir, 'us.card.json');
    await writeFile(usCardPath, JSON.stringify(us.card));
    ir = (await initPartyHome('ir', 'Iran')) as unknown as { home: string; card: PartyCardJson };
    const relay = await startTestRelay(dir, 'ch', [us.card, ir.card]);
    relayDb = join(dir, 'ch.db');
    relayUrl = relay.card.url;
    for (const [card, fp] of [
      [usCardPath, us.card.fingerprint],
      [relay.cardPath, relay.fingerprint],
    ] as const) {
      const r = await runCli(['trust', card, '--home', ir.home, '--fingerprint', fp, '--json'], { env: PASSPHRASES, timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
    }
    const usDesk = await Station.open({ path: join(dir, 'us.db'), keys: keysOf(us), timers: false });
    usDeskRef = usDesk;
    await usDesk.addRelay(relay.card);
    await usDesk.pinParty(JSON.stringify(ir.card), { fingerprint: ir.card.fingerprint });
  }, 120_000);

  afterAll(async () => {
    await usDeskRef?.close();
    await stopTestRelays();
    await cleanupTemp();
  }, 60_000);

  it(`shows each of ${NOTES} notes exactly once after repeated kill -9 of sync`, { timeout: LONG ? 3_600_000 : 300_000 }, async () => {
    const usDesk = usDeskRef!;
    // Queue the notes: every one receipted by the relay.
    const subjects: string[] = [];
    const sent: { id: string; receipts: unknown[] }[] = [];
    const queue = async (n: number): Promise<void> => {
      const batch = Array.from({ length: n }, (_, i) => `queued-${subjects.length + i}`);
      subjects.push(...batch);
      sent.push(...(await mapLimit(batch, 6, (subject) => usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject, body: `Body of ${subject}.`, via: ['ch'], failover: 'none' }))));
    };
    const t0 = performance.now();
    await queue(NOTES);
    expect(sent.filter((r) => r.receipts.length === 1)).toHaveLength(NOTES);

    const sendMs = performance.now() - t0;
    const stationDb = join(ir.home, 'station.db');
    const runs: SyncRun[] = [];
    const copiesAtKill: number[] = [];
    const acksAtKill: number[] = [];
    let finished = false;
    while (!finished && runs.length < MAX_RUNS) {
      // Alternately: kill right after the relay handed out the next page of copies (before
      // they are acknowledged), or once it answered a random number of the acknowledgements left.
      const what = copiesAtKill.length % 2 === 0 ? 'delivered' : 'acked';
      const left = Math.max(1, subjects.length - deliveryRecords(relayDb));
      const step = what === 'delivered' ? 1 : 1 + Math.floor(Math.random() * left);
      const kill = copiesAtKill.length < MIN_KILLS ? { what, at: (await relayProgress(relayUrl, what)) + step } as const : undefined;
      const run = await syncUntil(ir.home, relayUrl, kill);
      runs.push(run);
      if (run.killed) {
        copiesAtKill.push(storedCopies(stationDb));
        acksAtKill.push(deliveryRecords(relayDb));
      }
      else {
        expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
        // Finished before the kill point: queue more, so every kill still lands mid-sync.
        if (copiesAtKill.length < MIN_KILLS) await queue(50);
        else finished = true;
      }
    }
    expect(sent.filter((r) => r.receipts.length !== 1)).toEqual([]);
    const kills = runs.filter((r) => r.killed).length;
    const syncMs = performance.now() - t0 - sendMs;
    expect(finished).toBe(true);
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);

    // Once more: nothing left to fetch.
    const last = await runCli(['sync', '--home', ir.home, '--json'], { env: PASSPHRASES, timeoutMs: 300_000 });
    expect(last.code, last.stderr).toBe(0);
    const lastReport = jsonOut(last) as { relays: { fetched: number; ok: boolean }[] };
    expect(lastReport.relays).toEqual([expect.objectContaining({ ok: true, fetched: 0 })]);

    // The inbox: every note exactly once.
    const inbox = await runCli(['inbox', '--home', ir.home, '--limit', '999999', '--json'], { env: PASSPHRASES, timeoutMs: 300_000 });
    expect(inbox.code, inbox.stderr).toBe(0);
    const notes = (jsonOut(inbox) as { notes: { id: string; subject: string; direction: string; from: string }[] }).notes.filter((n) => n.direction === 'in' && n.from === 'us');
    const ids = new Set(notes.map((n) => n.id));
    const shown = new Set(notes.map((n) => n.subject));
    expect(notes).toHaveLength(subjects.length);
    expect(ids.size).toBe(subjects.length);
    expect([...shown].sort()).toEqual([...subjects].sort());
    expect(new Set(sent.map((r) => r.id))).toEqual(ids);

    // The relay: one delivery record per note and desk, and one for every note.
    const db = new Database(relayDb, { readonly: true, fileMustExist: true });
    let doubled: unknown[];
    let recorded: number;
    try {
      doubled = db.prepare('SELECT env_index, COUNT(*) AS n FROM delivery_records GROUP BY env_index, desk HAVING COUNT(*) > 1').all();
      recorded = (db.prepare("SELECT COUNT(DISTINCT d.env_index) AS n FROM delivery_records d JOIN envelopes e ON e.leaf_index = d.env_index WHERE e.from_party = 'us'").get() as { n: number }).n;
    } finally {
      db.close();
    }
    expect(doubled).toEqual([]);
    expect(recorded).toBe(subjects.length);

    // The sender: every note acknowledged end to end, no alert from repeated acknowledgements.
    await usDesk.sync();
    const out = (await usDesk.inbox({ limit: 1_000_000 })).filter((n) => n.direction === 'out');
    expect(out.filter((n) => n.status !== 'acknowledged' && n.status !== 'read').map((n) => `${n.subject}: ${n.status}`)).toEqual([]);
    expect(await usDesk.alerts()).toEqual([]);
    console.info(
      `station kill -9 mid-sync: ${subjects.length} notes queued, ${kills} kills over ${runs.length} sync runs (at each kill, copies held by the desk / acknowledged at the relay: ${copiesAtKill.map((c, i) => `${c}/${acksAtKill[i] ?? 0}`).join(', ')}); ` +
        `${notes.length} shown, 0 lost, 0 twice; 0 doubled delivery records; all acknowledged end to end, 0 alerts ` +
        `(queueing took ${(sendMs / 1000).toFixed(0)} s, the killed and final syncs ${(syncMs / 1000).toFixed(0)} s)`,
    );
  });
});
