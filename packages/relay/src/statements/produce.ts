/**
 * Transmission statements (protocol §7, DESIGN.md "Statements"): "at least N envelopes,
 * including acknowledgements and heartbeats, passed between P and Q in [since, until)",
 * signed by the relay's log key with core's `signStatement`, from what the relay holds:
 * each submission's leaf opening (salt), its submission token, and its inclusion proof
 * against the newest checkpoint that covers every record — the newest witnessed one when
 * there is such a checkpoint, else the latest.
 *
 * Consent (the mandate): a party may forbid statements about it ('forbid': 403
 * statement_forbidden); otherwise counts are published, opening pair, hour window and token;
 * precedence and digest are opened only when BOTH parties consent ('open'), because each
 * record describes both. Never content: envelopes are not read, and the statement carries no
 * envelope bytes.
 *
 * Records are taken from the envelopes the relay still holds (retention: an envelope every
 * desk has fetched is deleted after `retentionMs`): a statement over an older window counts
 * fewer, which "at least" allows.
 */
import {
  PARTY_ID_RE,
  inclusionNodes,
  rehashProof,
  sha256,
  signStatement,
  type Ed25519Key,
  type LeafOpening,
} from '@backchannel/core';
import { RelayError } from '../errors.js';
import type { StatementPolicy } from '../mandate/mandate.js';
import { openStore } from '../store/open-store.js';
import type { RelayStore, StoredParty } from '../store/relay-store.js';

/** Most records in one statement (a larger window is refused: ask for a shorter one). */
export const MAX_STATEMENT_RECORDS = 10_000;

export interface StatementRequest {
  /** The two parties, in any order. */
  pair: readonly [string, string];
  /** Window start, ms (inclusive). */
  since: number;
  /** Window end, ms (exclusive). */
  until: number;
  /** Who asked, for the journal of published statements: the party whose desk asked, else 'operator'. */
  requestedBy?: string;
}

export interface ProducedStatement {
  /** The Signed statement (deterministic CBOR under backchannel/v1/statement). */
  bytes: Uint8Array;
  count: number;
  /** The checkpoint size the proofs are against, and how many witness cosignatures it carries. */
  size: number;
  cosignatures: number;
  opened: { precedence: boolean; digest: boolean };
}

function policyOf(p: StoredParty): StatementPolicy {
  if (p.forbidStatements === true) return 'forbid';
  return p.statements ? 'open' : 'count';
}

function checkRequest(req: StatementRequest): [string, string] {
  const [a, b] = req.pair;
  const problems: string[] = [];
  if (!PARTY_ID_RE.test(a) || !PARTY_ID_RE.test(b)) problems.push('pair must be two party ids');
  if (a === b) problems.push('pair must be two distinct parties');
  if (!Number.isSafeInteger(req.since) || !Number.isSafeInteger(req.until) || req.since < 0) problems.push('since and until are ms since the epoch');
  if (!(req.until > req.since)) problems.push('until must be after since');
  if (problems.length > 0) throw new RelayError('bad_request', `bad statement request: ${problems.join('; ')}`);
  return a < b ? [a, b] : [b, a];
}

/** Builds and signs a statement from an open store (the relay's route and produceStatement). */
export async function statementFromStore(store: RelayStore, logKey: Ed25519Key, origin: string, req: StatementRequest, now: number): Promise<ProducedStatement> {
  const [a, b] = checkRequest(req);
  const parties: StoredParty[] = [];
  for (const id of [a, b]) {
    const p = await store.getParty(id);
    if (p === undefined) throw new RelayError('not_in_mandate', `party ${id} is not in this relay's mandate`);
    if (policyOf(p) === 'forbid') throw new RelayError('statement_forbidden', `party ${id} forbids this relay to publish statements about it`);
    parties.push(p);
  }
  const open = parties.every((p) => policyOf(p) === 'open');
  const consent = { precedence: open, digest: open };

  const envelopes = await store.listPairEnvelopes(a, b, req.since, req.until, MAX_STATEMENT_RECORDS + 1);
  if (envelopes.length > MAX_STATEMENT_RECORDS) throw new RelayError('bad_request', `more than ${MAX_STATEMENT_RECORDS} records in that window: ask for a shorter one`);
  const latest = await store.latestCheckpoint();
  if (latest === undefined) throw new RelayError('unavailable', 'the log has no checkpoint yet');
  const needed = envelopes.reduce((m, e) => Math.max(m, e.index + 1), 0);
  // Prefer the newest witnessed checkpoint that covers every record.
  const witnessed = await store.latestCosignedSize(1);
  const cp = witnessed !== undefined && witnessed >= needed ? ((await store.getCheckpoint(witnessed)) ?? latest) : latest;
  const cosigs = await store.listCosignatures(cp.size);
  const note = cp.note + cosigs.map((c) => c.line).join('');

  const records: { index: number; opening: LeafOpening; token: Uint8Array; proof: Uint8Array[] }[] = [];
  for (const e of envelopes) {
    const ids = inclusionNodes(e.index, cp.size);
    const proof = rehashProof(ids, await store.getNodes(ids.ids));
    records.push({
      index: e.index,
      opening: { salt: e.salt, type: 'submit', from: e.from, to: e.to, prec: e.prec, time: e.received, digest: e.digest, ref: sha256(e.token) },
      token: e.token,
      proof,
    });
  }
  const bytes = signStatement(logKey, { origin, parties: [a, b], since: req.since, until: req.until, issued: now, checkpoint: note, records }, consent);
  // Journaled before it is handed out, so the operator console lists every statement published.
  await store.operatorStore().recordStatement({
    digest: sha256(bytes),
    issued: now,
    partyA: a,
    partyB: b,
    since: req.since,
    until: req.until,
    count: records.length,
    size: cp.size,
    cosignatures: cosigs.length,
    openedPrecedence: consent.precedence,
    openedDigest: consent.digest,
    requestedBy: req.requestedBy ?? 'operator',
  });
  return { bytes, count: records.length, size: cp.size, cosignatures: cosigs.length, opened: consent };
}

/**
 * For the CLI's `backchannel statement` on a relay home: opens the relay database (db URL as
 * startRelay takes it), produces the statement, closes. `relayKey` is the decrypted log key;
 * `origin` the relay's log origin.
 */
export async function produceStatement(
  db: string,
  relayKey: Ed25519Key,
  options: StatementRequest & { origin: string; now?: number },
): Promise<ProducedStatement> {
  const store = await openStore(db);
  try {
    return await statementFromStore(store, relayKey, options.origin, options, options.now ?? Date.now());
  } finally {
    await store.close();
  }
}
