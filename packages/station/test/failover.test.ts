/**
 * Failover exactly as DESIGN.md sets it, on an injected clock (no real waiting): at once when a
 * submission fails; for FLASH when no receipt came within one second; otherwise when no
 * delivery record came by half the deadline. The same sealed bytes every time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memoryWorld, eventually, type MemoryWorld } from './fixtures/memory-world.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('failover', () => {
  it('at once when a submission fails: the next channel, the same bytes', async () => {
    w = await memoryWorld('fail-at-once');
    w.relays.ch.faults.down = true;
    const r = await w.usDesk.send({ to: 'ir', precedence: 'PRIORITY', subject: 'Talks', body: 'Geneva, Tuesday.' });
    expect(r.failures).toMatchObject([{ relay: 'ch', code: 'relay_unreachable' }]);
    expect(r.failover).toEqual([{ relay: 'om', reason: 'submission to ch failed (relay_unreachable)' }]);
    expect(r.receipts.map((x) => x.relay)).toEqual(['om']);
    expect(w.relays.qa.submissions).toEqual([]);
    await w.irDesk.sync();
    const n = await w.irDesk.show(r.id);
    expect(n.digest).toBe(r.digest);
    expect(n.copies.map((c) => c.relay)).toEqual(['om']);
  });

  it('FLASH takes every remaining channel when its channel fails', async () => {
    w = await memoryWorld('flash-fail');
    w.relays.ch.faults.down = true;
    const r = await w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Stand down', body: 'Now.', via: ['ch'] });
    expect(r.failover.map((f) => f.relay)).toEqual(['om', 'qa']);
    expect(r.receipts.map((x) => x.relay).sort()).toEqual(['om', 'qa']);
  });

  it('FLASH with no receipt within one second fails over, and the slow relay still counts when it answers', async () => {
    w = await memoryWorld('flash-slow');
    w.relays.ch.faults.stall = true;
    // The desks' own timers are already set; the submission adds two (its FLASH receipt timer
    // and the send's timeout).
    const before = w.clock.pending;
    const pending = w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'Stand down', body: 'Now.', via: ['ch'] });
    // Sealing and storing are real work (the commit waits for an fsync on the thread pool);
    // wait until the submission is out.
    await eventually(() => w!.clock.pending >= before + 2);
    await w.clock.advance(999);
    expect(w.relays.om.submissions).toEqual([]);
    await w.clock.advance(1);
    await eventually(() => w!.relays.om.submissions.length === 1 && w!.relays.qa.submissions.length === 1);
    await w.clock.advance(w.usDesk.policy.sendTimeoutMs);
    const r = await pending;
    expect(r.failover).toEqual([
      { relay: 'om', reason: 'no receipt from ch within 1000 ms' },
      { relay: 'qa', reason: 'no receipt from ch within 1000 ms' },
    ]);
    expect(r.receipts.map((x) => x.relay).sort()).toEqual(['om', 'qa']);
    expect(r.pending).toEqual(['ch']);
    w.relays.ch.faults.stall = false;
    w.relays.ch.release();
    await eventually(async () => (await w!.usDesk.show(r.id)).channels.find((c) => c.relay === 'ch')?.log_index !== null);
  });

  it('no delivery record by half the deadline: the next channel', async () => {
    w = await memoryWorld('half-deadline');
    const r = await w.usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'Consular', body: 'Visas.' });
    expect(r.receipts.map((x) => x.relay)).toEqual(['ch']);
    await w.clock.advance(3 * 3_600_000 - 1);
    expect(w.relays.om.submissions).toEqual([]);
    await w.clock.advance(1);
    await eventually(() => w!.relays.om.submissions.length === 1);
    const sent = await w.usDesk.show(r.id);
    await eventually(async () => (await w!.usDesk.show(r.id)).channels.some((c) => c.relay === 'om' && c.log_index !== null));
    expect(sent.channels.find((c) => c.relay === 'om')).toMatchObject({ role: 'failover', reason: 'no delivery record by half the deadline' });
    // The recipient gets both copies, identical.
    await w.irDesk.sync();
    const n = await w.irDesk.show(r.id);
    expect(n.copies.map((c) => c.relay).sort()).toEqual(['ch', 'om']);
    expect(n.consistent).toBe(true);
    // Delivered on both: nothing to report at the deadline.
    await w.usDesk.sync();
    await w.clock.advance(3 * 3_600_000);
    await w.usDesk.checkDeadlines();
    expect(await w.usDesk.alerts()).toEqual([]);
  });

  it('a note delivered by half its deadline does not fail over', async () => {
    w = await memoryWorld('delivered-in-time');
    const r = await w.usDesk.send({ to: 'ir', precedence: 'IMMEDIATE', subject: 'Talks', body: 'Agreed.' });
    expect(r.receipts.map((x) => x.relay)).toEqual(['ch', 'om']);
    await w.irDesk.sync();
    await w.clock.advance(15 * 60_000);
    const report = await w.usDesk.checkDeadlines();
    expect(report.failovers).toEqual([]);
    expect(w.relays.qa.submissions).toEqual([]);
  });

  it('failover none: a failed submission is reported and nothing else is tried', async () => {
    w = await memoryWorld('failover-none');
    w.relays.ch.faults.down = true;
    const r = await w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'x', body: 'y', via: ['ch'], failover: 'none' });
    expect(r.receipts).toEqual([]);
    expect(r.failover).toEqual([]);
    expect(r.failures.map((f) => f.relay)).toEqual(['ch']);
    expect((await w.usDesk.show(r.id)).status).toBe('failed');
  });

  it('an explicit failover list is followed in its order', async () => {
    w = await memoryWorld('failover-list');
    w.relays.ch.faults.down = true;
    const r = await w.usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: 'x', body: 'y', failover: ['qa', 'om'] });
    expect(r.failover.map((f) => f.relay)).toEqual(['qa']);
  });

  it('timeScale shrinks the objectives, and the timers follow', async () => {
    w = await memoryWorld('time-scale', { timeScale: 0.001 });
    const r = await w.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: 'x', body: 'y', via: ['ch'], failover: 'none' });
    expect(r.deadline - w.clock.now()).toBe(300);
    await w.clock.advance(300);
    await eventually(async () => (await w!.usDesk.alerts({ kind: 'deadline_missed' })).length === 1);
  });

  it('a deadline timer survives a restart: the reopened station arms it from the store', async () => {
    w = await memoryWorld('restart');
    const r = await w.usDesk.send({ to: 'ir', precedence: 'PRIORITY', subject: 'x', body: 'y' });
    await w.usDesk.close();
    const again = await w.open(w.us, 'us.db');
    await w.clock.advance(90 * 60_000);
    await eventually(() => w!.relays.om.submissions.includes(r.id));
    expect((await again.show(r.id)).channels.map((c) => c.relay)).toEqual(['ch', 'om']);
  });
});
