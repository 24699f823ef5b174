/**
 * Row types of the station's SQLite schema, as Kysely sees them. Kept apart from the domain
 * types (types.ts); sqlite-store.ts converts. Times are integer milliseconds since the epoch;
 * booleans are 0/1; byte strings are BLOBs; note ids are lowercase hex text.
 */
import type { Generated } from 'kysely';

export interface SettingRow {
  key: string;
  value: string;
}

export interface PartyRow {
  id: string;
  name: string;
  fingerprint: string;
  root: Uint8Array;
  seq: number;
  bundle: Uint8Array;
  is_self: number;
  pinned_at: number;
  updated_at: number;
}

export interface RelayRow {
  id: string;
  name: string;
  url: string;
  origin: string;
  fingerprint: string;
  card: string;
  rank: number;
  added_at: number;
  last_contact: number | null;
  last_heartbeat: number | null;
  lag_ms: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  last_error_at: number | null;
}

export interface CursorRow {
  relay: string;
  stream: string;
  position: number;
}

export interface OutgoingRow {
  id: string;
  to_party: string;
  precedence: string;
  kind: string;
  created: number;
  deadline: number;
  digest: Uint8Array;
  envelope: Uint8Array;
  /** Encrypted at rest (at-rest.ts). */
  content: Uint8Array;
  thread: string | null;
  reply_from: string | null;
  reply_id: string | null;
  signer: string;
  failover: string;
  acked_at: number | null;
  read_at: number | null;
  closed_at: number | null;
  late_failover_at: number | null;
}

export interface ChannelRow {
  note_id: string;
  relay: string;
  role: string;
  reason: string | null;
  started_at: number;
  token: Uint8Array | null;
  submitted_at: number | null;
  receipt: string | null;
  log_index: number | null;
  error_code: string | null;
  error_message: string | null;
  error_at: number | null;
  delivered_at: number | null;
  delivery_record: Uint8Array | null;
  delivery_receipt: string | null;
  acked_at: number | null;
  recipient_arrival_at: number | null;
  read_at: number | null;
}

export interface IncomingRow {
  from_party: string;
  id: string;
  to_party: string;
  precedence: string;
  kind: string;
  created: number;
  digest: Uint8Array;
  envelope: Uint8Array;
  /** Encrypted at rest. */
  content: Uint8Array;
  /** JSON of the attribution without the certificate. */
  attribution: string;
  certificate: Uint8Array;
  thread: string | null;
  reply_from: string | null;
  reply_id: string | null;
  received_at: number;
  first_relay: string;
  equivocated: number;
  read_at: number | null;
  ack_sent_at: number | null;
}

export interface CopyRow {
  from_party: string;
  id: string;
  relay: string;
  digest: Uint8Array;
  received_at: number;
  seq: number;
  token: Uint8Array;
  receipt: string;
  log_index: number | null;
  valid: number;
  error_code: string | null;
  envelope: Uint8Array | null;
  copy_ack: Uint8Array | null;
  delivery_record: Uint8Array | null;
  delivery_receipt: string | null;
  acked_at: number | null;
  redeliveries: number;
}

export interface ThreadRow {
  id: string;
  party: string;
  /** Encrypted at rest: a subject is content. */
  subject: Uint8Array;
  started_at: number;
  last_at: number;
}

export interface AlertRow {
  id: Generated<number>;
  kind: string;
  at: number;
  relay: string | null;
  party: string | null;
  note_from: string | null;
  note_id: string | null;
  message: string;
  evidence: string;
  dedupe_key: string;
  resolved_at: number | null;
}

export interface CheckpointRow {
  relay: string;
  size: number;
  root_hash: Uint8Array;
  note: string;
  seen_at: number;
  consistent: number;
}

export interface Database {
  settings: SettingRow;
  parties: PartyRow;
  relays: RelayRow;
  cursors: CursorRow;
  outgoing: OutgoingRow;
  channels: ChannelRow;
  incoming: IncomingRow;
  copies: CopyRow;
  threads: ThreadRow;
  alerts: AlertRow;
  checkpoints: CheckpointRow;
}
