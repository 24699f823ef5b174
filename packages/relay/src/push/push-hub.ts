/**
 * Push delivery, the FLASH path (docs/relay-api.md, GET /v1/push). Each authenticated
 * connection belongs to one desk. After every group commit the hub "pumps" the connections of
 * the parties concerned: it assigns the desk's pending envelopes (FLASH first) exactly as a
 * fetch would, under the same per-desk sequence, and sends them as CBOR frames; delivery
 * records go to the sender's desks as they are logged.
 *
 * Memory stays bounded: a connection whose unsent bytes exceed the limit is dropped as a slow
 * consumer (it fetches with its cursor when it comes back), never buffered without bound.
 */
import { encodeCbor, toHex, type CborMap } from '@backchannel/core';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { CommittedRecords } from '../log/log-manager.js';
import type { RelayMetrics } from '../metrics.js';
import type { RelayStore, StoredDelivery } from '../store/relay-store.js';
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
}

const PUMP_PAGE = 100;
/** WebSocket close codes (RFC 6455 §7.4.1): 1008 policy violation, 1013 try again later. */
export const CLOSE_POLICY = 1008;
export const CLOSE_TRY_LATER = 1013;

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
  readonly #maxConnections: number;
  readonly #conns = new Set<Conn>();
  readonly #ping: NodeJS.Timeout;

  constructor(o: { store: RelayStore; clock: () => number; metrics: RelayMetrics; logger: Logger; bufferBytes: number; maxConnections: number; pingMs: number }) {
    this.#store = o.store;
    this.#clock = o.clock;
    this.#metrics = o.metrics;
    this.#logger = o.logger;
    this.#bufferLimit = o.bufferBytes;
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
    const c: Conn = { ...p, deskHex: toHex(p.desk), pumping: false, dirty: false };
    this.#conns.add(c);
    this.#metrics.pushConnections.set(this.#conns.size);
    p.socket.on('close', () => {
      this.#conns.delete(c);
      this.#metrics.pushConnections.set(this.#conns.size);
    });
    this.#pump(c);
  }

  /** Called after each group commit. */
  notify(records: CommittedRecords): void {
    if (this.#conns.size === 0) return;
    // Who the batch's envelopes are for, as a fetch hands them out (kysely-store.ts,
    // `scanNewEnvelopes`): the recipient party's desks, and the sending party's desks other
    // than the one that sent it. A desk is not pumped for what it sent itself: that pump was a
    // write transaction, with its fsync, that handed nothing (one per note a watching desk sent).
    const to = new Set<string>();
    const sentFrom = new Map<string, Set<string>>();
    for (const e of records.envelopes) {
      to.add(e.to);
      let stations = sentFrom.get(e.from);
      if (stations === undefined) sentFrom.set(e.from, (stations = new Set()));
      stations.add(toHex(e.station));
    }
    const concerns = (c: Conn): boolean => {
      if (to.has(c.party)) return true;
      const stations = sentFrom.get(c.party);
      return stations !== undefined && (stations.size > 1 || !stations.has(c.deskHex));
    };
    const bySender = new Map<string, StoredDelivery[]>();
    for (const d of records.deliveries) {
      const l = bySender.get(d.from) ?? [];
      l.push(d);
      bySender.set(d.from, l);
    }
    for (const c of this.#conns) {
      if (concerns(c)) this.#pump(c);
      for (const d of bySender.get(c.party) ?? []) this.#send(c, { type: 'delivery', item: deliveryItem(d) });
    }
  }

  #pump(c: Conn): void {
    if (c.pumping) {
      c.dirty = true;
      return;
    }
    c.pumping = true;
    void (async () => {
      try {
        do {
          for (;;) {
            if (!this.#conns.has(c)) return;
            const r = await this.#store.fetchForDesk({ desk: c.desk, party: c.party, after: undefined, limit: PUMP_PAGE, now: this.#clock() });
            for (const it of r.items) {
              if (!this.#send(c, { type: 'envelope', item: fetchItem(it) })) return;
              this.#metrics.delivered.inc();
            }
            if (!r.more) break;
          }
        } while (takeDirty(c));
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
