/**
 * Relay receipts. A relay that integrates in the same commit answers a submission with a C2SP
 * tlog-proof (note/tlog-proof.ts) against the checkpoint it signed for that batch, carrying the
 * leaf's opening in the proof's `extra` field — checkable offline with the relay's card alone:
 *
 *   1. the checkpoint is signed by the relay's log key, under its origin;
 *   2. the opening hashes to the leaf, and the leaf is at `index` under the checkpoint's root;
 *   3. the opening records what the holder expects: its envelope digest, its token.
 *
 * A relay that defers integration (several nodes sharing a database) answers instead with a
 * signed integration promise with a maximum merge delay, which `verify` later enforces.
 */
import { BackchannelError } from '../errors.js';
import type { Ed25519Key } from '../ed25519.js';
import { LABELS } from '../labels.js';
import { MapReader } from '../schema.js';
import { openSigned, signStructure } from '../signed.js';
import type { Vkey } from '../note/vkey.js';
import { formatTlogProof, parseTlogProof, verifyTlogProof } from '../note/tlog-proof.js';
import type { Checkpoint } from '../note/checkpoint.js';
import { equalBytes } from '../bytes.js';
import { checkOpening, commitLeaf, decodeOpening, encodeOpening, type LeafOpening, type RecordType } from './commitment.js';

export interface VerifiedReceipt {
  index: number;
  opening: LeafOpening;
  leaf: Uint8Array;
  checkpoint: Checkpoint;
  /** The checkpoint note text as received, with any cosignatures, for consistency checks later. */
  checkpointNote: string;
}

export function formatReceipt(p: { opening: LeafOpening; index: number; proof: readonly Uint8Array[]; checkpoint: string }): string {
  return formatTlogProof({ extra: encodeOpening(p.opening), index: p.index, proof: p.proof, checkpoint: p.checkpoint });
}

/**
 * Verifies a receipt (or the inclusion proof that travels with a delivered copy) against the
 * relay's log key. `expect` is what the holder knows of its own record.
 */
export function verifyReceipt(
  receipt: string | Uint8Array,
  logKey: Vkey,
  expect: { type: RecordType; digest: Uint8Array; ref?: Uint8Array },
): VerifiedReceipt {
  const p = parseTlogProof(receipt);
  if (p.extra === undefined) throw new BackchannelError('receipt_invalid', 'receipt carries no leaf opening');
  const opening = decodeOpening(p.extra);
  const leaf = commitLeaf(opening);
  const v = verifyTlogProof(p, logKey, leaf, { origin: logKey.name });
  checkOpening(opening, expect);
  return { index: v.index, opening, leaf, checkpoint: v.checkpoint, checkpointNote: p.checkpoint };
}

export interface IntegrationPromise {
  origin: string;
  leaf: Uint8Array;
  /** Relay time the record was sequenced. */
  time: number;
  /** The relay promises the leaf is in its log by time + mmd. */
  mmd: number;
  relay: Uint8Array;
  bytes: Uint8Array;
}

export function signIntegrationPromise(logKey: Ed25519Key, p: { origin: string; leaf: Uint8Array; time: number; mmd: number }): Uint8Array {
  return signStructure(logKey, LABELS.receipt, { v: 1, origin: p.origin, leaf: p.leaf, time: p.time, mmd: p.mmd });
}

export function openIntegrationPromise(bytes: Uint8Array, logKey: Vkey): IntegrationPromise {
  const o = openSigned(bytes, LABELS.receipt, 'receipt_invalid', 1024);
  if (!equalBytes(o.key, logKey.publicKey)) throw new BackchannelError('key_unknown', 'integration promise is not signed by this relay');
  const r = new MapReader(o.body, 'integration promise');
  const v = r.uint('v');
  const out: IntegrationPromise = {
    origin: r.text('origin', { max: 255 }),
    leaf: r.bytes('leaf', { len: 32 }),
    time: r.uint('time'),
    mmd: r.uint('mmd', { max: 86_400_000 }),
    relay: o.key,
    bytes,
  };
  if (v !== 1) r.problems.push('integration promise.v must be 1');
  r.done('receipt_invalid');
  if (out.origin !== logKey.name) throw new BackchannelError('receipt_invalid', `promise is for log ${out.origin}, not ${logKey.name}`);
  return out;
}

/** The promised deadline has passed and the leaf is still not in the log: evidence of a broken promise. */
export function isPromiseBroken(p: IntegrationPromise, now: number): boolean {
  return now > p.time + p.mmd;
}

