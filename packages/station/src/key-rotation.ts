/**
 * The key-rotation reminder (DESIGN.md, "Identities, rotation, revocation": encryption keys
 * rotate, default 30 days). A rotation signs a new bundle, and the root key that signs it is
 * meant to stay offline, so the daemon cannot rotate by itself: it raises a `rotation_due`
 * alert when the party's current encryption key of a suite is within `warnDays` of its end of
 * validity, and a second one when it has run out (peers then cannot seal to the party at all).
 * Both name the key, so the next key's turn raises them afresh; once a rotation gave the suite
 * a fresh key, the open reminders are resolved.
 *
 * Which private keys to destroy is the home's business (the CLI's key files); `supersededKeys`
 * says which ones the bundle has replaced and whose overlap has passed.
 */
import { encryptionKeyId, findRevocation, toHex, type EncryptionKeyEntry, type KeyBundle, type SuiteName } from '@backchannel/core';
import type { Desk } from './desk.js';

const DAY_MS = 86_400_000;
/** Default warning: a week before the key runs out (the overlap a rotation gives is 30 days). */
export const DEFAULT_ROTATION_WARN_DAYS = 7;

export interface RotationCheck {
  suite: SuiteName;
  /** Key id (hex of SHA-256(pub)[0..8]) of the newest key of the suite; null when there is none. */
  kid: string | null;
  not_after: number | null;
  state: 'ok' | 'due' | 'expired';
  /** The id of the alert raised now (undefined when nothing new was raised). */
  alert: number | undefined;
}

function newestKey(b: KeyBundle, suite: SuiteName): EncryptionKeyEntry | undefined {
  return b.enc
    .filter((e) => e.suite === suite && findRevocation(b, e.pub) === undefined)
    .sort((x, y) => y.notBefore - x.notBefore || y.notAfter - x.notAfter)[0];
}

/**
 * Checks every suite the party accepts against the desk's clock and raises what is due (once
 * per key and state). `warnDays` ≥ 0.
 */
export async function checkKeyRotation(desk: Desk, warnDays: number = DEFAULT_ROTATION_WARN_DAYS): Promise<RotationCheck[]> {
  const now = desk.clock.now();
  const b = desk.keys.bundle.bundle;
  const out: RotationCheck[] = [];
  for (const suite of b.suites) {
    const k = newestKey(b, suite);
    const kid = k === undefined ? null : toHex(encryptionKeyId(k.pub));
    const notAfter = k?.notAfter ?? null;
    const state: RotationCheck['state'] = notAfter === null || notAfter <= now ? 'expired' : notAfter - now <= warnDays * DAY_MS ? 'due' : 'ok';
    let alert: number | undefined;
    if (state === 'ok') {
      await resolveReminders(desk, suite, kid, now);
    } else {
      const until = notAfter === null ? 'it has no encryption key' : `its ${suite} encryption key ${state === 'expired' ? 'ran out' : 'runs out'} at ${new Date(notAfter).toISOString()}`;
      alert = await desk.raise({
        kind: 'rotation_due',
        relay: undefined,
        party: b.party,
        note: undefined,
        message: `party ${b.party} must rotate its encryption keys: ${until}${state === 'expired' ? ', so peers can no longer seal notes to it' : ''}; run 'backchannel rotate' where the root key is`,
        evidence: { suite, kid, not_after: notAfter, bundle_seq: b.seq, state, checked_at: now, warn_days: warnDays },
        dedupeKey: `rotation_due/${suite}/${kid ?? 'none'}/${state}`,
      });
    }
    out.push({ suite, kid, not_after: notAfter, state, alert });
  }
  return out;
}

/** A fresh key of the suite is in force: the reminders about the keys before it are done with. */
async function resolveReminders(desk: Desk, suite: SuiteName, kid: string | null, now: number): Promise<void> {
  for (const a of await desk.store.listAlerts({ open: true, kind: 'rotation_due' })) {
    if (a.evidence.suite === suite && a.evidence.kid !== kid) await desk.store.resolveAlert(a.id, now);
  }
}

/**
 * Encryption keys the bundle has superseded (a newer key of the same suite exists) and whose
 * validity, cut to the end of the overlap by `rotate`, has passed at `now`: their private keys
 * are to be destroyed. The newest key of a suite is never listed, even when it ran out (notes
 * sealed to it before then must still open until a rotation replaces it).
 */
export function supersededKeys(b: KeyBundle, now: number): EncryptionKeyEntry[] {
  return b.enc.filter((e) => e.notAfter <= now && b.enc.some((n) => n.suite === e.suite && n.notBefore > e.notBefore));
}
