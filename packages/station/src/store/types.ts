/**
 * What the station keeps, as the station thinks of it (domain types, kept apart from the row
 * types in schema.ts as kysely's example app does). Note ids are lowercase hex of the 16 id
 * bytes; a note's identity is (sender party, id) and a copy's identity is its digest
 * (DESIGN.md, "The envelope").
 */
import type { ContentKind, Precedence, RelayCardJson, SignedBundle } from '@backchannel/core';

export interface PinnedParty {
  id: string;
  name: string;
  fingerprint: string;
  root: Uint8Array;
  /** The newest bundle held, under the pinned root. */
  bundle: SignedBundle;
  /** True for this station's own party. */
  self: boolean;
  pinnedAt: number;
  updatedAt: number;
}

export interface RelayHealth {
  /** Last time the relay answered anything. */
  lastContact: number | undefined;
  /** Last heartbeat note that came through this relay. */
  lastHeartbeat: number | undefined;
  /** Newest observed submit-to-delivery time through this relay, ms. */
  lagMs: number | undefined;
  lastError: { code: string; message: string; at: number } | undefined;
}

export interface RelayEntry {
  id: string;
  name: string;
  url: string;
  origin: string;
  fingerprint: string;
  card: RelayCardJson;
  /** Order of preference: the lowest is the primary channel. */
  rank: number;
  addedAt: number;
  health: RelayHealth;
}

export type CursorStream = 'fetch' | 'deliveries';

export interface NoteRefHex {
  from: string;
  id: string;
}

/** A note this desk sealed and sent. The sealed bytes are stored before the first submission and never re-sealed. */
export interface OutgoingNote {
  id: string;
  to: string;
  precedence: Precedence;
  kind: ContentKind;
  created: number;
  /** created + the scaled objective. */
  deadline: number;
  digest: Uint8Array;
  envelope: Uint8Array;
  /** The content's canonical bytes (encrypted at rest by the store). */
  content: Uint8Array;
  thread: string | undefined;
  replyTo: NoteRefHex | undefined;
  signer: string;
  /** Relays this note may still fail over to, in order. */
  failover: string[];
  /** When the recipient party's end-to-end acknowledgement first arrived. */
  ackedAt: number | undefined;
  readAt: number | undefined;
  /** When the deadline check ran after the deadline (drops and a missed deadline raised then); tracking stops. */
  closedAt: number | undefined;
  /** When the half-deadline failover was done (it happens once). */
  lateFailoverAt: number | undefined;
}

export type ChannelRole = 'chosen' | 'failover';

/** One note on one channel: submitted, delivered, acknowledged, read. */
export interface OutgoingChannel {
  noteId: string;
  relay: string;
  role: ChannelRole;
  /** Why a failover channel was added. */
  reason: string | undefined;
  startedAt: number;
  token: Uint8Array | undefined;
  submittedAt: number | undefined;
  /** The relay's receipt (C2SP tlog-proof), verified before it was stored. */
  receipt: string | undefined;
  logIndex: number | undefined;
  error: { code: string; message: string; at: number } | undefined;
  deliveredAt: number | undefined;
  /** The relay-signed delivery record, verified before it was stored. */
  deliveryRecord: Uint8Array | undefined;
  deliveryReceipt: string | undefined;
  /** When the recipient's end-to-end acknowledgement came back through this channel. */
  ackedAt: number | undefined;
  /** The arrival time on this channel that the recipient reported in its acknowledgement. */
  recipientArrivalAt: number | undefined;
  readAt: number | undefined;
}

export interface Attribution {
  party: string;
  signer: string;
  name: string;
  title: string;
  level: 'institutional' | 'official';
  /** The signer's certificate (root-signed), kept so attribution re-verifies from the archive alone. */
  certificate: Uint8Array;
}

/** A note received (merged over its copies); also notes this party sent from other desks. */
export interface IncomingNote {
  from: string;
  id: string;
  to: string;
  precedence: Precedence;
  kind: ContentKind;
  created: number;
  /** Digest of the first valid copy: the delivered one. */
  digest: Uint8Array;
  envelope: Uint8Array;
  content: Uint8Array;
  attribution: Attribution;
  thread: string | undefined;
  replyTo: NoteRefHex | undefined;
  receivedAt: number;
  firstRelay: string;
  /** The sender signed two different envelopes with this id. */
  equivocated: boolean;
  readAt: number | undefined;
  /** When our end-to-end acknowledgement for it was sent (undefined: still to send; never for acks). */
  ackSentAt: number | undefined;
}

/** A received note that our end-to-end acknowledgement still owes: what the acknowledgement names. */
export type AckPending = Pick<IncomingNote, 'from' | 'id' | 'digest' | 'precedence'>;

/** One copy of a note as one relay delivered it. */
export interface CopyRecord {
  from: string;
  id: string;
  relay: string;
  digest: Uint8Array;
  receivedAt: number;
  /** The relay's fetch sequence number of the first delivery. */
  seq: number;
  token: Uint8Array;
  receipt: string;
  logIndex: number | undefined;
  valid: boolean;
  errorCode: string | undefined;
  /** The bytes, kept only when they are not the note's delivered bytes (evidence). */
  envelope: Uint8Array | undefined;
  /** Our signed copy acknowledgement (a later redelivery is a replay, provable with it). */
  copyAck: Uint8Array | undefined;
  /** The relay's delivery record answering it. */
  deliveryRecord: Uint8Array | undefined;
  deliveryReceipt: string | undefined;
  ackedAt: number | undefined;
  redeliveries: number;
}

export interface ThreadEntry {
  id: string;
  /** The other party. */
  party: string;
  subject: string;
  startedAt: number;
  lastAt: number;
}

export const ALERT_KINDS = [
  'invalid_copy', // a relay delivered bytes that fail the sender's signature (or our checks)
  'equivocation', // two validly signed envelopes with one (sender, id)
  'drop', // a receipt without the delivery, past the deadline
  'delay', // a delivery record later than the precedence objective
  'replay', // a copy redelivered after our signed acknowledgement of it
  'fork', // two checkpoints of one origin that are not consistent
  'receipt_invalid', // a receipt or delivery record that does not verify, or is not in the log
  'key_change', // a party presented keys under another root
  'deadline_missed', // no channel delivered a note by its deadline
  'signer_revoked', // a party sent a note signed by a key its own bundle revokes (not the relay's fault)
  'signer_invalid', // a party sent a note under a signer certificate that is expired or invalid (not the relay's fault)
  'rotation_due', // this party's current encryption key is about to run out, or has: the root must sign a rotation
  'key_share_invalid', // a key share for this desk, signed by a station of its own party, was refused (nothing installed)
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Evidence is JSON: byte strings in base64, notes as text, so it can be exported and re-verified. */
export type EvidenceValue = string | number | boolean | null | EvidenceValue[] | { [key: string]: EvidenceValue };
export interface Evidence {
  [key: string]: EvidenceValue;
}

export interface NewAlert {
  kind: AlertKind;
  at: number;
  relay: string | undefined;
  party: string | undefined;
  note: NoteRefHex | undefined;
  message: string;
  evidence: Evidence;
  /** The same fact is raised once: a later raise with the same key is ignored. */
  dedupeKey: string;
}

export interface Alert extends Omit<NewAlert, 'dedupeKey'> {
  id: number;
  resolvedAt: number | undefined;
}

export interface SeenCheckpoint {
  relay: string;
  size: number;
  rootHash: Uint8Array;
  /** The signed note, verbatim (with any cosignatures). */
  note: string;
  seenAt: number;
  /** Proven consistent with the previous one held (or the first one held). */
  consistent: boolean;
}
