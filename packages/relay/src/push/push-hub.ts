/**
 * Push delivery, the FLASH path (docs/relay-api.md, GET /v1/push). Each authenticated
 * connection belongs to one desk. After every group commit the hub "pumps" the connections of
 * the parties concerned: it assigns the desk's pending envelopes (FLASH first) exactly as a
 * fetch would, under the same per-desk sequence, and sends them as CBOR frames; delivery
 * records go to the sender's desks as they are logged.
 *
 * A desk that is caught up (its last pump left nothing pending, and none runs) is handed a
 * batch's envelopes inside the batch's own commit instead (`plan`, DeskAssignment in
 * relay-store.ts), where the store supports it: its frames leave right after the receipts, and the
 * pump's transaction, with its fsync, is not needed. The store makes such an assignment only
 * from the desk state the hub planned on, so a fetch in between makes it a pump as before.
 *
 * Memory stays bounded: a connection whose unsent bytes exceed the limit is dropped as a slow
 * consumer (it fetches with its cursor when it comes back), never buffered without bound.
 */
import { encodeCbor, equalBytes, toHex, type CborMap } from '@backchannel/core';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { CommittedRecords } from '../log/log-manager.js';
import type { RelayMetrics } from '../metrics.js';
import type { DeskAssignment, FetchResult, NewEnvelope, RelayStore, StoredDelivery } from '../store/relay-store.js';
import { deliveryItem, fetchItem } from '../app/items.js';

export interface PushConnection {
  socket: WebSocket;
  party: string;
  desk: Uint8Array;
}

interface Conn extends PushConnection {
  deskHex: string;
  pumping: boolean;
  dirty: boolean;
  /**
   * The desk's stored state as this connection's last pump left it, with nothing pending; kept
   * while commits that do not concern the desk go by, and undefined while a pump runs.
   */
  caughtUp: { lastSeq: number; scannedTo: number } | undefined;
  /** Assignments made in a commit whose frames are still to leave (`notify`), oldest first. */
  unsent: DeskAssignment[];
}

const PUMP_PAGE = 100;
/** WebSocket close codes (RFC 6455 §7.4.1): 1008 policy violation, 1013 try again later. */
export const CLOSE_POLICY = 1008;
export const CLOSE_TRY_LATER = 1013;

/**
 * Whether a fetch by this desk hands it the envelope (kysely-store.ts, `scanNewEnvelopes`): one
 * to the desk's party, or one its party sent to another party from another desk.
 */
function forDesk(e: NewEnvelope, party: string, desk: Uint8Array): boolean {
  return e.to === party || (e.from === party && !equalBytes(e.station, desk));
}

/** FLASH first, then by leaf index: the order a fetch hands pending envelopes out. */
function fetchOrder(a: NewEnvelope, b: NewEnvelope): number {
  return a.prec - b.prec || a.index - b.index;
}

/** A batch's envelopes by the parties they concern, sender and recipient. */
function byParty(envelopes: readonly NewEnvelope[]): Map<string, NewEnvelope[]> {
  const m = new Map<string, NewEnvelope[]>();
  const add = (party: string, e: NewEnvelope): void => {
    const l = m.get(party);
    if (l === undefined) m.set(party, [e]);
    else l.push(e);
  };
  for (const e of envelopes) {
    add(e.to, e);
    if (e.from !== e.to) add(e.from, e);
  }
  return m;
}

/** Whether a commit arrived during the last pump (and resets it): then pump again. */
function takeDirty(c: Conn): boolean {
  const d = c.dirty;
  c.dirty = false;
  return d;
}

export class PushHub {
  readonly #store: RelayStore;
  readonly #clock: () => number;
  readonly #metrics: RelayMetrics;
  readonly #logger: Logger;
  readonly #bufferLimit: number;
  readonly #pageBytes: number;
  readonly #maxConnections: number;
  readonly #conns = new Set<Conn>();
  /** The assignments `plan` made for the commit in progress, by connection. */
  readonly #planned = new Map<Conn, DeskAssignment>();
  readonly #ping: NodeJS.Timeout;

  constructor(o: { store: RelayStore; clock: () => number; metrics: RelayMetrics; logger: Logger; bufferBytes: number; pageBytes: number; maxConnections: number; pingMs: number }) {
    this.#store = o.store;
    this.#clock = o.clock;
    this.#metrics = o.metrics;
    this.#logger = o.logger;
    this.#bufferLimit = o.bufferBytes;
    this.#pageBytes = o.pageBytes;
    this.#maxConnections = o.maxConnections;
    this.#ping = setInterval(() => {
      for (const c of this.#conns) this.#send(c, { type: 'ping', time: this.#clock() });
    }, o.pingMs);
    this.#ping.unref();
  }

  get size(): number {
    return this.#conns.size;
  }

  get full(): boolean {
    return this.#conns.size >= this.#maxConnections;
  }

  /** Registers an authenticated connection and sends what is already pending for its desk. */
  add(p: PushConnection): void {
    const c: Conn = { ...p, deskHex: toHex(p.desk), pumping: false, dirty: false, caughtUp: undefined, unsent: [] };
    this.#conns.add(c);
    this.#metrics.pushConnections.set(this.#conns.size);
    p.socket.on('close', () => {
      this.#conns.delete(c);
      this.#metrics.pushConnections.set(this.#conns.size);
    });
    this.#pump(c);
  }

  /**
   * Just before a group commit: the desks to hand the batch's envelopes to in the commit, one
   * per caught-up desk the batch concerns. `notify` sends what the commit made of them.
   */
  plan(envelopes: readonly NewEnvelope[], now: number): DeskAssignment[] {
    this.#planned.clear();
    if (this.#conns.size === 0) return [];
    const concerned = byParty(envelopes);
    const desks = new Set<string>();
    const out: DeskAssignment[] = [];
    let scanTo = -1;
    for (const e of envelopes) scanTo = Math.max(scanTo, e.index);
    for (const c of this.#conns) {
      const state = c.caughtUp;
      if (state === undefined || c.pumping || desks.has(c.deskHex)) continue;
      const mine = (concerned.get(c.party) ?? []).filter((e) => forDesk(e, c.party, c.desk));
      if (mine.length === 0) continue;
      desks.add(c.deskHex);
      const a: DeskAssignment = { desk: c.desk, party: c.party, lastSeq: state.lastSeq, scannedTo: state.scannedTo, envelopes: mine.sort(fetchOrder), scanTo, assigned: now };
      this.#planned.set(c, a);
      out.push(a);
    }
    return out;
  }

  /**
   * A commit with planned assignments failed. It may have failed after its COMMIT (a writer
   * thread that died before answering), and an envelope assigned then was never sent and is no
   * longer pending: the desks planned for reconnect and catch up with their cursors.
   */
  commitFailed(): void {
    for (const c of this.#planned.keys()) {
      c.caughtUp = undefined;
      c.socket.close(CLOSE_TRY_LATER, 'a commit failed; fetch from your cursor');
    }
    this.#planned.clear();
  }

  /** Called after each group commit. */
  notify(records: CommittedRecords): void {
    if (this.#conns.size === 0) {
      this.#planned.clear();
      return;
    }
    // Who the batch's envelopes are for, as a fetch hands them out: the recipient party's desks,
    // and the sending party's desks other than the one that sent it. A desk is not pumped for
    // what it sent itself: that pump was a write transaction, with its fsync, that handed
    // nothing (one per note a watching desk sent).
    const concerned = byParty(records.envelopes);
    const concerns = (c: Conn): boolean => (concerned.get(c.party) ?? []).some((e) => forDesk(e, c.party, c.desk));
    const made = new Set(records.assigned);
    const bySender = new Map<string, StoredDelivery[]>();
    for (const d of records.deliveries) {
      const l = bySender.get(d.from) ?? [];
      l.push(d);
      bySender.set(d.from, l);
    }
    const send: Conn[] = [];
    for (const c of this.#conns) {
      const a = this.#planned.get(c);
      if (a !== undefined && made.has(a)) {
        // Still caught up, at the assignment's state: the next batch's plan builds on it.
        c.caughtUp = { lastSeq: a.lastSeq + a.envelopes.length, scannedTo: a.scanTo };
        c.unsent.push(a);
        send.push(c);
      } else if (concerns(c)) {
        // Not made: the desk's state moved (a fetch), so the plan's view of it is stale.
        c.caughtUp = undefined;
        this.#pump(c);
      }
      for (const d of bySender.get(c.party) ?? []) this.#send(c, { type: 'delivery', item: deliveryItem(d) });
    }
    this.#planned.clear();
    // After the batch's receipts, whose replies are written once this turn's callbacks have
    // run, as a pass's frames were: sent at once, ahead of them, one at a time was slower
    // (p50 7.06 against 6.74 ms, means of four alternating runs) and 1,000/s reached 5 % less.
    // A pass over the desk that sends before then sends these first (#flush), so frames keep
    // the desk's sequence order.
    if (send.length > 0) {
      setImmediate(() => {
        for (const c of send) this.#flush(c);
      });
    }
  }

  /** Sends the desk's envelopes assigned in commits and not yet sent, in order. */
  #flush(c: Conn): void {
    const unsent = c.unsent;
    if (unsent.length === 0) return;
    c.unsent = [];
    for (const a of unsent) {
      for (const [i, envelope] of a.envelopes.entries()) {
        if (!this.#send(c, { type: 'envelope', item: fetchItem({ seq: a.lastSeq + 1 + i, assigned: a.assigned, envelope }) })) return;
        this.#metrics.delivered.inc();
        this.#metrics.assignedInCommit.inc();
      }
    }
  }

  #pump(c: Conn): void {
    if (c.pumping) {
      c.dirty = true;
      return;
    }
    c.pumping = true;
    c.caughtUp = undefined;
    void (async () => {
      try {
        let last: FetchResult | undefined;
        do {
          for (;;) {
            if (!this.#conns.has(c)) return;
            const r = await this.#store.fetchForDesk({ desk: c.desk, party: c.party, after: undefined, limit: PUMP_PAGE, maxBytes: this.#pageBytes, now: this.#clock() });
            this.#flush(c);
            for (const it of r.items) {
              if (!this.#send(c, { type: 'envelope', item: fetchItem(it) })) return;
              this.#metrics.delivered.inc();
            }
            last = r;
            if (!r.more) break;
          }
        } while (takeDirty(c));
        // Every commit that concerned the desk while this ran made it pump again; the last
        // fetch left nothing pending.
        c.caughtUp = last.desk;
      } catch (e) {
        // The desk fetches what it missed with its cursor; a store hiccup must not kill the hub.
        this.#logger.warn({ err: e, desk: c.deskHex.slice(0, 16) }, 'push pump failed');
      } finally {
        c.pumping = false;
      }
    })();
  }

  /** Sends one frame; drops the connection (false) when it is not reading fast enough. */
  #send(c: Conn, frame: CborMap): boolean {
    if (c.socket.readyState !== c.socket.OPEN) return false;
    if (c.socket.bufferedAmount > this.#bufferLimit) {
      this.#metrics.slowConsumers.inc();
      this.#logger.info({ desk: c.deskHex.slice(0, 16) }, 'push: slow consumer dropped');
      c.socket.terminate();
      this.#conns.delete(c);
      this.#metrics.pushConnections.set(this.#conns.size);
      return false;
    }
    c.socket.send(encodeCbor(frame));
    return true;
  }

  close(): void {
    clearInterval(this.#ping);
    for (const c of this.#conns) c.socket.close(1001, 'relay shutting down');
    this.#conns.clear();
  }
}
