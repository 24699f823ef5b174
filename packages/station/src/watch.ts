/**
 * Watching: a push connection to every relay (push-client.ts), each copy merged and
 * acknowledged as it arrives, delivery records applied as they are logged, and the end-to-end
 * acknowledgement sent once a burst has been merged. The long-running mode `sync` has beside it
 * (issue 4, "Receiving"); the station daemon holds one. A dropped connection is reopened after
 * a pause, and a sync catches up on whatever was missed meanwhile.
 */
import type { Channel, Desk } from './desk.js';
import { sendCopyAcks, signCopyAcks, type SignedAcks } from './copy-acks.js';
import { recordDelivery } from './deliveries.js';
import { sendEndToEndAcks, type AckSent } from './end-to-end-ack.js';
import { describeFailure, type StationError } from './errors.js';
import { Mutex } from './mutex.js';
import { openPush, type PushConnection, type PushHandlers } from './push-client.js';
import { receiveCopy, type PendingAck, type ReceivedCopy, type ReceivedEntry } from './receive-copy.js';
import type { DeliveryItem, FetchItem } from './relay-wire.js';

export type WatchEvent =
  | { type: 'connected'; relay: string }
  | { type: 'disconnected'; relay: string; error: { code: string; message: string } | undefined }
  | { type: 'received'; entry: ReceivedEntry }
  | { type: 'delivered'; relay: string }
  | { type: 'acknowledged'; acks: AckSent[] }
  | { type: 'error'; relay: string | undefined; error: { code: string; message: string } };

/** Opens one push connection; the default speaks WebSocket to the relay's URL. */
export type ConnectPush = (ch: Channel, desk: Desk, handlers: PushHandlers) => PushConnection;

export const connectPushWs: ConnectPush = (ch, desk, handlers) =>
  openPush({ id: ch.entry.id, url: ch.entry.url, party: desk.party, station: desk.keys.station.key, clock: desk.clock, random: desk.random }, handlers);

/** The `confirmed` cursor for pushed items: below every sequence number (see Watch's #envelope). */
const PUSHED = -1;

export interface WatchOptions {
  onEvent?: (e: WatchEvent) => void;
  /** Pause before reopening a dropped connection, ms of clock time (default 5 s). */
  reconnectMs?: number;
  connect?: ConnectPush;
  /** Catches up (a full sync) after each reconnection. */
  catchUp: () => Promise<unknown>;
}

export class Watch {
  readonly #desk: Desk;
  readonly #o: WatchOptions;
  readonly #connections = new Map<string, PushConnection>();
  readonly #queues = new Map<string, Mutex>();
  /** Pushed envelopes not yet taken up, by relay: whatever piles up behind one batch is the next. */
  readonly #inbox = new Map<string, FetchItem[]>();
  readonly #timers = new Set<() => void>();
  #closed = false;
  #ackPending = false;

  constructor(desk: Desk, o: WatchOptions) {
    this.#desk = desk;
    this.#o = o;
  }

  async start(): Promise<void> {
    for (const ch of await this.#desk.channels()) this.#open(ch);
  }

  /** Closes every connection; work already received is finished first. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const cancel of this.#timers) cancel();
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
    for (const q of this.#queues.values()) await q.run(() => Promise.resolve());
  }

  #emit(e: WatchEvent): void {
    try {
      this.#o.onEvent?.(e);
    } catch {
      // A listener's failure is the listener's.
    }
  }

  #queue(relay: string): Mutex {
    let q = this.#queues.get(relay);
    if (q === undefined) {
      q = new Mutex();
      this.#queues.set(relay, q);
    }
    return q;
  }

  #open(ch: Channel): void {
    if (this.#closed) return;
    const relay = ch.entry.id;
    const q = this.#queue(relay);
    const conn = (this.#o.connect ?? connectPushWs)(ch, this.#desk, {
      opened: () => {
        this.#emit({ type: 'connected', relay });
      },
      envelope: (item) => {
        this.#take(ch, q, item);
      },
      delivery: (item) => void q.run(() => this.#delivery(ch, item)),
      closed: (error) => {
        this.#connections.delete(relay);
        this.#emit({ type: 'disconnected', relay, error: error === undefined ? undefined : { code: error.relayCode ?? error.code, message: error.message } });
        if (error !== undefined) void this.#desk.noteContact(relay, error);
        this.#reconnect(ch, error);
      },
    });
    this.#connections.set(relay, conn);
  }

  #reconnect(ch: Channel, error: StationError | undefined): void {
    if (this.#closed || error === undefined) return;
    const cancel = this.#desk.clock.setTimer(this.#o.reconnectMs ?? 5000, () => {
      this.#timers.delete(cancel);
      if (this.#closed) return;
      this.#open(ch);
      this.#o.catchUp().catch((e: unknown) => {
        this.#fail(undefined, e);
      });
    });
    this.#timers.add(cancel);
  }

  #take(ch: Channel, q: Mutex, item: FetchItem): void {
    const relay = ch.entry.id;
    let list = this.#inbox.get(relay);
    if (list === undefined) {
      list = [];
      this.#inbox.set(relay, list);
    }
    list.push(item);
    // The first frame of a batch queues its processing; later ones join it until it starts.
    if (list.length === 1) void q.run(() => this.#envelopes(ch));
  }

  /**
   * Merges the envelopes pushed so far and signs their acknowledgements in one durable commit
   * (the store's `batch`), then sends the acknowledgements to the relay in one request. One at
   * a time that is one note; under load, every frame that arrived meanwhile, up to a page. Each
   * copy merged on its own cost a commit that rewrote the log's pages for it (~0.3 ms here), and
   * the signing of the acknowledgements another.
   *
   * A copy whose merge throws (storage trouble, a bug; a bad copy is not thrown, it is kept as
   * evidence) must not take the others with it: the batch then rolls back whole, and the same
   * frames are merged one at a time, each in its own commit, the failing one reported.
   */
  async #envelopes(ch: Channel): Promise<void> {
    const relay = ch.entry.id;
    const items = this.#inbox.get(relay)?.splice(0) ?? [];
    for (let i = 0; i < items.length; i += BURST_PAGE) {
      const page = items.slice(i, i + BURST_PAGE);
      const merged = (await this.#mergeTogether(ch, page)) ?? (await this.#mergeEach(ch, page));
      try {
        // Acknowledging records the contact (or the failure) with the relay's answer; copies not
        // to acknowledge record it here.
        if (merged.signed.length > 0) await sendCopyAcks(this.#desk, ch, merged.signed);
        else if (merged.unacknowledged) await this.#desk.noteContact(relay);
        if (merged.signed.length > 0 || merged.unacknowledged) this.#scheduleAcks();
        // The gossip the notes carried, checked once the copies are merged, reported and acknowledged.
        for (const a of merged.after) await a();
      } catch (e) {
        this.#fail(relay, e);
      }
    }
  }

  /** The page's merges and acknowledgements in one commit; undefined when it rolled back. */
  async #mergeTogether(ch: Channel, page: readonly FetchItem[]): Promise<Merged | undefined> {
    let merged: Merged;
    try {
      merged = await this.#desk.mergeLock.run(() =>
        this.#desk.store.batch(async () => {
          const m = emptyMerged();
          const pending: PendingAck[] = [];
          for (const item of page) {
            // A push frame is the relay's first hand-out of its sequence number (the hub pushes
            // only newly assigned items), so one with the same number as the copy we hold is that
            // hand-out reaching us twice, never a replay: a sync run beside this watch (a
            // hand-over to the daemon) may have fetched it as "handed out, unconfirmed",
            // acknowledged it and moved the cursor past it while this frame waited in the queue.
            // Reading the cursor here made that ordinary race a false `replay` alert. A new number
            // for an acknowledged copy still is one.
            take(m, pending, await receiveCopy(this.#desk, ch, item, PUSHED));
          }
          m.signed = await signCopyAcks(this.#desk, ch, pending);
          return m;
        }),
      );
    } catch {
      return undefined;
    }
    // Reported once committed: a note is shown only when it is stored.
    for (const entry of merged.entries) this.#emit({ type: 'received', entry });
    return merged;
  }

  /** The page one copy at a time, each merge in its own commit: a failure is that copy's alone. */
  async #mergeEach(ch: Channel, page: readonly FetchItem[]): Promise<Merged> {
    const relay = ch.entry.id;
    const m = emptyMerged();
    const pending: PendingAck[] = [];
    for (const item of page) {
      try {
        const r = await this.#desk.mergeLock.run(() => receiveCopy(this.#desk, ch, item, PUSHED));
        this.#emit({ type: 'received', entry: r.entry });
        take(m, pending, r);
      } catch (e) {
        this.#fail(relay, e);
      }
    }
    try {
      m.signed = await signCopyAcks(this.#desk, ch, pending);
    } catch (e) {
      this.#fail(relay, e);
    }
    return m;
  }

  async #delivery(ch: Channel, item: DeliveryItem): Promise<void> {
    try {
      if (await recordDelivery(this.#desk, ch, item.record, item.receipt)) this.#emit({ type: 'delivered', relay: ch.entry.id });
    } catch (e) {
      this.#fail(ch.entry.id, e);
    }
  }

  /** One end-to-end acknowledgement per burst: copies of one note arrive from several relays within moments. */
  #scheduleAcks(): void {
    if (this.#ackPending || this.#closed) return;
    this.#ackPending = true;
    const cancel = this.#desk.clock.setTimer(ACK_BURST_MS, () => {
      this.#timers.delete(cancel);
      this.#ackPending = false;
      if (this.#closed) return;
      this.#desk.syncLock
        .run(() => sendEndToEndAcks(this.#desk))
        .then(
          (acks) => {
            if (acks.length > 0) this.#emit({ type: 'acknowledged', acks });
          },
          (e: unknown) => {
            this.#fail(undefined, e);
          },
        );
    });
    this.#timers.add(cancel);
  }

  #fail(relay: string | undefined, e: unknown): void {
    this.#emit({ type: 'error', relay, error: describeFailure(e) });
  }
}

/** What a page of pushed copies came to: reported, its acknowledgements signed and stored, its gossip still to check. */
interface Merged {
  entries: ReceivedEntry[];
  signed: SignedAcks[];
  after: (() => Promise<void>)[];
  /** Some copy is not to be acknowledged (the relay's contact is recorded without a request). */
  unacknowledged: boolean;
}

function emptyMerged(): Merged {
  return { entries: [], signed: [], after: [], unacknowledged: false };
}

/** Adds a merged copy to its page's outcome: its entry, its acknowledgement to sign, its gossip check. */
function take(m: Merged, pending: PendingAck[], r: ReceivedCopy): void {
  m.entries.push(r.entry);
  if (r.ack !== undefined) pending.push(r.ack);
  else m.unacknowledged = true;
  if (r.after !== undefined) m.after.push(r.after);
}

/** At most this many pushed copies merge in one commit, as a sync page does. */
const BURST_PAGE = 200;

/** How long a burst of copies is gathered before it is acknowledged end to end. */
export const ACK_BURST_MS = 250;
