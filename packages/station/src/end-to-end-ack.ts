/**
 * The party-level end-to-end acknowledgement (DESIGN.md, "Delivery and acknowledgement" 2): one
 * sealed `ack` envelope per sender party and batch, listing (id, digest, per-channel arrival) for
 * the notes received, sent back through every channel those notes arrived on. It is never itself
 * acknowledged, and has no failover: each channel it takes is the answer for that channel.
 */
import { PRECEDENCES, equalBytes, fromHex, type AckEntry, type Precedence } from '@backchannel/core';
import type { Desk } from './desk.js';
import { dispatch, sealAndStore } from './send.js';
import type { AckPending } from './store/types.js';

/** Entries per acknowledgement envelope (the content allows 10,000; this keeps envelopes small). */
const MAX_ENTRIES = 1000;

export interface AckSent {
  id: string;
  to: string;
  notes: string[];
  via: string[];
  receipts: { relay: string; log_index: number }[];
  failures: { relay: string; code: string; message: string }[];
}

export async function sendEndToEndAcks(desk: Desk): Promise<AckSent[]> {
  const waiting = await desk.store.listAckPending(['note', 'heartbeat'], desk.party);
  const bySender = new Map<string, AckPending[]>();
  for (const n of waiting) {
    const list = bySender.get(n.from);
    if (list === undefined) bySender.set(n.from, [n]);
    else list.push(n);
  }
  const ranks = new Map((await desk.store.listRelays()).map((r) => [r.id, r.rank]));
  const sent: AckSent[] = [];
  for (const [sender, notes] of bySender) {
    for (let i = 0; i < notes.length; i += MAX_ENTRIES) {
      const batch = notes.slice(i, i + MAX_ENTRIES);
      const entries: AckEntry[] = [];
      const via = new Set<string>();
      for (const n of batch) {
        const arrivals = (await desk.store.listCopies(n.from, n.id))
          .filter((c) => c.valid && equalBytes(c.digest, n.digest))
          .map((c) => ({ relay: c.relay, at: c.receivedAt }));
        for (const a of arrivals) via.add(a.relay);
        entries.push({ from: n.from, id: fromHex(n.id), digest: n.digest, arrivals });
      }
      // The acknowledgement travels as fast as the most urgent note it answers.
      const precedence: Precedence = PRECEDENCES[Math.min(...batch.map((n) => PRECEDENCES.indexOf(n.precedence)))] ?? 'ROUTINE';
      const channels = [...via].filter((r) => ranks.has(r)).sort((a, b) => (ranks.get(a) ?? 0) - (ranks.get(b) ?? 0));
      if (channels.length === 0) continue;
      const { note, chosen } = await sealAndStore(desk, {
        to: sender,
        precedence,
        content: () => ({ kind: 'ack', acks: entries }),
        replyTo: undefined,
        signer: undefined,
        via: channels,
        failover: 'none',
      });
      const now = desk.clock.now();
      await desk.store.transaction(async (tx) => {
        for (const n of batch) await tx.updateIncoming(n.from, n.id, { ackSentAt: now });
        // Acknowledgements are not tracked against a deadline: nothing answers them.
        await tx.updateOutgoing(note.id, { closedAt: now });
      });
      const s = await dispatch(desk, note, chosen);
      const answers = s.answered;
      sent.push({
        id: note.id,
        to: sender,
        notes: batch.map((n) => n.id),
        via: channels,
        receipts: answers.filter((a) => a.ok).map((a) => ({ relay: a.relay, log_index: a.logIndex ?? 0 })),
        failures: answers.filter((a) => !a.ok).map((a) => ({ relay: a.relay, code: a.code ?? 'internal', message: a.message ?? '' })),
      });
    }
  }
  return sent;
}
