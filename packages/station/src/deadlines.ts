/**
 * Deadlines of sent notes (DESIGN.md, "The station daemon and failover"; issue 4, "Tracking and
 * failover"). For each note still tracked:
 *
 *  - by half its deadline, with no delivery record on any channel, it fails over (once) to its
 *    next candidates, the same sealed bytes;
 *  - at its deadline, every channel that gave a receipt but no delivery is a `drop` (the receipt
 *    is the evidence), and a note no channel delivered is a `deadline_missed` alert; tracking
 *    then stops.
 *
 * Idempotent and driven by the stored state, so the daemon's timers, a `sync`, and a restarted
 * process all reach the same decisions. Times come from the injected clock.
 */
import type { Desk } from './desk.js';
import { dropEvidence } from './evidence.js';
import { Submission } from './submission.js';
import type { OutgoingChannel } from './store/types.js';

export interface DeadlineReport {
  failovers: { id: string; relays: string[]; reason: string }[];
  drops: { id: string; relay: string }[];
  missed: string[];
}

export const HALF_DEADLINE_REASON = 'no delivery record by half the deadline';

/**
 * @param refresh fetches delivery records from these relays before a decision, so a channel
 *   that delivered since the last sync is not failed over or called a drop.
 */
export async function checkDeadlines(desk: Desk, refresh?: (relays: string[]) => Promise<void>): Promise<DeadlineReport> {
  const report: DeadlineReport = { failovers: [], drops: [], missed: [] };
  const notes = await desk.store.listOutgoing({ open: true, kinds: ['note'] });
  for (const listed of notes) {
    const now = desk.clock.now();
    const half = listed.created + Math.floor((listed.deadline - listed.created) / 2);
    if (now < half) continue;
    let channels = await desk.store.listChannels(listed.id);
    if (!channels.some(isDelivered) && refresh !== undefined) {
      await refresh(channels.filter((c) => c.receipt !== undefined).map((c) => c.relay));
      channels = await desk.store.listChannels(listed.id);
    }
    const note = (await desk.store.getOutgoing(listed.id)) ?? listed;
    let delivered = channels.filter(isDelivered);
    if (delivered.length === 0 && note.lateFailoverAt === undefined) {
      await desk.store.updateOutgoing(note.id, { lateFailoverAt: now });
      const s = new Submission(desk, note);
      const started = s.failOver(HALF_DEADLINE_REASON);
      if (started.length > 0) {
        report.failovers.push({ id: note.id, relays: started, reason: HALF_DEADLINE_REASON });
        await s.settle(desk.policy.sendTimeoutMs);
      }
    }
    if (desk.clock.now() < note.deadline) continue;
    // A drop is judged on fresh records: a channel that delivered since this desk last fetched
    // its records (while another channel's record was already in) is no drop.
    const unconfirmed = channels.filter((x) => x.receipt !== undefined && !isDelivered(x)).map((c) => c.relay);
    if (unconfirmed.length > 0 && delivered.length > 0 && refresh !== undefined) {
      await refresh(unconfirmed);
      channels = await desk.store.listChannels(listed.id);
      delivered = channels.filter(isDelivered);
    }
    const deliveredOn = delivered.map((c) => c.relay);
    for (const c of channels.filter((x) => x.receipt !== undefined && !isDelivered(x))) {
      report.drops.push({ id: note.id, relay: c.relay });
      await desk.raise({
        kind: 'drop',
        relay: c.relay,
        party: note.to,
        note: { from: desk.party, id: note.id },
        message: `relay ${c.relay} gave a receipt for ${note.precedence} note ${note.id} but no delivery by its deadline`,
        evidence: dropEvidence({ relay: c.relay, token: c.token, receipt: c.receipt, logIndex: c.logIndex, digest: note.digest, created: note.created, deadline: note.deadline, now: desk.clock.now(), deliveredElsewhere: deliveredOn }),
        dedupeKey: `drop/${c.relay}/${note.id}`,
      });
    }
    if (delivered.length === 0) {
      report.missed.push(note.id);
      await desk.raise({
        kind: 'deadline_missed',
        relay: undefined,
        party: note.to,
        note: { from: desk.party, id: note.id },
        message: `${note.precedence} note ${note.id} to ${note.to} was not delivered by its deadline on any channel`,
        evidence: { id: note.id, to: note.to, precedence: note.precedence, created: note.created, deadline: note.deadline, channels: channels.map((c) => c.relay) },
        dedupeKey: `deadline_missed/${note.id}`,
      });
    }
    await desk.store.updateOutgoing(note.id, { closedAt: desk.clock.now() });
  }
  return report;
}

function isDelivered(c: OutgoingChannel): boolean {
  return c.deliveredAt !== undefined;
}
