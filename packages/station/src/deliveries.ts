/**
 * Delivery records of the notes this desk sent (docs/relay-api.md `POST /v1/deliveries`): each
 * is verified (the relay's signature and its logged `delivery` leaf) before it marks a channel
 * delivered. A record for bytes other than the ones we sent binds the relay to having handed
 * over something else: an `invalid_copy` alert. A record later than the precedence objective is
 * a `delay` alert, with the record as evidence.
 */
import { equalBytes, openDeliveryRecord, toHex, verifyReceipt, type DeliveryRecord } from '@backchannel/core';
import type { Channel, Desk } from './desk.js';
import { describeFailure } from './errors.js';
import { delayEvidence, receiptEvidence } from './evidence.js';
import { objectiveMs } from './policy.js';

const PAGE = 500;
const MAX_PAGES = 100;

export async function pullDeliveries(desk: Desk, ch: Channel): Promise<number> {
  const relay = ch.entry.id;
  let after = await desk.store.getCursor(relay, 'deliveries');
  let count = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const p = await ch.api.deliveries(after, PAGE);
    await desk.noteContact(relay);
    for (const item of p.items) {
      if (await recordDelivery(desk, ch, item.record, item.receipt)) count++;
    }
    after = p.next;
    await desk.store.setCursor(relay, 'deliveries', after);
    if (!p.more || p.items.length === 0) break;
  }
  return count;
}

/** Verifies one delivery record and applies it; true when it marked one of our channels delivered. */
export async function recordDelivery(desk: Desk, ch: Channel, recordBytes: Uint8Array, receipt: string): Promise<boolean> {
  const relay = ch.entry.id;
  const now = desk.clock.now();
  let d: DeliveryRecord;
  try {
    d = openDeliveryRecord(recordBytes, ch.card.vkey.publicKey);
    if (d.origin !== ch.card.origin) throw new Error(`delivery record is for log ${d.origin}, not ${ch.card.origin}`);
    const v = verifyReceipt(receipt, ch.card.vkey, { type: 'delivery', digest: d.digest, ref: d.hash });
    await desk.store.saveCheckpoint({ relay, size: v.checkpoint.size, rootHash: v.checkpoint.rootHash, note: v.checkpointNote, seenAt: now, consistent: false });
  } catch (e) {
    const f = describeFailure(e);
    await desk.raise({
      kind: 'receipt_invalid',
      relay,
      party: undefined,
      note: undefined,
      message: `relay ${relay} sent a delivery record that does not verify (${f.code})`,
      evidence: receiptEvidence({ relay, receipt, record: recordBytes, digest: new Uint8Array(32), error: f }),
      dedupeKey: `receipt_invalid/delivery/${relay}/${toHex(recordBytes.subarray(0, 64))}`,
    });
    return false;
  }
  if (d.from !== desk.party) return false;
  const note = await desk.store.getOutgoing(toHex(d.id));
  if (note === undefined) return false; // sent from another desk of our party
  if (!equalBytes(d.digest, note.digest)) {
    await desk.raise({
      kind: 'invalid_copy',
      relay,
      party: note.to,
      note: { from: desk.party, id: note.id },
      message: `relay ${relay} signed that it delivered other bytes than we sent for note ${note.id}`,
      evidence: { relay, delivery_record: Buffer.from(d.bytes).toString('base64'), delivery_receipt: receipt, sent_digest: toHex(note.digest), delivered_digest: toHex(d.digest) },
      dedupeKey: `invalid_copy/delivered/${relay}/${note.id}/${toHex(d.digest)}`,
    });
    return false;
  }
  const channel = await desk.store.getChannel(note.id, relay);
  if (channel === undefined || channel.deliveredAt !== undefined) return false;
  await desk.store.saveChannel({ ...channel, deliveredAt: d.delivered, deliveryRecord: d.bytes, deliveryReceipt: receipt });
  await desk.store.updateRelayHealth(relay, { lagMs: Math.max(0, d.delivered - d.submitted) });
  const objective = objectiveMs(desk.policy, note.precedence);
  // The record's own times: what the relay signed, so the evidence stands without our clock.
  if (d.delivered - d.submitted > objective) {
    await desk.raise({
      kind: 'delay',
      relay,
      party: note.to,
      note: { from: desk.party, id: note.id },
      message: `relay ${relay} delivered ${note.precedence} note ${note.id} ${Math.round((d.delivered - d.submitted) / 1000)} s after it was submitted, beyond the ${Math.round(objective / 1000)} s objective`,
      evidence: delayEvidence({ record: d.bytes, receipt, created: note.created, objectiveMs: objective, delivered: d.delivered, submitted: d.submitted }),
      dedupeKey: `delay/${relay}/${note.id}`,
    });
  }
  return true;
}
