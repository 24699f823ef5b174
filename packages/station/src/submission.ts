/**
 * Submitting one sealed note to relays, with failover (DESIGN.md, "The station daemon and
 * failover"): the same sealed bytes go to every relay, each with its own submission token bound
 * to that relay's log origin. A relay fails over
 *
 *  - at once when its submission fails (refused, unreachable, timed out, or a receipt that does
 *    not verify), and
 *  - for FLASH, when no receipt came within one second (the slow relay keeps going),
 *
 * to the note's next failover candidates: FLASH, whose policy is every channel, takes all the
 * remaining candidates at once; other precedences take the next one. The half-deadline
 * failover (no delivery record by half the deadline) is deadlines.ts's, through `failOver`.
 *
 * Every receipt is verified (verifyReceipt) before it is stored: a relay that answers with a
 * receipt for something else has not accepted the note, and is raised as `receipt_invalid`.
 */
import { isBackchannelError, sha256, signSubmissionToken, verifyReceipt } from '@backchannel/core';
import type { Channel, Desk } from './desk.js';
import { describeFailure, isStationError, StationError } from './errors.js';
import type { SubmitAnswer } from './relay-wire.js';
import { receiptEvidence } from './evidence.js';
import type { ChannelRole, OutgoingChannel, OutgoingNote } from './store/types.js';

export interface ChannelAnswer {
  relay: string;
  ok: boolean;
  logIndex?: number;
  code?: string;
  message?: string;
}

export class Submission {
  readonly #desk: Desk;
  readonly #note: OutgoingNote;
  #queue: string[];
  readonly #pending = new Set<Promise<void>>();
  readonly answers = new Map<string, ChannelAnswer>();
  readonly failovers: { relay: string; reason: string }[] = [];
  /** Serializes writes of the failover queue, so the store always holds the latest. */
  #queueWrite: Promise<void> = Promise.resolve();

  constructor(desk: Desk, note: OutgoingNote) {
    this.#desk = desk;
    this.#note = note;
    this.#queue = [...note.failover];
  }

  /**
   * The answers in the order their relays were started (chosen first, then failovers), not the
   * order they came back in: what callers report stays the same from run to run.
   */
  get answered(): ChannelAnswer[] {
    return [...this.#started].flatMap((r) => {
      const a = this.answers.get(r);
      return a === undefined ? [] : [a];
    });
  }

  /** Relays started and not yet answered. */
  get waiting(): string[] {
    return [...this.#started].filter((r) => !this.answers.has(r));
  }

  readonly #started = new Set<string>();

  /** Submits to `relay` in the background; `settle` waits for it. */
  launch(relay: string, role: ChannelRole, reason?: string): void {
    if (this.#started.has(relay)) return;
    this.#started.add(relay);
    this.#queue = this.#queue.filter((r) => r !== relay);
    const p = this.#run(relay, role, reason).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /**
   * Fails over to the next candidate(s), with the reason recorded on the new channel. Returns
   * the relays started; none when the candidates are exhausted (or the policy said `none`).
   */
  failOver(reason: string): string[] {
    const n = this.#note.precedence === 'FLASH' ? this.#queue.length : Math.min(1, this.#queue.length);
    const next = this.#queue.slice(0, n);
    for (const relay of next) {
      this.failovers.push({ relay, reason });
      this.launch(relay, 'failover', reason);
    }
    if (next.length > 0) {
      const remaining = [...this.#queue];
      this.#queueWrite = this.#queueWrite.then(() => this.#desk.store.updateOutgoing(this.#note.id, { failover: remaining })).catch(() => undefined);
    }
    return next;
  }

  /** Waits until every started submission (failovers included) answered, or `timeoutMs` of clock time passed. */
  async settle(timeoutMs: number): Promise<void> {
    const state = { timedOut: false };
    let cancel: (() => void) | undefined;
    const timeout = new Promise<void>((resolve) => {
      cancel = this.#desk.clock.setTimer(timeoutMs, () => {
        state.timedOut = true;
        resolve();
      });
    });
    try {
      while (this.#pending.size > 0 && !state.timedOut) await Promise.race([...this.#pending, timeout]);
    } finally {
      cancel?.();
    }
    await this.#queueWrite;
  }

  async #run(relay: string, role: ChannelRole, reason: string | undefined): Promise<void> {
    const desk = this.#desk;
    const note = this.#note;
    let answered = false;
    const cancelFlash =
      note.precedence === 'FLASH'
        ? desk.clock.setTimer(desk.policy.flashReceiptMs, () => {
            if (!answered) this.failOver(`no receipt from ${relay} within ${desk.policy.flashReceiptMs} ms`);
          })
        : undefined;
    try {
      const c = await submitToRelay(desk, note, relay, role, reason);
      answered = true;
      this.answers.set(relay, { relay, ok: true, logIndex: c.logIndex ?? 0 });
    } catch (e) {
      answered = true;
      const f = describeFailure(e);
      this.answers.set(relay, { relay, ok: false, code: f.code, message: f.message });
      this.failOver(`submission to ${relay} failed (${f.code})`);
    } finally {
      cancelFlash?.();
    }
  }
}

/**
 * A relay that holds an older bundle of ours refuses what a newer one vouches for (403
 * key_unknown for a new desk, 409 bundle_stale for a newer bundle: docs/relay-api.md): give it
 * our bundle, then submit once more. If it will not take the bundle, the first refusal stands.
 */
async function submitWithBundle(desk: Desk, ch: Channel, envelope: Uint8Array, token: Uint8Array): Promise<SubmitAnswer> {
  try {
    return await ch.api.submit(envelope, token);
  } catch (e) {
    if (!isStationError(e, 'relay_refused') || (e.relayCode !== 'bundle_stale' && e.relayCode !== 'key_unknown')) throw e;
    const self = await desk.store.getParty(desk.party);
    const bundle = self?.bundle ?? desk.keys.bundle;
    if (bundle.bundle.seq === 1) throw e; // the relay's mandate holds bundle 1 at least
    try {
      await ch.api.postBundle(bundle.bytes);
    } catch {
      throw e;
    }
  }
  return ch.api.submit(envelope, token);
}

/**
 * One submission: token, POST, receipt verified, channel state stored. Throws a typed error
 * after recording it on the channel. A channel that already holds a receipt is not resubmitted.
 */
export async function submitToRelay(desk: Desk, note: OutgoingNote, relay: string, role: ChannelRole, reason: string | undefined): Promise<OutgoingChannel> {
  const store = desk.store;
  const existing = await store.getChannel(note.id, relay);
  if (existing?.receipt !== undefined) return existing;
  // A chosen channel's row is written with the note (send.ts: one commit before the first
  // submission); a failover's is written here, before its submission.
  const channel: OutgoingChannel = existing ?? newChannel(note.id, relay, role, reason, desk.clock.now());
  if (existing === undefined) await store.saveChannel(channel);
  let token: Uint8Array | undefined;
  let receipt: string | undefined;
  try {
    const ch = await desk.channel(relay);
    token = signSubmissionToken(desk.keys.station.key, { origin: ch.card.origin, party: desk.party, digest: note.digest, time: desk.clock.now(), random: desk.random });
    const answer = await submitWithBundle(desk, ch, note.envelope, token);
    receipt = answer.receipt;
    // A duplicate's receipt is the original submission's: its leaf commits to the first token.
    const v = verifyReceipt(answer.receipt, ch.card.vkey, { type: 'submit', digest: note.digest, ...(answer.duplicate ? {} : { ref: sha256(token) }) });
    if (v.index !== answer.index) throw new StationError('relay_response_invalid', `relay ${relay} answered index ${answer.index} with a receipt for index ${v.index}`);
    const now = desk.clock.now();
    const done: OutgoingChannel = { ...channel, token, submittedAt: now, receipt: answer.receipt, logIndex: v.index, error: undefined };
    // The verified receipt, its checkpoint and the relay's health in one commit, without an
    // fsync of its own: a receipt lost in a crash is handed out again when the same bytes are
    // resubmitted (a duplicate's receipt is the original's), and the next durable commit
    // carries this one with it.
    await store.transaction(async (tx) => {
      await tx.saveChannel(done);
      await tx.saveCheckpoint({ relay, size: v.checkpoint.size, rootHash: v.checkpoint.rootHash, note: v.checkpointNote, seenAt: now, consistent: false });
      await desk.noteContact(relay, undefined, tx);
    }, { durable: false });
    return done;
  } catch (e) {
    const f = describeFailure(e);
    await store.transaction(async (tx) => {
      await tx.saveChannel({ ...channel, token, error: { ...f, at: desk.clock.now() } });
      await desk.noteContact(relay, e, tx);
    });
    if (receipt !== undefined && isBackchannelError(e)) {
      // The relay answered 200 with a receipt that does not prove what it claims.
      await desk.raise({
        kind: 'receipt_invalid',
        relay,
        party: note.to,
        note: { from: desk.party, id: note.id },
        message: `relay ${relay} answered a submission with a receipt that does not verify (${f.code})`,
        evidence: receiptEvidence({ relay, receipt, token, digest: note.digest, error: f }),
        dedupeKey: `receipt_invalid/submit/${relay}/${note.id}`,
      });
    }
    throw e;
  }
}

/** A channel's state before its first submission. */
export function newChannel(noteId: string, relay: string, role: ChannelRole, reason: string | undefined, startedAt: number): OutgoingChannel {
  return {
    noteId,
    relay,
    role,
    reason,
    startedAt,
    token: undefined,
    submittedAt: undefined,
    receipt: undefined,
    logIndex: undefined,
    error: undefined,
    deliveredAt: undefined,
    deliveryRecord: undefined,
    deliveryReceipt: undefined,
    ackedAt: undefined,
    recipientArrivalAt: undefined,
    readAt: undefined,
  };
}
