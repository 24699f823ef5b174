/**
 * The one narrow storage interface the relay uses, defined by the code that uses it (STYLE.md
 * §8). One implementation over Kysely serves SQLite and PostgreSQL alike
 * (kysely-store.ts); one contract suite (test/store/store.contract.test.ts) runs against both.
 *
 * Every write the log depends on goes through `commitBatch`, in one transaction: the log
 * manager answers no submission before that call has returned.
 */
import type { CompletedNode, NodeId } from '@backchannel/core';
import type { WitnessStore } from '../witness/witness.js';
import type { Dialect } from './migrations.js';
import type { OperatorStore } from './operator-store.js';

export interface StoredParty {
  party: string;
  root: Uint8Array;
  bundle: Uint8Array;
  seq: number;
  bundleHash: Uint8Array;
  /** Parties this one may talk with; undefined: any party of the mandate. */
  allow: string[] | undefined;
  /** Consents to statements opening precedence and digest. */
  statements: boolean;
  /** Forbids statements about this party altogether (the relay answers 403). */
  forbidStatements?: boolean;
  updated: number;
}

/** A witness cosignature collected on one of this relay's checkpoints. */
export interface StoredCosignature {
  size: number;
  /** The witness vkey, text form. */
  witness: string;
  /** The signature line, "— <name> <base64>\n". */
  line: string;
}

export interface EnvelopeKey {
  from: string;
  id: Uint8Array;
}

export interface NewEnvelope extends EnvelopeKey {
  index: number;
  digest: Uint8Array;
  bytes: Uint8Array;
  to: string;
  prec: number;
  created: number;
  size: number;
  token: Uint8Array;
  station: Uint8Array;
  received: number;
  salt: Uint8Array;
  receipt: string;
}

/** An envelope as a desk receives it. */
export type StoredEnvelope = NewEnvelope;

/** What dedupe needs to know of an id already taken: held now, or remembered by a tombstone. */
export interface KnownEnvelope extends EnvelopeKey {
  index: number;
  digest: Uint8Array;
  receipt: string;
  deleted: boolean;
}

export interface Equivocation extends EnvelopeKey {
  digest: Uint8Array;
  bytes: Uint8Array;
  token: Uint8Array;
  station: Uint8Array;
  received: number;
}

export interface NewDelivery {
  index: number;
  envIndex: number;
  from: string;
  to: string;
  desk: Uint8Array;
  record: Uint8Array;
  salt: Uint8Array;
  receipt: string;
  created: number;
}

export type StoredDelivery = NewDelivery;

export interface StoredCheckpoint {
  size: number;
  root: Uint8Array;
  note: string;
  signedAt: number;
}

/** One group commit: every record of the batch, the tree nodes it completed, its checkpoint. */
export interface CommitBatch {
  envelopes: NewEnvelope[];
  deliveries: NewDelivery[];
  equivocations: Equivocation[];
  leaves: { index: number; leaf: Uint8Array }[];
  nodes: CompletedNode[];
  /** Undefined only for a batch that stores evidence and appends nothing. */
  checkpoint: StoredCheckpoint | undefined;
  /**
   * Desks to hand this batch's envelopes to in the commit itself (`assignsInCommit` stores
   * only): each is made only if the desk is still in the state it was planned on.
   */
  assignments?: DeskAssignment[];
}

/**
 * Handing a batch's envelopes to a desk inside the group commit, as a fetch would hand them
 * after it: the push hub plans one for a connected desk with nothing pending, and saves the
 * fetch's own transaction and fsync on the FLASH path. The plan holds the desk's state the
 * hub last saw; the commit compares it with the stored state and makes the assignment only if
 * they agree (a fetch between them moved it: then the hub pumps as usual), so what a desk is
 * handed, and under which sequence numbers, is exactly what a fetch would have handed it.
 */
export interface DeskAssignment {
  desk: Uint8Array;
  party: string;
  /** The desk's `last_seq` and `scanned_to` when the plan was made, with nothing pending. */
  lastSeq: number;
  scannedTo: number;
  /** The batch's envelopes for the desk, in a fetch's order (FLASH first, then by leaf index). */
  envelopes: NewEnvelope[];
  /** The batch's highest envelope leaf index: the desk's new `scanned_to`. */
  scanTo: number;
  /** The relay time the copies are handed out. */
  assigned: number;
}

/** A group commit that is durable, with the desk assignments it made (a subset of the batch's). */
export interface Committed {
  assigned: DeskAssignment[];
}

export interface DeskItem {
  seq: number;
  assigned: number;
  envelope: StoredEnvelope;
}

/** A copy handed to a desk, as an acknowledgement needs it (no envelope bytes). */
export interface DeliveredCopy {
  desk: Uint8Array;
  seq: number;
  assigned: number;
  index: number;
  from: string;
  id: Uint8Array;
  to: string;
  prec: number;
  digest: Uint8Array;
  received: number;
}

export interface FetchRequest {
  desk: Uint8Array;
  party: string;
  /**
   * The desk's cursor: items up to it are confirmed and items after it are sent again. Undefined
   * for push: only envelopes never handed to the desk are assigned.
   */
  after: number | undefined;
  limit: number;
  /**
   * Most envelope bytes in the page (the first item always goes, whatever its size): `limit`
   * items of up to 4 MiB each would be a response of gigabytes. Unbounded when undefined.
   */
  maxBytes?: number;
  now: number;
}

export interface FetchResult {
  items: DeskItem[];
  /** Whether more items wait beyond this page. */
  more: boolean;
  /**
   * The desk's `last_seq` and `scanned_to` as this fetch left them; when `more` is false nothing
   * is pending for it either (the state a DeskAssignment is planned on).
   */
  desk: { lastSeq: number; scannedTo: number };
}

export interface RelayStore {
  readonly dialect: Dialect;
  close(): Promise<void>;
  /** A trivial round trip: throws when the store does not answer. */
  ping(): Promise<void>;

  /** Queries for the operator console and the journal of published statements. */
  operatorStore(): OperatorStore;

  // The mandate
  listParties(): Promise<StoredParty[]>;
  getParty(party: string): Promise<StoredParty | undefined>;
  putParty(p: StoredParty): Promise<void>;

  // The log
  logSize(): Promise<number>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  getCheckpoint(size: number): Promise<StoredCheckpoint | undefined>;
  /** The hashes of the given nodes, same order; throws 'store_inconsistent' for a node never stored. */
  getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]>;
  /** Leaves [start, end), in order (fewer when the log is shorter). */
  getLeaves(start: number, end: number): Promise<Uint8Array[]>;
  /**
   * The group commit: one transaction, answered once durable. 'known' when the store refused
   * the whole batch, writing nothing, because it holds what the batch would add again: see
   * `commitRefusesKnown`.
   */
  commitBatch(batch: CommitBatch): Promise<Committed | 'known'>;
  /** Whether `commitBatch` makes a batch's `assignments` (others ignore them). */
  readonly assignsInCommit: boolean;
  /**
   * True when `commitBatch` itself refuses a batch with an envelope whose (sender, id) the store
   * holds or remembers by a tombstone, or a delivery record of a copy it recorded already
   * (answering 'known'). A batch can then be built without asking `findKnown` and
   * `findDeliveries` first, and asks only after a refusal: on PostgreSQL that question is a
   * round trip in every batch's cycle, and almost every batch holds nothing known.
   */
  readonly commitRefusesKnown: boolean;

  // Witnesses
  /** The state of the witness this relay runs for other logs (RelayOptions.witness). */
  witnessStore(): WitnessStore;
  addCosignature(c: StoredCosignature, now: number): Promise<void>;
  /** The cosignatures collected on the checkpoint of this size. */
  listCosignatures(size: number): Promise<StoredCosignature[]>;
  /** The largest checkpoint size with at least `min` cosignatures, if any. */
  latestCosignedSize(min: number): Promise<number | undefined>;
  /** Envelopes between the two parties (either direction) received in [since, until), by leaf index. */
  listPairEnvelopes(a: string, b: string, since: number, until: number, limit: number): Promise<Omit<StoredEnvelope, 'bytes' | 'receipt'>[]>;

  // Envelopes
  findKnown(keys: readonly EnvelopeKey[]): Promise<KnownEnvelope[]>;
  getEnvelope(index: number): Promise<StoredEnvelope | undefined>;
  listEquivocations(key: EnvelopeKey): Promise<Equivocation[]>;

  // Desks
  fetchForDesk(req: FetchRequest): Promise<FetchResult>;
  /** The copies of these envelopes handed to `desk`. */
  findDeliveredCopies(desk: Uint8Array, keys: readonly EnvelopeKey[]): Promise<DeliveredCopy[]>;
  findDeliveries(copies: readonly { envIndex: number; desk: Uint8Array }[]): Promise<StoredDelivery[]>;
  /** Delivery records of envelopes `from` sent, by their leaf index after `after`. */
  listDeliveries(from: string, after: number, limit: number): Promise<{ items: StoredDelivery[]; more: boolean }>;

  // Housekeeping
  /** Records a signed-request nonce; false when it was already used (a replay). */
  useNonce(nonce: Uint8Array, expires: number): Promise<boolean>;
  pruneNonces(now: number): Promise<number>;
  /** Envelopes received before `before`, oldest first, with the desks that confirmed each. */
  listRetentionCandidates(before: number, limit: number): Promise<{ envelope: Omit<StoredEnvelope, 'bytes'>; confirmedBy: Uint8Array[] }[]>;
  /** Deletes envelopes (and their desk items), leaving tombstones. */
  deleteEnvelopes(indexes: readonly number[], now: number): Promise<void>;
  pruneTombstones(before: number): Promise<number>;
}
