/**
 * Crash safety under sustained load, end to end (issue 8, scenario 2; DESIGN.md "Testing in
 * CI"). Real stations (the Station library) send notes through a real relay process while the
 * recipient desk syncs; the relay is killed with SIGKILL after a random number of receipts, with
 * commits, fetches and acknowledgements in flight, and restarted on the same database. After
 * each restart:
 *  - every note the sender got a receipt for is in the recipient's inbox (zero lost),
 *  - no note is shown twice (by id or by subject), whatever the relay redelivered,
 *  - the new head is consistent with every checkpoint handed out before (proofs verified),
 * and at the end both stations' own verification (every receipt's inclusion, every checkpoint's
 * consistency) passes. Cycles: 3 per backend in `npm test`, 20 under BACKCHANNEL_LONG=1. These
 * are process crashes (kill -9): the OS keeps what was written, so this is not a power loss.
 */
import { join } from 'node:path';
import { systemRandom } from '@backchannel/core';
import { Station } from '@backchannel/station';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, testDb, type TestDb } from '../../relay/test/helpers/databases.js';
import { keysOf, makeParty, tempDir, type TestParty } from '../../station/test/fixtures/parties.js';
import { CheckpointLedger, crashRelay, type CrashRelay } from '../src/crash/crash-relay.js';
import { checkInbox, drainRecipient, runNoteLoad, type SentNote } from '../src/crash/note-load.js';

const LONG = process.env.BACKCHANNEL_LONG === '1';
const SENDERS = 3;
// A kill must come mid-load; if receipts stop coming for this long, the cycle kills anyway and
// the test fails on the count of mid-load kills rather than hanging.
const GUARD_MS = 90_000;

describe.each(backends())('relay kill -9 under sustained station load, on %s', (backend) => {
  const cycles = LONG ? 20 : 3;
  const tmp = tempDir('bc-crash-load-');
  let db: TestDb;
  let us: TestParty;
  let ir: TestParty;
  let relay: CrashRelay;
  let sender: Station;
  let recipient: Station;

  beforeAll(async () => {
    const now = Date.now() - 60_000;
    us = await makeParty('us', 'United States', now, systemRandom);
    ir = await makeParty('ir', 'Islamic Republic of Iran', now, systemRandom);
    db = await testDb(backend);
    relay = await crashRelay('ch', db.url, [us, ir]);
    // One-shot desks: no deadline timers (no failover to make: there is one channel).
    const policy = { requestTimeoutMs: 5000, sendTimeoutMs: 8000 };
    sender = await Station.open({ path: join(tmp.dir, 'us.db'), keys: keysOf(us), policy, timers: false });
    recipient = await Station.open({ path: join(tmp.dir, 'ir.db'), keys: keysOf(ir), policy, timers: false });
    for (const desk of [sender, recipient]) await desk.addRelay(relay.card);
    await sender.pinParty(JSON.stringify(ir.card), { fingerprint: ir.card.fingerprint });
    await recipient.pinParty(JSON.stringify(us.card), { fingerprint: us.card.fingerprint });
  }, 60_000);

  afterAll(async () => {
    await relay.stop();
    await sender.close();
    await recipient.close();
    await db.drop();
    tmp.remove();
  }, 30_000);

  it(`loses no receipted note and shows none twice over ${cycles} crashes`, { timeout: LONG ? 1_800_000 : 240_000 }, async () => {
    const ledger = new CheckpointLedger(relay.vkey);
    const sent: SentNote[] = [];
    let counter = 0;
    let killedMidLoad = 0;
    let maxUnreceiptedShown = 0;

    const checkAfterRestart = async (): Promise<void> => {
      await ledger.verifyAll(relay.url);
      await drainRecipient(recipient);
      const c = await checkInbox(recipient, 'us', sent);
      expect(c.lost).toEqual([]);
      expect(c.duplicates).toEqual([]);
      maxUnreceiptedShown = Math.max(maxUnreceiptedShown, c.unreceiptedShown);
    };

    for (let cycle = 0; cycle < cycles; cycle++) {
      await relay.start();
      await checkAfterRestart();
      const killAt = 3 + Math.floor(Math.random() * 30);
      let stop!: () => void;
      const stopped = new Promise<void>((r) => (stop = r));
      let killing: Promise<void> | undefined;
      const kill = (): void => {
        killing ??= relay.kill9().then(stop);
      };
      const guard = setTimeout(kill, GUARD_MS);
      const round = await runNoteLoad(
        {
          sender,
          recipient,
          to: 'ir',
          relay: relay.id,
          url: relay.url,
          ledger,
          senders: SENDERS,
          label: () => `crash-${backend}-${cycle}-${counter++}`,
          onReceipt: (n) => {
            if (n === killAt) {
              killedMidLoad++;
              kill();
            }
          },
        },
        stopped,
      );
      clearTimeout(guard);
      await killing;
      expect(round.errors).toEqual([]);
      sent.push(...round.sent);
    }
    await relay.start();
    await checkAfterRestart();

    // The stations' own verification: every receipt included under the head, every checkpoint consistent.
    const v = await sender.verify();
    expect(v.relays.map((r) => r.problems)).toEqual([[]]);
    expect(v.ok).toBe(true);
    const vr = await recipient.verify();
    expect(vr.ok).toBe(true);

    const receipted = sent.filter((s) => s.receipted).length;
    expect(killedMidLoad).toBe(cycles);
    expect(receipted).toBeGreaterThanOrEqual(cycles * 3);
    console.info(
      `crash (${backend}): ${cycles} kill -9 cycles under load; ${sent.length} notes sent, ${receipted} receipted, 0 lost, 0 shown twice; ` +
        `${maxUnreceiptedShown} unreceipted notes shown (committed, answer lost); ${ledger.size} checkpoints consistent; ` +
        `sender verified ${v.relays[0]?.receipts ?? 0} receipts`,
    );
  });
});
