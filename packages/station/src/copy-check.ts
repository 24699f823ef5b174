/**
 * The checks of a received copy that need nothing but its bytes, the relay's card, the sender's
 * pinned bundle and our private keys: the submission token (signed by the envelope's station
 * over exactly these bytes, for this relay), the receipt (the relay logged them), and the
 * opening of the envelope (station signature, decryption, padding, signer). Pure CPU, no store:
 * receiveCopy runs them in line, or a page of copies goes to worker threads
 * (copy-check-pool.ts) so that the checks of the next copies run while this one merges.
 *
 * The answer is a CopyCheck, never a throw, so a check made on a worker reaches receiveCopy in
 * the same shape as one made in line. `stage` says how far the copy got: a failure at `open`
 * comes after a verified token and receipt, so it is the sender's (receive-copy.ts).
 */
import {
  checkSubmissionToken,
  openEnvelope,
  openSubmissionToken,
  verifyReceipt,
  type InspectedEnvelope,
  type OpenContext,
  type OpenedEnvelope,
  type SignedBundle,
  type VerifiedReceipt,
  type Vkey,
} from '@backchannel/core';
import { describeFailure } from './errors.js';

/** The three parts of a fetch item or push frame that the checks read. */
export interface CopyBytes {
  envelope: Uint8Array;
  token: Uint8Array;
  /** The tlog-proof text. */
  receipt: string;
}

export interface CopyCheckContext {
  /** Our party. */
  self: string;
  /** The relay's origin, which the token must name. */
  origin: string;
  /** The relay's log key, which signs the receipt's checkpoint. */
  logKey: Vkey;
  /** The sender's pinned bundle. */
  sender: SignedBundle;
  privateKeyFor: OpenContext['privateKeyFor'];
  /** An earlier opening of these same bytes (opened-envelopes.ts): judged again, not decrypted again. */
  known?: OpenedEnvelope | undefined;
}

export type CopyCheck =
  | { ok: true; receipt: VerifiedReceipt; opened: OpenedEnvelope }
  | { ok: false; stage: 'token' | 'receipt' | 'open'; error: { code: string; message: string }; receipt: VerifiedReceipt | undefined };

/**
 * @param env the parsed `item.envelope`, and `digest` its SHA-256 (the caller has both).
 * The opening is judged at the receipt's log time (DESIGN.md: revocations), not at our clock.
 */
export async function checkCopy(item: CopyBytes, env: InspectedEnvelope, digest: Uint8Array, ctx: CopyCheckContext): Promise<CopyCheck> {
  let stage: 'token' | 'receipt' | 'open' = 'token';
  let receipt: VerifiedReceipt | undefined;
  try {
    const token = openSubmissionToken(item.token);
    checkSubmissionToken(token, { origin: ctx.origin, digest, party: env.header.from, station: env.header.station });
    stage = 'receipt';
    receipt = verifyReceipt(item.receipt, ctx.logKey, { type: 'submit', digest, ref: token.hash });
    stage = 'open';
    const opened = await openEnvelope(env, { self: ctx.self, privateKeyFor: ctx.privateKeyFor, senderBundle: ctx.sender, judgedAt: receipt.opening.time }, ctx.known);
    return { ok: true, receipt, opened };
  } catch (e) {
    return { ok: false, stage, error: describeFailure(e), receipt };
  }
}
