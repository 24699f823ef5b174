/**
 * The evidence each alert carries (DESIGN.md, "Evidence of misbehaviour"), as JSON anyone can
 * re-verify with the cards alone: byte strings in base64, signed notes verbatim.
 *
 *  - invalid copy: the bytes the relay delivered, its token and receipt, and the relay-signed
 *    delivery record that binds the relay to those bytes;
 *  - equivocation: two validly signed envelopes with one (sender, id);
 *  - drop: the receipt (or delivery record) without a delivery, past the deadline;
 *  - delay: the delivery record against the precedence objective;
 *  - replay: our signed copy acknowledgement, the relay's delivery record answering it, and the
 *    redelivered copy;
 *  - fork: two checkpoints of one origin that are not consistent;
 *  - key change: the pinned root and the bundle presented under another root;
 *  - signer revoked / invalid: the envelope as delivered (its station signature holds), the
 *    sender's signed bundle with its revocations, and the time the signer was judged at.
 */
import { sha256 as sha, toBase64, toHex, type SignedBundle } from '@backchannel/core';
import type { Evidence } from './store/types.js';

export function b64(b: Uint8Array | undefined): string | null {
  return b === undefined ? null : toBase64(b);
}

export function hexOrNull(b: Uint8Array | undefined): string | null {
  return b === undefined ? null : toHex(b);
}

export interface CopyEvidence {
  relay: string;
  envelope: Uint8Array;
  token: Uint8Array | undefined;
  receipt: string | undefined;
  deliveryRecord?: Uint8Array | undefined;
  deliveryReceipt?: string | undefined;
  receivedAt: number;
}

export function copyEvidence(c: CopyEvidence): Evidence {
  return {
    relay: c.relay,
    digest: toHex(sha(c.envelope)),
    envelope: toBase64(c.envelope),
    token: b64(c.token),
    receipt: c.receipt ?? null,
    delivery_record: b64(c.deliveryRecord),
    delivery_receipt: c.deliveryReceipt ?? null,
    received_at: c.receivedAt,
  };
}

/** A sender-side failure: the relay delivered faithfully what the sender's own keys disown. */
export function senderFaultEvidence(copy: CopyEvidence, error: { code: string; message: string }, bundle: SignedBundle, judgedAt: number | undefined): Evidence {
  return {
    copy: copyEvidence(copy),
    error: { code: error.code, message: error.message },
    sender_bundle: toBase64(bundle.bytes),
    sender_bundle_seq: bundle.bundle.seq,
    revocations: bundle.bundle.revoked.map((r) => ({ pub: toHex(r.pub), compromised_since: r.compromisedSince, reason: r.reason })),
    judged_at: judgedAt ?? null,
  };
}

export function invalidCopyEvidence(copy: CopyEvidence, error: { code: string; message: string }, validDigest: Uint8Array | undefined): Evidence {
  return { copy: copyEvidence(copy), error: { code: error.code, message: error.message }, valid_digest: hexOrNull(validDigest) };
}

export function equivocationEvidence(first: CopyEvidence, second: CopyEvidence): Evidence {
  return { first: copyEvidence(first), second: copyEvidence(second) };
}

export function replayEvidence(p: { copyAck: Uint8Array; deliveryRecord: Uint8Array | undefined; redelivered: CopyEvidence; seq: number }): Evidence {
  return { copy_ack: toBase64(p.copyAck), delivery_record: b64(p.deliveryRecord), redelivered: copyEvidence(p.redelivered), seq: p.seq };
}

export function dropEvidence(p: { relay: string; token: Uint8Array | undefined; receipt: string | undefined; logIndex: number | undefined; digest: Uint8Array; created: number; deadline: number; now: number; deliveredElsewhere: string[] }): Evidence {
  return {
    relay: p.relay,
    token: b64(p.token),
    receipt: p.receipt ?? null,
    log_index: p.logIndex ?? null,
    digest: toHex(p.digest),
    created: p.created,
    deadline: p.deadline,
    checked_at: p.now,
    delivered_elsewhere: p.deliveredElsewhere,
  };
}

export function delayEvidence(p: { record: Uint8Array; receipt: string; created: number; objectiveMs: number; delivered: number; submitted: number }): Evidence {
  return { delivery_record: toBase64(p.record), delivery_receipt: p.receipt, created: p.created, submitted: p.submitted, delivered: p.delivered, objective_ms: p.objectiveMs, late_by_ms: p.delivered - p.submitted - p.objectiveMs };
}

export function forkEvidence(p: { relay: string; held: string; presented: string; reason: string; proof?: Uint8Array[] }): Evidence {
  const e: Evidence = { relay: p.relay, held_checkpoint: p.held, presented_checkpoint: p.presented, reason: p.reason };
  if (p.proof !== undefined) e.consistency_proof = p.proof.map((h) => toBase64(h));
  return e;
}

export function keyChangeEvidence(p: { party: string; pinnedRoot: Uint8Array; presentedRoot: Uint8Array | undefined; bundle: Uint8Array | undefined; via: string }): Evidence {
  return { party: p.party, pinned_root: toBase64(p.pinnedRoot), presented_root: b64(p.presentedRoot), presented_bundle: b64(p.bundle), via: p.via };
}

export function receiptEvidence(p: { relay: string; receipt: string | undefined; token?: Uint8Array | undefined; record?: Uint8Array | undefined; digest: Uint8Array; error: { code: string; message: string } }): Evidence {
  return { relay: p.relay, receipt: p.receipt ?? null, token: b64(p.token), delivery_record: b64(p.record), digest: toHex(p.digest), error: { code: p.error.code, message: p.error.message } };
}

