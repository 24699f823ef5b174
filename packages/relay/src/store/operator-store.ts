/**
 * Read-mostly queries for the operator console (admin/): traffic by pair, precedence and time
 * bucket, pending deliveries, delivery lags, recent checkpoints, and the journal of published
 * statements. Kept apart from the relay's hot-path store (kysely-store.ts) and reached through
 * `RelayStore.operatorStore()`, the way `witnessStore()` is. The same Kysely queries serve
 * SQLite and PostgreSQL. None of them selects an envelope's bytes, token or receipt: the
 * console is metadata only.
 */
import { type Kysely, sql } from 'kysely';
import { RelayError } from '../errors.js';
import type { StoredCheckpoint, StoredCosignature } from './relay-store.js';
import type { RelayDatabase } from './schema.js';

export interface TrafficCount {
  /** Bucket start, ms (a multiple of the bucket width). */
  bucket: number;
  from: string;
  to: string;
  prec: number;
  envelopes: number;
  /** Sum of size buckets. */
  bytes: number;
}

export interface PendingCount {
  party: string;
  envelopes: number;
  oldestReceived: number;
}

/** A published statement, as the journal keeps it (never the statement's records). */
export interface StatementEntry {
  digest: Uint8Array;
  issued: number;
  partyA: string;
  partyB: string;
  since: number;
  until: number;
  count: number;
  size: number;
  cosignatures: number;
  openedPrecedence: boolean;
  openedDigest: boolean;
  requestedBy: string;
}

export interface OperatorStore {
  /** Envelopes received in [since, until), counted by bucket, sender, recipient and precedence. */
  traffic(since: number, until: number, bucketMs: number): Promise<TrafficCount[]>;
  /** Envelopes held and the oldest arrival among them. */
  held(): Promise<{ envelopes: number; oldestReceived: number | undefined }>;
  /** Per recipient: envelopes no desk of the recipient party has acknowledged (no delivery record). */
  pendingByRecipient(): Promise<PendingCount[]>;
  /**
   * Delivery lags, ms: among the `limit` most recent envelopes received since `since`, for each
   * one a desk of the recipient acknowledged, the time from arrival to the first such delivery record.
   */
  deliveryLags(since: number, limit: number): Promise<number[]>;
  /** The most recent checkpoints, newest first. */
  recentCheckpoints(limit: number): Promise<StoredCheckpoint[]>;
  /** The cosignatures on the checkpoints of these sizes. */
  cosignaturesOf(sizes: readonly number[]): Promise<StoredCosignature[]>;
  /** The largest checkpoint size each witness cosigned. */
  lastCosigned(): Promise<Map<string, number>>;
  recordStatement(s: StatementEntry): Promise<void>;
  /** The most recent published statements, newest first. */
  listStatements(limit: number): Promise<StatementEntry[]>;
}

function view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function blob(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** COUNT and SUM come back as numbers (SQLite) or, through the int8 parser, numbers (PostgreSQL); SUM of nothing is NULL. */
function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^(0|-?[1-9][0-9]*)$/.test(v)) return Number(v);
  if (v === null || v === undefined) return 0;
  throw new RelayError('store_inconsistent', 'the store returned a count that is not an integer');
}

export class KyselyOperatorStore implements OperatorStore {
  readonly #db: Kysely<RelayDatabase>;

  constructor(db: Kysely<RelayDatabase>) {
    this.#db = db;
  }

  async traffic(since: number, until: number, bucketMs: number): Promise<TrafficCount[]> {
    // Precondition (the admin route checks it): a positive safe integer, so inlining it as a
    // literal is safe, and integer division floors in both SQLite and PostgreSQL.
    if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0) throw new RelayError('bad_request', 'the bucket width must be a positive integer of ms');
    const width = sql.lit(bucketMs);
    const bucket = sql<number>`(received / ${width}) * ${width}`;
    const rows = await this.#db
      .selectFrom('envelopes')
      .select([bucket.as('bucket'), 'from_party', 'to_party', 'prec', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.sum('size').as('bytes')])
      .where('received', '>=', since)
      .where('received', '<', until)
      .groupBy([bucket, 'from_party', 'to_party', 'prec'])
      .orderBy('bucket')
      .orderBy('from_party')
      .orderBy('to_party')
      .orderBy('prec')
      .execute();
    return rows.map((r) => ({ bucket: num(r.bucket), from: r.from_party, to: r.to_party, prec: r.prec, envelopes: num(r.n), bytes: num(r.bytes) }));
  }

  async held(): Promise<{ envelopes: number; oldestReceived: number | undefined }> {
    const r = await this.#db
      .selectFrom('envelopes')
      .select([(eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('received').as('oldest')])
      .executeTakeFirst();
    const oldest: unknown = r?.oldest;
    return { envelopes: num(r?.n), oldestReceived: oldest === null || oldest === undefined ? undefined : num(oldest) };
  }

  async pendingByRecipient(): Promise<PendingCount[]> {
    const rows = await this.#db
      .selectFrom('envelopes as e')
      .select(['e.to_party', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('e.received').as('oldest')])
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('delivery_records as r')
              .innerJoin('desks as k', 'k.desk', 'r.desk')
              .select('r.leaf_index')
              .whereRef('r.env_index', '=', 'e.leaf_index')
              .whereRef('k.party', '=', 'e.to_party'),
          ),
        ),
      )
      .groupBy('e.to_party')
      .orderBy('e.to_party')
      .execute();
    return rows.map((r) => ({ party: r.to_party, envelopes: num(r.n), oldestReceived: num(r.oldest) }));
  }

  async deliveryLags(since: number, limit: number): Promise<number[]> {
    // The newest envelopes first, each with its first recipient delivery record: a correlated
    // subquery, so the scan stops after `limit` envelopes instead of grouping the whole window.
    const rows = await this.#db
      .selectFrom('envelopes as e')
      .select([
        'e.received',
        (eb) =>
          eb
            .selectFrom('delivery_records as r')
            .innerJoin('desks as k', 'k.desk', 'r.desk')
            .select((f) => f.fn.min('r.created').as('m'))
            .whereRef('r.env_index', '=', 'e.leaf_index')
            .whereRef('k.party', '=', 'e.to_party')
            .as('first'),
      ])
      .where('e.received', '>=', since)
      .orderBy('e.leaf_index', 'desc')
      .limit(limit)
      .execute();
    const lags: number[] = [];
    for (const r of rows) {
      // MIN over no rows is NULL, whatever Kysely's column type says.
      const first: unknown = r.first;
      if (first !== null && first !== undefined) lags.push(Math.max(0, num(first) - r.received));
    }
    return lags;
  }

  async recentCheckpoints(limit: number): Promise<StoredCheckpoint[]> {
    const rows = await this.#db.selectFrom('checkpoints').selectAll().orderBy('size', 'desc').limit(limit).execute();
    return rows.map((r) => ({ size: r.size, root: view(r.root), note: r.note, signedAt: r.signed_at }));
  }

  async cosignaturesOf(sizes: readonly number[]): Promise<StoredCosignature[]> {
    if (sizes.length === 0) return [];
    return this.#db.selectFrom('cosignatures').select(['size', 'witness', 'line']).where('size', 'in', [...sizes]).orderBy('size', 'desc').orderBy('witness').execute();
  }

  async lastCosigned(): Promise<Map<string, number>> {
    const rows = await this.#db
      .selectFrom('cosignatures')
      .select(['witness', (eb) => eb.fn.max('size').as('size')])
      .groupBy('witness')
      .execute();
    return new Map(rows.map((r) => [r.witness, num(r.size)]));
  }

  async recordStatement(s: StatementEntry): Promise<void> {
    await this.#db
      .insertInto('statements')
      .values({
        digest: blob(s.digest),
        issued: s.issued,
        party_a: s.partyA,
        party_b: s.partyB,
        since: s.since,
        until: s.until,
        count: s.count,
        size: s.size,
        cosignatures: s.cosignatures,
        opened: (s.openedPrecedence ? 1 : 0) | (s.openedDigest ? 2 : 0),
        requested_by: s.requestedBy,
      })
      .onConflict((oc) => oc.column('digest').doNothing())
      .execute();
  }

  async listStatements(limit: number): Promise<StatementEntry[]> {
    const rows = await this.#db.selectFrom('statements').selectAll().orderBy('issued', 'desc').orderBy('digest').limit(limit).execute();
    return rows.map((r) => ({
      digest: view(r.digest),
      issued: r.issued,
      partyA: r.party_a,
      partyB: r.party_b,
      since: r.since,
      until: r.until,
      count: r.count,
      size: r.size,
      cosignatures: r.cosignatures,
      openedPrecedence: (r.opened & 1) !== 0,
      openedDigest: (r.opened & 2) !== 0,
      requestedBy: r.requested_by,
    }));
  }
}
