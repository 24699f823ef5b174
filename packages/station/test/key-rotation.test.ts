/**
 * The key-rotation timer on an injected clock (DESIGN.md: encryption keys rotate, default 30
 * days; the root signs and may be offline, so the station reminds rather than rotates): a
 * `rotation_due` alert a week before the current key runs out, another once it has, none
 * twice, resolved once a rotation gives a fresh key; and which old keys are to be destroyed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ENCRYPTION_KEY_LIFETIME_MS, newEncryptionKey, signBundle, type EncryptionKeyEntry } from '@backchannel/core';
import { supersededKeys } from '../src/key-rotation.js';
import { keysOf } from './fixtures/parties.js';
import { memoryWorld, T0, type MemoryWorld } from './fixtures/memory-world.js';

const DAY = 86_400_000;
let world: MemoryWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('rotation_due', () => {
  it('the timer raises it a week before the key runs out and again when it has, once each', async () => {
    world = await memoryWorld('rotation-timer');
    const w = world;
    const notAfter = w.us.keys.encryption[0]!.notAfter;
    expect(notAfter).toBe(T0 - 60_000 + ENCRYPTION_KEY_LIFETIME_MS);
    await w.clock.advance(60_000);
    expect(await w.usDesk.alerts({ kind: 'rotation_due' })).toEqual([]);

    // Just before the warning: nothing; the hourly timer crosses it: one alert.
    await w.clock.advance(notAfter - 7 * DAY - w.clock.now() - 1);
    expect(await w.usDesk.alerts({ kind: 'rotation_due' })).toEqual([]);
    await w.clock.advance(3_600_000);
    const due = await w.usDesk.alerts({ kind: 'rotation_due' });
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ party: 'us', relay: undefined, evidence: { suite: 'x25519', state: 'due', not_after: notAfter, bundle_seq: 1 } });
    expect(due[0]!.message).toContain("backchannel rotate");

    // Days of hourly checks later, still one; past the end, a second one says it ran out.
    await w.clock.advance(3 * DAY);
    expect(await w.usDesk.alerts({ kind: 'rotation_due' })).toHaveLength(1);
    await w.clock.advance(notAfter - w.clock.now() + 3_600_000);
    const both = await w.usDesk.alerts({ kind: 'rotation_due' });
    expect(both.map((a) => a.evidence.state)).toEqual(['due', 'expired']);
    expect(both[1]!.message).toContain('peers can no longer seal notes');
    // The other party's desk is not concerned with us's keys: its own key is as old, so it has its own.
    expect((await w.irDesk.alerts({ kind: 'rotation_due' })).every((a) => a.party === 'ir')).toBe(true);
  }, 60_000);

  it('a rotation resolves the reminders; a custom warning applies', async () => {
    world = await memoryWorld('rotation-resolve');
    const w = world;
    const old = w.us.keys.encryption[0]!;
    await w.clock.advance(old.notAfter - w.clock.now() - 2 * DAY);
    // The hourly timer raised it already; a check says so again without raising it twice.
    expect(await w.usDesk.alerts({ open: true, kind: 'rotation_due' })).toHaveLength(1);
    expect(await w.usDesk.checkKeyRotation()).toEqual([expect.objectContaining({ suite: 'x25519', state: 'due', not_after: old.notAfter, alert: undefined })]);
    // A shorter warning finds nothing due yet, and leaves the reminder open.
    expect((await w.usDesk.checkKeyRotation({ warnDays: 1 })).map((r) => r.state)).toEqual(['ok']);
    expect(await w.usDesk.alerts({ open: true, kind: 'rotation_due' })).toHaveLength(1);

    // The root signs a rotation: a new key, the old one kept until the end of a 1-day overlap.
    const now = w.clock.now();
    const fresh = await newEncryptionKey('x25519', now, w.random);
    const b = w.us.keys.bundle;
    const kept: EncryptionKeyEntry = { suite: 'x25519', pub: old.pub, notBefore: old.notBefore, notAfter: now + DAY };
    const next = signBundle(w.us.keys.root, { ...b.bundle, seq: 2, issued: now, prev: b.hash, enc: [kept, { suite: 'x25519', pub: fresh.pub, notBefore: fresh.notBefore, notAfter: fresh.notAfter }] });
    const keys = keysOf(w.us);
    await w.usDesk.reloadKeys({ ...keys, bundle: next, encryption: [...keys.encryption, { suite: 'x25519', pub: fresh.pub, priv: fresh.priv }] });
    expect((await w.usDesk.checkKeyRotation()).map((r) => r.state)).toEqual(['ok']);
    expect(await w.usDesk.alerts({ open: true, kind: 'rotation_due' })).toEqual([]);
    expect(await w.usDesk.alerts({ kind: 'rotation_due' })).toHaveLength(1);

    // Superseded and past its overlap: to be destroyed; the newest key never is.
    expect(supersededKeys(next.bundle, now + DAY - 1)).toEqual([]);
    expect(supersededKeys(next.bundle, now + DAY).map((e) => e.pub)).toEqual([old.pub]);
    expect(supersededKeys(next.bundle, fresh.notAfter + DAY).map((e) => e.pub)).toEqual([old.pub]);
    expect(supersededKeys(b.bundle, old.notAfter + DAY)).toEqual([]);
  }, 60_000);
});
