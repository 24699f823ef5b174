/**
 * Sustained load through real stations: several senders on one desk sending notes (each with a
 * unique subject), one recipient desk syncing (fetch, copy acks, end-to-end acks) in a loop, and
 * a poller collecting every checkpoint the relay hands out — until told to stop. What a crash
 * test needs afterwards is what the stations were promised: the notes that got a receipt.
 */
import type { Station } from '@backchannel/station';
import type { CheckpointLedger } from './crash-relay.js';

export interface SentNote {
  id: string;
  subject: string;
  receipted: boolean;
}

export interface LoadRound {
  /** Notes whose send returned (receipted or not). */
  sent: SentNote[];
  /** Sends that threw (not an answer from the relay: a bug, reported by the test). */
  errors: unknown[];
  syncs: number;
}

export interface LoadOptions {
  sender: Station;
  recipient: Station;
  to: string;
  relay: string;
  /** The relay's URL, for the checkpoint poller. */
  url: string;
  ledger: CheckpointLedger;
  senders: number;
  /** A unique prefix for subjects; the note number follows it. */
  label: () => string;
  /** Called after every receipt, with the round's count so far (the kill trigger). */
  onReceipt?: (count: number) => void;
}

/** Runs load until `stop` resolves; returns what was sent in this round. */
export async function runNoteLoad(o: LoadOptions, stop: Promise<void>): Promise<LoadRound> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  const round: LoadRound = { sent: [], errors: [], syncs: 0 };
  let receipts = 0;
  const sender = async (): Promise<void> => {
    while (!stopped) {
      const subject = o.label();
      try {
        const r = await o.sender.send({ to: o.to, precedence: 'ROUTINE', subject, body: `Body of ${subject}.`, via: [o.relay], failover: 'none' });
        const receipted = r.receipts.some((x) => x.relay === o.relay);
        round.sent.push({ id: r.id, subject, receipted });
        if (receipted) o.onReceipt?.(++receipts);
      } catch (e) {
        round.errors.push(e);
      }
    }
  };
  const syncer = async (): Promise<void> => {
    while (!stopped) {
      // A failing relay is reported in the sync report, not thrown; anything thrown is a bug.
      try {
        await o.recipient.sync();
        round.syncs++;
      } catch (e) {
        round.errors.push(e);
      }
    }
  };
  const poller = async (): Promise<void> => {
    while (!stopped) {
      let note: string | undefined;
      try {
        const res = await fetch(`${o.url}/checkpoint`);
        if (res.status === 200) note = await res.text();
      } catch {
        // Connection refused or reset: the relay is down, which is the point of the test.
      }
      // A fork or a bad signature is not the relay being down: it fails the test.
      if (note !== undefined) {
        try {
          o.ledger.record(note);
        } catch (e) {
          round.errors.push(e);
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all([...Array.from({ length: o.senders }, sender), syncer(), poller()]);
  return round;
}

/**
 * Syncs the recipient until a sync fetches nothing new from a reachable relay, so everything
 * the relay holds for it has been seen. Bounded: a relay that keeps handing out copies forever
 * fails the test instead of hanging it.
 */
export async function drainRecipient(recipient: Station, maxSyncs = 200): Promise<void> {
  for (let i = 0; i < maxSyncs; i++) {
    const r = await recipient.sync();
    const reachable = r.relays.every((x) => x.ok);
    if (reachable && r.relays.every((x) => x.fetched === 0)) return;
  }
  throw new Error(`the recipient was still fetching after ${maxSyncs} syncs`);
}

export interface InboxCheck {
  /** Receipted notes not shown (must be 0). */
  lost: string[];
  /** Notes shown more than once, by id or by subject (must be 0). */
  duplicates: string[];
  shown: number;
  /** Notes shown that the sender never got a receipt for (committed, answer lost in the crash). */
  unreceiptedShown: number;
}

/** Compares the recipient's inbox with what was sent: each receipted note exactly once. */
export async function checkInbox(recipient: Station, from: string, sent: readonly SentNote[]): Promise<InboxCheck> {
  const inbox = (await recipient.inbox({ limit: 1_000_000 })).filter((e) => e.direction === 'in' && e.from === from);
  const byId = new Map<string, number>();
  const bySubject = new Map<string, number>();
  for (const e of inbox) {
    byId.set(e.id, (byId.get(e.id) ?? 0) + 1);
    bySubject.set(e.subject, (bySubject.get(e.subject) ?? 0) + 1);
  }
  const duplicates = [...[...byId].filter(([, n]) => n > 1).map(([id]) => id), ...[...bySubject].filter(([, n]) => n > 1).map(([s]) => s)];
  const lost = sent.filter((s) => s.receipted && !byId.has(s.id)).map((s) => s.id);
  const receipted = new Set(sent.filter((s) => s.receipted).map((s) => s.id));
  return { lost, duplicates, shown: inbox.length, unreceiptedShown: inbox.filter((e) => !receipted.has(e.id)).length };
}
