/**
 * Periodic work: forget expired request nonces, reload the mandate (a `trust` run by the CLI
 * while the relay serves), delete envelopes every enrolled desk has fetched once their
 * retention has run, leaving tombstones, and forget tombstones past their time.
 */
import { TOKEN_WINDOW_MS, equalBytes, findRevocation } from '@backchannel/core';
import type { RelayContext } from './app/context.js';

const SWEEP_PAGE = 500;

export async function runHousekeeping(ctx: RelayContext): Promise<void> {
  const now = ctx.clock();
  await ctx.store.pruneNonces(now);
  await ctx.mandate.load();
  await sweepRetention(ctx, now);
  // Ids are remembered at least for the token window after deletion: a resend within it is a duplicate.
  await ctx.store.pruneTombstones(now - Math.max(ctx.limits.tombstoneMs, TOKEN_WINDOW_MS));
}

/**
 * An envelope is kept until every enrolled desk of the recipient party, and every other desk
 * of the sender's party, has confirmed it (cursor or acknowledgement); and at least for the
 * retention time after it was received. Revoked stations are not waited for.
 */
export async function sweepRetention(ctx: RelayContext, now: number): Promise<number> {
  const candidates = await ctx.store.listRetentionCandidates(now - ctx.limits.retentionMs, SWEEP_PAGE);
  const done: number[] = [];
  for (const c of candidates) {
    const e = c.envelope;
    const enrolled = (party: string): Uint8Array[] => {
      const p = ctx.mandate.desksOf(party);
      const bundle = ctx.mandate.bundleOf(party);
      return bundle === undefined ? p : p.filter((k) => findRevocation(bundle, k) === undefined);
    };
    const required = [...enrolled(e.to), ...enrolled(e.from).filter((d) => !equalBytes(d, e.station))];
    if (required.every((d) => c.confirmedBy.some((x) => equalBytes(x, d)))) done.push(e.index);
  }
  await ctx.store.deleteEnvelopes(done, now);
  return done.length;
}
