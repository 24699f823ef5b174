/**
 * Acknowledging copies to the relay that delivered them (DESIGN.md, "Delivery and
 * acknowledgement" 1): the desk signs a copy acknowledgement per copy; the relay answers each
 * with a signed, logged delivery record, which the station verifies and keeps. For an invalid
 * copy that record is the evidence — the relay signed that it handed over those bytes — so the
 * `invalid_copy` alert is raised here, once the record is in (or without it, if the relay
 * would not sign).
 */
import { equalBytes, fromHex, openDeliveryRecord, sha256, signCopyAck, toHex, verifyReceipt, type DeliveryRecord } from '@backchannel/core';
import type { Channel, Desk } from './desk.js';
import { describeFailure, isStationError } from './errors.js';
import { invalidCopyEvidence, receiptEvidence } from './evidence.js';
import type { PendingAck } from './receive-copy.js';
import type { AckRecord } from './relay-wire.js';
import type { CopyRecord, SeenCheckpoint } from './store/types.js';

const BATCH = 500;

/** Acknowledgements signed and stored, not yet sent: one request's worth. */
export interface SignedAcks {
  batch: readonly PendingAck[];
  signed: Uint8Array[];
  now: number;
}

/**
 * Signs an acknowledgement per copy and stores them all before the relay sees any, in one
 * durable commit per request's worth, which also makes durable the copies received without an
 * fsync (receive-copy.ts). Once this returns, the copies may be confirmed to the relay (a fetch
 * past them); the acknowledgements themselves go with `sendCopyAcks`.
 */
export async function signCopyAcks(desk: Desk, ch: Channel, pending: readonly PendingAck[]): Promise<SignedAcks[]> {
  const out: SignedAcks[] = [];
  for (let i = 0; i < pending.length; i += BATCH) out.push(await signBatch(desk, ch, pending.slice(i, i + BATCH)));
  return out;
}

/** Sends signed acknowledgements, one request each, and verifies and keeps what the relay answers. */
export async function sendCopyAcks(desk: Desk, ch: Channel, batches: readonly SignedAcks[]): Promise<{ acknowledged: number; error: unknown }> {
  let acknowledged = 0;
  let error: unknown;
  for (const b of batches) {
    const r = await sendBatch(desk, ch, b);
    acknowledged += r.acknowledged;
    error ??= r.error;
  }
  return { acknowledged, error };
}

async function signBatch(desk: Desk, ch: Channel, batch: readonly PendingAck[]): Promise<SignedAcks> {
  const relay = ch.entry.id;
  const now = desk.clock.now();
  const signed: Uint8Array[] = [];
  await desk.store.transaction(async (tx) => {
    for (const p of batch) {
      const ack = signCopyAck(desk.keys.station.key, { origin: ch.card.origin, party: desk.party, from: p.from, id: fromHex(p.id), digest: p.digest, time: now });
      signed.push(ack);
      await tx.updateCopy(p.from, p.id, relay, p.digest, { copyAck: ack });
    }
  });
  return { batch, signed, now };
}

async function sendBatch(desk: Desk, ch: Channel, s: SignedAcks): Promise<{ acknowledged: number; error: unknown }> {
  const relay = ch.entry.id;
  const { batch, signed, now } = s;
  const records = new Map<string, { record: DeliveryRecord; receipt: string | undefined }>();
  const checkpoints: SeenCheckpoint[] = [];
  const badRecords: { a: AckRecord; f: { code: string; message: string }; what: string }[] = [];
  let error: unknown;
  try {
    let answer: AckRecord[];
    try {
      answer = await ch.api.ack(signed);
    } catch (e) {
      // The relay refuses a whole batch for one acknowledgement it will not answer (a copy it
      // says it never handed over, another digest): acknowledge one at a time, so every other
      // copy still gets its record, and a refused one does not hold the cursor back forever.
      if (!isStationError(e, 'relay_refused')) throw e;
      if (batch.length > 1) {
        let acknowledged = 0;
        for (const p of batch) acknowledged += (await sendBatch(desk, ch, await signBatch(desk, ch, [p]))).acknowledged;
        return { acknowledged, error: undefined };
      }
      answer = [];
    }
    for (const a of answer) {
      // The relay's signature on the record is what binds it to the bytes it handed over; the
      // receipt proves it also logged the record. Keep a signed record even when its receipt
      // fails (a compromised relay cannot log what it forged): that failure is its own alert.
      let d: DeliveryRecord;
      try {
        d = openDeliveryRecord(a.record, ch.card.vkey.publicKey);
        if (d.origin !== ch.card.origin) throw new Error(`delivery record is for log ${d.origin}, not ${ch.card.origin}`);
      } catch (e) {
        badRecords.push({ a, f: describeFailure(e), what: 'a delivery record that does not verify' });
        continue;
      }
      let receipt: string | undefined = a.receipt;
      try {
        const v = verifyReceipt(a.receipt, ch.card.vkey, { type: 'delivery', digest: d.digest, ref: d.hash });
        checkpoints.push({ relay, size: v.checkpoint.size, rootHash: v.checkpoint.rootHash, note: v.checkpointNote, seenAt: now, consistent: false });
      } catch (e) {
        receipt = undefined;
        badRecords.push({ a, f: describeFailure(e), what: 'a signed delivery record whose log receipt does not verify' });
      }
      records.set(key(d.from, toHex(d.id), d.digest), { record: d, receipt });
    }
  } catch (e) {
    error = e;
  }
  // What the relay answered, in one commit: its health, the checkpoints of the records'
  // receipts, and each copy's delivery record. Alerts are raised after it, in the same order.
  // No fsync of its own (the next durable commit carries it): the copies and our signed
  // acknowledgements are durable already; a crash just after it loses at most these records.
  let acknowledged = 0;
  const copies = new Map<PendingAck, CopyRecord | undefined>();
  await desk.store.transaction(async (tx) => {
    await desk.noteContact(relay, error, tx);
    for (const cp of checkpoints) await tx.saveCheckpoint(cp);
    for (const p of batch) {
      const r = records.get(key(p.from, p.id, p.digest));
      if (r !== undefined && equalBytes(r.record.desk, desk.keys.station.key.publicKey)) {
        if (await tx.updateCopy(p.from, p.id, relay, p.digest, { deliveryRecord: r.record.bytes, deliveryReceipt: r.receipt, ackedAt: now })) acknowledged++;
      }
      // Only an invalid copy's alert needs the whole row (its evidence), read after the update.
      if (p.invalid !== undefined) copies.set(p, await tx.getCopy(p.from, p.id, relay, p.digest));
    }
  }, { durable: false });
  for (const b of badRecords) await raiseBadRecord(desk, relay, b.a, b.f, b.what);
  for (const p of batch) {
    const r = records.get(key(p.from, p.id, p.digest));
    const copy = copies.get(p);
    if (p.invalid !== undefined && copy !== undefined) {
      await desk.raise({
        kind: 'invalid_copy',
        relay,
        party: p.from,
        note: { from: p.from, id: p.id },
        message: `relay ${relay} delivered a copy of ${p.from}'s note ${p.id} that fails our checks (${p.invalid.error.code})`,
        evidence: invalidCopyEvidence(
          {
            relay,
            envelope: copy.envelope ?? new Uint8Array(0),
            token: copy.token,
            receipt: copy.receipt,
            deliveryRecord: r?.record.bytes,
            deliveryReceipt: r?.receipt,
            receivedAt: copy.receivedAt,
          },
          p.invalid.error,
          p.invalid.validDigest,
        ),
        dedupeKey: `invalid_copy/${relay}/${p.from}/${p.id}/${toHex(p.digest)}`,
      });
    }
  }
  return { acknowledged, error };
}

async function raiseBadRecord(desk: Desk, relay: string, a: AckRecord, f: { code: string; message: string }, what: string): Promise<void> {
  await desk.raise({
    kind: 'receipt_invalid',
    relay,
    party: undefined,
    note: undefined,
    message: `relay ${relay} answered an acknowledgement with ${what} (${f.code})`,
    evidence: receiptEvidence({ relay, receipt: a.receipt, record: a.record, digest: new Uint8Array(32), error: f }),
    dedupeKey: `receipt_invalid/delivery/${relay}/${toHex(sha256(a.record))}`,
  });
}

function key(from: string, id: string, digest: Uint8Array): string {
  return `${from}/${id}/${toHex(digest)}`;
}
