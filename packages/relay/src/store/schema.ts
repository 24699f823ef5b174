import type { Generated } from 'kysely';
import type { WitnessLogsTable } from '../witness/witness-store.js';

/**
 * Row types of the relay's database, one interface per table, as Kysely sees them. Row types
 * stay here; the relay works with the domain types of relay-store.ts (STYLE.md: kysely's
 * example keeps the two apart). Byte columns are BLOB (SQLite) / bytea (PostgreSQL); integers
 * are bigint in both and read back as JavaScript numbers (every value stays below 2^53).
 */
export interface PartiesTable {
  party: string;
  root: Uint8Array;
  /** The newest Signed bundle held, exact bytes. */
  bundle: Uint8Array;
  seq: number;
  bundle_hash: Uint8Array;
  /** JSON array of the parties this one may talk with, or null for any party of the mandate. */
  allow: string | null;
  /** 1 when the party consents to statements opening precedence and digest. */
  statements: number;
  updated: number;
}

export interface EnvelopesTable {
  /** The submission's log leaf index: also the envelope's sequence for cursors. */
  leaf_index: number;
  from_party: string;
  env_id: Uint8Array;
  digest: Uint8Array;
  bytes: Uint8Array;
  to_party: string;
  prec: number;
  created: number;
  size: number;
  token: Uint8Array;
  station: Uint8Array;
  received: number;
  salt: Uint8Array;
  /** The receipt (C2SP tlog-proof with the leaf opening) handed out at integration. */
  receipt: string;
}

/** A second, different envelope under an id already taken: kept as evidence, never logged. */
export interface EquivocationsTable {
  from_party: string;
  env_id: Uint8Array;
  digest: Uint8Array;
  bytes: Uint8Array;
  token: Uint8Array;
  station: Uint8Array;
  received: number;
}

/** Ids of deleted envelopes, remembered for dedupe beyond the token window. */
export interface TombstonesTable {
  from_party: string;
  env_id: Uint8Array;
  digest: Uint8Array;
  leaf_index: number;
  receipt: string;
  deleted: number;
}

export interface LeavesTable {
  idx: number;
  leaf: Uint8Array;
}

/** Every perfect subtree hash (level, index) of the log: O(log n) proofs (protocol §6.2). */
export interface NodesTable {
  level: number;
  idx: number;
  hash: Uint8Array;
}

/** Every checkpoint the relay signed, by tree size. */
export interface CheckpointsTable {
  size: number;
  root: Uint8Array;
  note: string;
  signed_at: number;
}

/** A desk (station key) that has fetched: its last assigned per-desk sequence. */
export interface DesksTable {
  desk: Uint8Array;
  party: string;
  last_seq: number;
  created: number;
  /** The highest cursor applied: every item with a sequence up to it is confirmed. */
  confirmed_to: Generated<number>;
  /** The highest envelope leaf index already considered for `desk_pending`; -1 for none. */
  scanned_to: Generated<number>;
  /** The party `scanned_to` and `desk_pending` were computed for; NULL: not yet scanned. */
  scan_party: string | null;
}

/** An envelope for the desk not yet handed to it (no `desk_items` row), in the order it is served. */
export interface DeskPendingTable {
  desk: Uint8Array;
  prec: number;
  leaf_index: number;
}

/** An envelope handed to a desk under the desk's sequence `seq`. */
export interface DeskItemsTable {
  desk: Uint8Array;
  seq: number;
  leaf_index: number;
  assigned: number;
  /** When the desk confirmed it (cursor moved past it, or acknowledged it). */
  fetched: number | null;
}

export interface DeliveryRecordsTable {
  /** The delivery record's own log leaf index. */
  leaf_index: number;
  /** The submission's leaf index. */
  env_index: number;
  from_party: string;
  to_party: string;
  desk: Uint8Array;
  record: Uint8Array;
  salt: Uint8Array;
  receipt: string;
  created: number;
}

/** Signed-request nonces (station key || nonce), kept for the request window. */
export interface RequestNoncesTable {
  nonce: Uint8Array;
  expires: number;
}

/** A witness cosignature line collected on one of this relay's checkpoints. */
export interface CosignaturesTable {
  size: number;
  /** The witness vkey (text form). */
  witness: string;
  line: string;
  added: number;
}

/** The journal of published statements (metadata only: the pair, window, count; never records). */
export interface StatementsTable {
  /** SHA-256 of the Signed statement bytes. */
  digest: Uint8Array;
  issued: number;
  party_a: string;
  party_b: string;
  since: number;
  until: number;
  count: number;
  size: number;
  cosignatures: number;
  /** Bit 1: precedence opened; bit 2: digest opened. */
  opened: number;
  /** 'operator', or the party whose desk asked. */
  requested_by: string;
}

export interface RelayDatabase {
  parties: PartiesTable;
  envelopes: EnvelopesTable;
  equivocations: EquivocationsTable;
  tombstones: TombstonesTable;
  leaves: LeavesTable;
  nodes: NodesTable;
  checkpoints: CheckpointsTable;
  desks: DesksTable;
  desk_items: DeskItemsTable;
  desk_pending: DeskPendingTable;
  delivery_records: DeliveryRecordsTable;
  request_nonces: RequestNoncesTable;
  witness_logs: WitnessLogsTable;
  cosignatures: CosignaturesTable;
  statements: StatementsTable;
}
