/**
 * `sync`: fetch from every channel, verify, merge, acknowledge each copy to its relay, send the
 * party-level acknowledgement back through every channel the notes came by, collect the delivery
 * records of our sent notes, and check deadlines (issue 4, "Receiving"; DESIGN.md "Delivery and
 * acknowledgement").
 *
 * Relays are fetched concurrently (a slow relay must not hold up the others) and merged one copy
 * at a time. A relay that fails is reported and skipped; the others go on.
 */
import { sendCopyAcks, signCopyAcks } from './copy-acks.js';
import { precheckCopies } from './copy-check-pool.js';
import { checkDeadlines, type DeadlineReport } from './deadlines.js';
import { pullDeliveries } from './deliveries.js';
import type { Channel, Desk } from './desk.js';
import { sendEndToEndAcks, type AckSent } from './end-to-end-ack.js';
import { describeFailure } from './errors.js';
import { receiveCopy, type PendingAck, type ReceivedEntry } from './receive-copy.js';

/** What `Station.sync` returns. */
export interface SyncReport {
  relays: { relay: string; ok: boolean; fetched: number; acknowledged: number; deliveries: number; error?: { code: string; message: string } }[];
  /** Every copy fetched, with what became of it. */
  received: ReceivedEntry[];
  /** Notes newly delivered (first valid copies). */
  delivered: number;
  /** End-to-end acknowledgements sent. */
  acks: AckSent[];
  deadlines: DeadlineReport;
  /** Ids of alerts raised during this sync. */
  alerts: number[];
}

/**
 * Progress of a sync, for a person watching a long one: `fetch` after each page of copies from
 * a relay (with that relay's running count), then `acks`, `deliveries` and `deadlines` once each.
 */
export interface SyncProgress {
  phase: 'fetch' | 'acks' | 'deliveries' | 'deadlines';
  /** The relay of a `fetch` step. */
  relay?: string;
  /** Copies fetched so far from that relay (fetch), or from every relay (the other phases). */
  fetched: number;
  /** Copies fetched so far from every relay. */
  total: number;
}

export interface SyncOptions {
  /** Told how the sync goes; must not throw (what it throws is ignored). */
  onProgress?: (p: SyncProgress) => void;
}

// A page is one fetch round trip and one acknowledgement (one request, one fsync) for all its
// copies: at 50, a sync of 10,000 notes spent much of its time waiting on 400 round trips. 500
// is the relay's most (its pages also end at a byte limit): on two cores a sync of 10,000 took
// 11.1–11.6 s against 11.7–12.3 s at 200, the desk waiting ~21 ms on each page's fetch.
export const FETCH_LIMIT = 500;
const MAX_PAGES = 200;

export async function sync(desk: Desk, opts: SyncOptions = {}): Promise<SyncReport> {
  return desk.syncLock.run(() => syncOnce(desk, progressOf(opts.onProgress)));
}

function progressOf(fn: ((p: SyncProgress) => void) | undefined): (p: SyncProgress) => void {
  return (p) => {
    try {
      fn?.(p);
    } catch {
      // a progress display must never break a sync
    }
  };
}

async function syncOnce(desk: Desk, progress: (p: SyncProgress) => void): Promise<SyncReport> {
  const before = await lastAlertId(desk);
  const channels = await desk.channels();
  const relays: SyncReport['relays'] = [];
  const received: ReceivedEntry[] = [];
  await Promise.all(
    channels.map(async (ch) => {
      const r = { relay: ch.entry.id, ok: true, fetched: 0, acknowledged: 0, deliveries: 0 } as SyncReport['relays'][number];
      relays.push(r);
      try {
        const got = await pullCopies(desk, ch, received, (fetched) => {
          progress({ phase: 'fetch', relay: ch.entry.id, fetched, total: received.length });
        });
        r.fetched = got.fetched;
        r.acknowledged = got.acknowledged;
        if (got.error !== undefined) {
          r.ok = false;
          r.error = describeFailure(got.error);
        }
      } catch (e) {
        r.ok = false;
        r.error = describeFailure(e);
        await desk.noteContact(ch.entry.id, e);
      }
    }),
  );
  progress({ phase: 'acks', fetched: received.length, total: received.length });
  const acks = await sendEndToEndAcks(desk);
  progress({ phase: 'deliveries', fetched: received.length, total: received.length });
  await Promise.all(
    channels.map(async (ch) => {
      const r = relays.find((x) => x.relay === ch.entry.id);
      try {
        const n = await pullDeliveries(desk, ch);
        if (r !== undefined) r.deliveries = n;
      } catch (e) {
        if (r !== undefined && r.ok) {
          r.ok = false;
          r.error = describeFailure(e);
        }
        await desk.noteContact(ch.entry.id, e);
      }
    }),
  );
  progress({ phase: 'deadlines', fetched: received.length, total: received.length });
  const deadlines = await desk.deadlineLock.run(() => checkDeadlines(desk));
  const alerts = (await desk.store.listAlerts()).filter((a) => a.id > before).map((a) => a.id);
  relays.sort((a, b) => channels.findIndex((c) => c.entry.id === a.relay) - channels.findIndex((c) => c.entry.id === b.relay));
  return { relays, received, delivered: received.filter((e) => e.outcome === 'deliver').length, acks, deadlines, alerts };
}

/**
 * Pages from one relay, in order. A page's merges and the signing of its acknowledgements are
 * one durable commit, made before the next page is fetched, since that fetch confirms the page
 * to the relay; the request carrying the acknowledgements, and the verifying and storing of the
 * relay's answers, run while the next page is fetched and merged. The cursor moves past a page
 * only once its answers are in: when an acknowledgement fails, the next sync fetches from there
 * again, and the relay hands the unacknowledged copies out again under the same numbers
 * (kysely-store.ts, `fetchForDesk`), which receiveCopy takes as redeliveries to acknowledge.
 *
 * Measured on syncs of 3,000 queued notes (two cores, nine alternating pairs): the desk and its
 * relay kept 1.64–1.69 cores busy against 1.49–1.52 with a page's acknowledgement awaited before
 * the next fetch, at the same CPU a note, so ~10 % more notes a second; the raw seconds drift
 * more than that with the machine's speed from run to run.
 */
async function pullCopies(desk: Desk, ch: Channel, received: ReceivedEntry[], onPage: (fetched: number) => void): Promise<{ fetched: number; acknowledged: number; error: unknown }> {
  const relay = ch.entry.id;
  let after = await desk.store.getCursor(relay, 'fetch');
  let fetched = 0;
  let acknowledged = 0;
  let inFlight: InFlight | undefined;
  // The page before's answers: counted, and the cursor moved past it, if they came; what failed.
  const settle = async (): Promise<unknown> => {
    const f = inFlight;
    if (f === undefined) return undefined;
    inFlight = undefined;
    const a = await f.answer;
    if ('thrown' in a) throw a.thrown;
    acknowledged += a.acknowledged;
    if (a.error !== undefined) return a.error;
    await desk.store.setCursor(relay, 'fetch', f.next);
    onPage(f.fetched);
    return undefined;
  };
  try {
    for (let page = 0; page < MAX_PAGES; page++) {
      const p = await ch.api.fetch(after, FETCH_LIMIT);
      await desk.noteContact(relay);
      // The checks of the whole page start on worker threads; the merges below take them in order.
      const checks = await precheckCopies(desk, ch, p.items);
      const confirmed = after;
      // The page's merges and its acknowledgements in one durable commit (store.ts, `batch`);
      // what it received is reported once that has committed.
      const merged = await desk.mergeLock.run(() =>
        desk.store.batch(async () => {
          const entries: ReceivedEntry[] = [];
          const pending: PendingAck[] = [];
          for (const [i, item] of p.items.entries()) {
            const c = await receiveCopy(desk, ch, item, confirmed, checks?.[i]);
            await c.after?.();
            entries.push(c.entry);
            if (c.ack !== undefined) pending.push(c.ack);
          }
          return { entries, signed: await signCopyAcks(desk, ch, pending) };
        }),
      );
      received.push(...merged.entries);
      fetched += merged.entries.length;
      const error = await settle();
      if (error !== undefined) return { fetched, acknowledged, error };
      // Settled into a value at once: it is awaited only after the next fetch and merges.
      inFlight = {
        answer: sendCopyAcks(desk, ch, merged.signed).catch((thrown: unknown) => ({ thrown })),
        next: p.next,
        fetched,
      };
      after = p.next;
      if (!p.more || p.items.length === 0) break;
    }
  } catch (e) {
    // The page before may still be acknowledged: keep what it achieved, report what failed here.
    await settle().catch(() => undefined);
    throw e;
  }
  const error = await settle();
  return { fetched, acknowledged, error };
}

interface InFlight {
  answer: Promise<{ acknowledged: number; error: unknown } | { thrown: unknown }>;
  /** The cursor past the page. */
  next: number;
  /** Copies fetched up to the end of the page. */
  fetched: number;
}

async function lastAlertId(desk: Desk): Promise<number> {
  const all = await desk.store.listAlerts();
  return all.reduce((m, a) => Math.max(m, a.id), 0);
}
