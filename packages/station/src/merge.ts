/**
 * Merging copies of one note (PRODUCT.md feature 2; issue 4, "Receiving"). A note's identity is
 * (sender, id); a copy's is its digest. The first valid copy is the delivered note; every later
 * copy must be byte-identical. Pure decisions, so the rules are tested on their own.
 */
import { equalBytes } from '@backchannel/core';

export type MergeOutcome =
  /** The first valid copy: it becomes the note. */
  | { kind: 'deliver' }
  /** A valid copy byte-identical to the delivered one (another channel, or the same one again). */
  | { kind: 'duplicate' }
  /** A valid copy with other bytes: the sender signed two envelopes with one id ("mixed messages"). */
  | { kind: 'equivocation' }
  /** A copy that fails a check: the relay that delivered it is bound to it by its delivery record. */
  | { kind: 'invalid' }
  /** This relay delivered these same bytes before; after our signed acknowledgement it is a replay. */
  | { kind: 'redelivery'; replay: boolean };

export interface MergeInput {
  /** Whether this copy passed every receiving check (protocol §4.7, token, receipt). */
  valid: boolean;
  digest: Uint8Array;
  /** The delivered note's digest, if a valid copy came before. */
  delivered: Uint8Array | undefined;
  /** The same copy (relay and digest) held before, and whether the relay answered our acknowledgement of it. */
  previous: { acknowledged: boolean } | undefined;
}

export function decideMerge(m: MergeInput): MergeOutcome {
  if (m.previous !== undefined) return { kind: 'redelivery', replay: m.previous.acknowledged };
  if (!m.valid) return { kind: 'invalid' };
  if (m.delivered === undefined) return { kind: 'deliver' };
  return equalBytes(m.delivered, m.digest) ? { kind: 'duplicate' } : { kind: 'equivocation' };
}

/** PRODUCT.md `show --json`: consistent when every valid copy is byte-identical and no copy is invalid. */
export function isConsistent(copies: readonly { valid: boolean; digest: Uint8Array }[]): boolean {
  const first = copies[0];
  if (first === undefined) return true;
  return copies.every((c) => c.valid && equalBytes(c.digest, first.digest));
}
