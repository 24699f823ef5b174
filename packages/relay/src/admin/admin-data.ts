/**
 * What the operator console shows, computed from the relay's context: the log manager's head
 * and queue, the mandate, the witness publisher, and the operator store's queries
 * (store/operator-store.ts). Metadata only: nothing here reads an envelope's bytes.
 */
import { PRECEDENCES, openBundle, partyFingerprint, precedenceFromCode, toHex } from '@backchannel/core';
import type { RelayContext } from '../app/context.js';
import { RelayError } from '../errors.js';
import type { StoredCosignature } from '../store/relay-store.js';
import type { PendingCount, StatementEntry } from '../store/operator-store.js';
import type {
  AdminCheckpoint,
  AdminCosignature,
  AdminLog,
  AdminMandate,
  AdminOverview,
  AdminParty,
  AdminStatement,
  AdminStatements,
  AdminTraffic,
} from './types.js';

export interface AdminSourceOptions {
  ctx: RelayContext;
  name: string;
  url: string;
  /** When the relay started serving, ms since the epoch. */
  startedAt: number;
  /** Witnesses the relay submits its checkpoints to (vkey text form). */
  witnesses: readonly string[];
  /** How long the delivery figures (pending, lags, held) are reused, ms (default 5000). */
  reuseMs?: number;
}

/** Delivery lags are taken over envelopes received in this window, at most this many. */
export const LAG_WINDOW_MS = 24 * 3_600_000;
export const LAG_SAMPLES = 10_000;
export const RECENT_CHECKPOINTS = 20;
export const RECENT_STATEMENTS = 100;
/** Bounds of GET /api/traffic: the bucket width and the number of buckets one answer may span. */
export const MIN_BUCKET_MS = 1000;
export const MAX_BUCKETS = 2000;
export const DEFAULT_TRAFFIC_WINDOW_MS = 3_600_000;
export const DEFAULT_BUCKET_MS = 60_000;

/** The key name of a C2SP vkey ("name+hash+key"): the witness's name. */
export function vkeyName(vkey: string): string {
  const plus = vkey.indexOf('+');
  return plus > 0 ? vkey.slice(0, plus) : vkey;
}

function cosignature(c: StoredCosignature): AdminCosignature {
  return { size: c.size, witness: vkeyName(c.witness), vkey: c.witness };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? null;
}

/**
 * The delivery figures scan the held envelopes; on SQLite that work is synchronous and stalls
 * the relay's event loop (about 0.3 s per 100,000 envelopes held on these machines), so every
 * open console shares one computation for this long. The log head and queue are always fresh.
 */
export const DEFAULT_REUSE_MS = 5000;

interface DeliveryFigures {
  pending: PendingCount[];
  lags: number[];
  held: { envelopes: number; oldestReceived: number | undefined };
}

export class AdminSource {
  readonly #o: AdminSourceOptions;
  #figures: { at: number; answer: Promise<DeliveryFigures> } | undefined;

  constructor(o: AdminSourceOptions) {
    this.#o = o;
  }

  get ctx(): RelayContext {
    return this.#o.ctx;
  }

  #deliveryFigures(now: number): Promise<DeliveryFigures> {
    const at = Date.now();
    const held = this.#figures;
    if (held !== undefined && at - held.at < (this.#o.reuseMs ?? DEFAULT_REUSE_MS)) return held.answer;
    const ops = this.#o.ctx.store.operatorStore();
    const answer = (async () => {
      const [pending, lags, count] = await Promise.all([ops.pendingByRecipient(), ops.deliveryLags(now - LAG_WINDOW_MS, LAG_SAMPLES), ops.held()]);
      lags.sort((a, b) => a - b);
      return { pending, lags, held: count };
    })();
    this.#figures = { at, answer };
    // A failed computation is not reused.
    answer.catch(() => {
      if (this.#figures?.answer === answer) this.#figures = undefined;
    });
    return answer;
  }

  async overview(): Promise<AdminOverview> {
    const { ctx } = this.#o;
    const now = ctx.clock();
    const cp = ctx.log.checkpoint;
    const [cosigs, { pending, lags, held }] = await Promise.all([ctx.store.listCosignatures(cp.size), this.#deliveryFigures(now)]);
    const oldestPending = pending.reduce<number | undefined>((m, p) => (m === undefined || p.oldestReceived < m ? p.oldestReceived : m), undefined);
    return {
      relay: { id: ctx.id, name: this.#o.name, origin: ctx.origin, url: this.#o.url, fingerprint: ctx.card.fingerprint },
      now,
      startedAt: this.#o.startedAt,
      uptimeMs: Math.max(0, now - this.#o.startedAt),
      log: {
        size: ctx.log.size,
        checkpoint: ctx.publisher.note(),
        checkpointSize: cp.size,
        checkpointSignedAt: cp.signedAt,
        cosignatures: cosigs.map(cosignature),
      },
      witnesses: this.#o.witnesses.map((v) => ({ name: vkeyName(v), vkey: v })),
      queueDepth: ctx.log.queueDepth,
      pending: pending.map((p) => ({ party: p.party, envelopes: p.envelopes, oldestReceived: p.oldestReceived })),
      delivery: {
        since: now - LAG_WINDOW_MS,
        samples: lags.length,
        p50Ms: percentile(lags, 50),
        p99Ms: percentile(lags, 99),
        oldestUndeliveredMs: oldestPending === undefined ? null : Math.max(0, now - oldestPending),
      },
      held: { envelopes: held.envelopes, oldestReceived: held.oldestReceived ?? null },
    };
  }

  async mandate(): Promise<AdminMandate> {
    const stored = await this.#o.ctx.store.listParties();
    const parties: AdminParty[] = stored.map((p) => {
      // The store's bundle, not the mandate's cache: `trust` may have added a party since.
      const bundle = openBundle(p.bundle).bundle;
      return {
        id: p.party,
        name: bundle.name,
        fingerprint: partyFingerprint(p.party, p.root),
        bundleSeq: p.seq,
        desks: bundle.stations.length,
        allow: p.allow ?? null,
        statements: p.forbidStatements === true ? 'forbid' : p.statements ? 'open' : 'count',
        updated: p.updated,
      };
    });
    // A pair is carried when each side allows the other (mandate.ts requirePair).
    const allows = (p: AdminParty, other: string): boolean => p.allow === null || p.allow.includes(other);
    const pairs: { a: string; b: string }[] = [];
    for (const [i, a] of parties.entries()) {
      for (const b of parties.slice(i + 1)) {
        if (allows(a, b.id) && allows(b, a.id)) pairs.push(a.id < b.id ? { a: a.id, b: b.id } : { a: b.id, b: a.id });
      }
    }
    return { parties, pairs };
  }

  async traffic(q: { since?: number; until?: number; bucketMs?: number }): Promise<AdminTraffic> {
    const { ctx } = this.#o;
    const now = ctx.clock();
    const bucketMs = q.bucketMs ?? DEFAULT_BUCKET_MS;
    const until = q.until ?? now + 1;
    const since = q.since ?? Math.floor((now - DEFAULT_TRAFFIC_WINDOW_MS) / bucketMs) * bucketMs;
    const problems: string[] = [];
    if (bucketMs < MIN_BUCKET_MS) problems.push(`bucket must be at least ${MIN_BUCKET_MS} ms`);
    if (until <= since) problems.push('until must be after since');
    else if (bucketMs >= MIN_BUCKET_MS && (until - since) / bucketMs > MAX_BUCKETS) problems.push(`the window spans more than ${MAX_BUCKETS} buckets: widen the bucket or shorten the window`);
    if (problems.length > 0) throw new RelayError('bad_request', `bad traffic query: ${problems.join('; ')}`);
    const ops = ctx.store.operatorStore();
    const [rows, held] = await Promise.all([ops.traffic(since, until, bucketMs), ops.held()]);
    return {
      since,
      until,
      bucketMs,
      // Codes outside 0..3 cannot be stored (the submit route parses the header); skip rather than fail the whole answer.
      rows: rows
        .filter((r) => r.prec >= 0 && r.prec < PRECEDENCES.length)
        .map((r) => ({ bucket: r.bucket, from: r.from, to: r.to, precedence: precedenceFromCode(r.prec), envelopes: r.envelopes, bytes: r.bytes })),
      heldSince: held.oldestReceived ?? null,
    };
  }

  async log(): Promise<AdminLog> {
    const { ctx } = this.#o;
    const ops = ctx.store.operatorStore();
    const recent = await ops.recentCheckpoints(RECENT_CHECKPOINTS);
    const [cosigs, last] = await Promise.all([ops.cosignaturesOf(recent.map((c) => c.size)), ops.lastCosigned()]);
    const bySize = new Map<number, AdminCosignature[]>();
    for (const c of cosigs) bySize.set(c.size, [...(bySize.get(c.size) ?? []), cosignature(c)]);
    const checkpoints: AdminCheckpoint[] = recent.map((c) => ({ size: c.size, root: toHex(c.root), signedAt: c.signedAt, cosignatures: bySize.get(c.size) ?? [] }));
    // Witnesses configured now, and any that cosigned before (a witness since removed still shows).
    const names = new Set([...this.#o.witnesses, ...last.keys()]);
    return {
      size: ctx.log.size,
      checkpoint: ctx.publisher.note(),
      checkpoints,
      witnesses: [...names].sort().map((v) => ({ name: vkeyName(v), vkey: v, lastCosignedSize: last.get(v) ?? null })),
    };
  }

  async statements(): Promise<AdminStatements> {
    const list = await this.#o.ctx.store.operatorStore().listStatements(RECENT_STATEMENTS);
    return { statements: list.map(statementView) };
  }
}

export function statementView(s: StatementEntry): AdminStatement {
  return {
    digest: toHex(s.digest),
    issued: s.issued,
    pair: [s.partyA, s.partyB],
    since: s.since,
    until: s.until,
    count: s.count,
    checkpointSize: s.size,
    cosignatures: s.cosignatures,
    opened: { precedence: s.openedPrecedence, digest: s.openedDigest },
    requestedBy: s.requestedBy,
  };
}
