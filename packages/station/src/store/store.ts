/**
 * The station's store: one narrow interface, defined by what the station needs (STYLE.md §8),
 * so the archive's engine can change without the station noticing. The SQLite implementation
 * is sqlite-store.ts. Every method is atomic; `transaction` groups several into one commit,
 * which the station uses wherever a half-done change would mislead (a note and its first copy,
 * an alert and the state it explains).
 *
 * Notes' contents go in as plaintext and are encrypted at rest by the implementation under the
 * per-station storage key; the sealed envelopes are stored as they travel.
 */
import type { ContentKind } from '@backchannel/core';
import type {
  AckPending,
  Alert,
  AlertKind,
  CopyRecord,
  CursorStream,
  IncomingNote,
  NewAlert,
  OutgoingChannel,
  OutgoingNote,
  PinnedParty,
  RelayEntry,
  RelayHealth,
  SeenCheckpoint,
  ThreadEntry,
} from './types.js';

export interface NoteFilter {
  thread?: string;
  /** Outgoing: deadline tracking still open (closedAt unset). */
  open?: boolean;
  kinds?: readonly string[];
  limit?: number;
}

export interface TransactionOptions {
  /**
   * Default true: the commit is durable when `transaction` returns. False: it is visible at
   * once but durable only with the next durable commit (or statement) of this store, which
   * makes every earlier commit durable with it. For writes that a later durable commit always
   * follows before anything depends on them (a received copy, then its acknowledgement), or
   * that may be lost in a crash without harm (a receipt the relay hands out again).
   */
  durable?: boolean;
}

export interface StationStore {
  /** Runs `fn` in one transaction; inside one already, joins it (and its durability). */
  transaction<T>(fn: (tx: StationStore) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` with every call it makes to this store (transactions included, which join it) in
   * one transaction, committed once when `fn` is done: durable if anything inside asked for a
   * durable transaction. Calls from elsewhere wait until it commits, so `fn` must never wait on
   * them. A failure that leaves `fn` rolls back everything it wrote; a transaction inside that
   * fails is not rolled back on its own, so one whose failure `fn` catches must not leave half
   * its writes behind.
   */
  batch<T>(fn: () => Promise<T>): Promise<T>;

  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  getParty(id: string): Promise<PinnedParty | undefined>;
  listParties(): Promise<PinnedParty[]>;
  /** Inserts or replaces a party (its bundle moves forward only; the station checks that). */
  saveParty(p: PinnedParty): Promise<void>;

  getRelay(id: string): Promise<RelayEntry | undefined>;
  /** In order of preference, the primary first. */
  listRelays(): Promise<RelayEntry[]>;
  saveRelay(r: Omit<RelayEntry, 'health'>): Promise<void>;
  updateRelayHealth(id: string, patch: Partial<RelayHealth>): Promise<void>;

  getCursor(relay: string, stream: CursorStream): Promise<number>;
  setCursor(relay: string, stream: CursorStream, value: number): Promise<void>;

  insertOutgoing(n: OutgoingNote): Promise<void>;
  getOutgoing(id: string): Promise<OutgoingNote | undefined>;
  listOutgoing(f?: NoteFilter): Promise<OutgoingNote[]>;
  updateOutgoing(id: string, patch: Partial<Pick<OutgoingNote, 'failover' | 'ackedAt' | 'readAt' | 'closedAt' | 'lateFailoverAt'>>): Promise<void>;
  getChannel(noteId: string, relay: string): Promise<OutgoingChannel | undefined>;
  /** Inserts or replaces the state of one note on one channel. */
  saveChannel(c: OutgoingChannel): Promise<void>;
  listChannels(noteId: string): Promise<OutgoingChannel[]>;

  getIncoming(from: string, id: string): Promise<IncomingNote | undefined>;
  /** The delivered note's digest alone: what merging a copy compares, without reading and decrypting the whole note. */
  getIncomingDigest(from: string, id: string): Promise<Uint8Array | undefined>;
  /** Every note, either direction, with this id (ids are random; a collision across senders is possible, not likely). */
  findIncomingById(id: string): Promise<IncomingNote[]>;
  insertIncoming(n: IncomingNote): Promise<void>;
  updateIncoming(from: string, id: string, patch: Partial<Pick<IncomingNote, 'equivocated' | 'readAt' | 'ackSentAt'>>): Promise<void>;
  listIncoming(f?: NoteFilter): Promise<IncomingNote[]>;
  /**
   * Received notes of these kinds that our end-to-end acknowledgement still owes, leaving out
   * `notFrom`'s (our own desks' notes, never acknowledged), oldest first: only what an
   * acknowledgement names, so no content is read or opened.
   */
  listAckPending(kinds: readonly ContentKind[], notFrom: string): Promise<AckPending[]>;

  getCopy(from: string, id: string, relay: string, digest: Uint8Array): Promise<CopyRecord | undefined>;
  listCopies(from: string, id: string): Promise<CopyRecord[]>;
  /** Inserts or replaces the copy (from, id, relay, digest). */
  saveCopy(c: CopyRecord): Promise<void>;
  /**
   * Sets the acknowledgement fields (or the redelivery count) of an existing copy, leaving the
   * rest of the row alone; false if there is no such copy. Acknowledging a copy writes these
   * alone, and reading and rewriting the whole row (its envelope among it) for them was two
   * statements per copy, and could undo a concurrent write of another field.
   */
  updateCopy(from: string, id: string, relay: string, digest: Uint8Array, patch: Partial<Pick<CopyRecord, 'copyAck' | 'deliveryRecord' | 'deliveryReceipt' | 'ackedAt' | 'redeliveries'>>): Promise<boolean>;

  getThread(id: string): Promise<ThreadEntry | undefined>;
  saveThread(t: ThreadEntry): Promise<void>;

  /** Raises an alert unless one with the same dedupe key exists; returns it and whether it is new. */
  raiseAlert(a: NewAlert): Promise<{ alert: Alert; created: boolean }>;
  listAlerts(f?: { open?: boolean; kind?: AlertKind }): Promise<Alert[]>;
  resolveAlert(id: number, at: number): Promise<void>;

  /** Records a checkpoint seen from a relay (once per size and root; `consistent` only ever goes from false to true). */
  saveCheckpoint(c: SeenCheckpoint): Promise<void>;
  /** The largest checkpoint held for a relay. */
  latestCheckpoint(relay: string): Promise<SeenCheckpoint | undefined>;
  /** Every checkpoint held for a relay (or those of one tree size), smallest first. */
  listCheckpoints(relay: string, f?: { size?: number }): Promise<SeenCheckpoint[]>;

  close(): Promise<void>;
}
