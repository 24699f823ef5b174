/**
 * The station: a party's desk (PRODUCT.md, "Roles"). It seals and signs notes, sends them
 * through one or several relays with precedence deadlines and failover, receives every copy,
 * checks that all copies are the same, acknowledges, and tells its user where each note stands
 * — with an alert and its evidence whenever a relay or a party misbehaves.
 *
 * The CLI (`backchannel send`, `sync`, `show`, …) and the station daemon are built on this
 * class; other programs can embed a desk the same way:
 *
 * ```ts
 * const station = await Station.open({ path: 'station.db', keys });
 * await station.pinParty(irCardJson, { fingerprint: '12345 67890 …' });
 * await station.addRelay(chCardJson);
 * const sent = await station.send({ to: 'ir', precedence: 'FLASH', subject: 'Restraint', body: 'Do not escalate.' });
 * const report = await station.sync();
 * await station.close();
 * ```
 *
 * Time and randomness are injected (`clock`, `random`), so deadlines and failover are exact in
 * tests; `timeScale` shrinks the precedence objectives for tests and the demo.
 */
import { BackchannelError, equalBytes, partyFingerprint, systemRandom, toHex, type Precedence, type Random } from '@backchannel/core';
import { systemClock, type Clock } from './clock.js';
import { checkDeadlines, type DeadlineReport } from './deadlines.js';
import { recordDelivery } from './deliveries.js';
import { connectHttp, Desk, type ConnectRelay } from './desk.js';
import { describeFailure, StationError } from './errors.js';
import { loadDeskKeys, type StationKeys } from './keys.js';
import { makePolicy, type Policy, type PrecedenceRule } from './policy.js';
import { dispatch, findNote, sealAndStore, sendNote, type SendRequest, type SendResult } from './send.js';
import { openSqliteStore } from './store/sqlite-store.js';
import type { StationStore } from './store/store.js';
import type { Alert, AlertKind, OutgoingNote } from './store/types.js';
import { sync, type SyncOptions, type SyncReport } from './sync.js';
import { addRelay, pinParty, type PinResult, type RelayPinResult } from './trust.js';
import { verifyLogs, type VerifyOptions, type VerifyReport } from './verify-logs.js';
import { getWitnessPolicy, makeWitnessPolicy, setWitnessPolicy, type WitnessPolicy } from './witness-policy.js';
import { gossipOut, receiveGossip, type GossipItem, type GossipReport } from './gossip.js';
import { Watch, type ConnectPush, type WatchEvent } from './watch.js';
import { shareKeys, type InstallKeys, type KeyMaterial, type KeyShareResult } from './key-share.js';
import { checkKeyRotation, DEFAULT_ROTATION_WARN_DAYS, type RotationCheck } from './key-rotation.js';
import { listChannelHealth, listInbox, showNote, showThread, type ChannelHealthView, type InboxEntry, type NoteView, type ThreadView } from './views.js';

export interface StationOptions {
  /** The station's SQLite file (created if missing), or ':memory:' for tests. */
  path: string;
  /** The desk's keys, decrypted by the caller. */
  keys: StationKeys;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: the system's CSPRNG. */
  random?: Random;
  /** Overrides of the precedence policy (objectives, channel counts, timeouts). */
  policy?: Partial<Omit<Policy, 'rules'>> & { rules?: Partial<Record<Precedence, Partial<PrecedenceRule>>> };
  /** Multiplies every delivery objective (tests and the demo); default 1. */
  timeScale?: number;
  /** How to reach a relay; default HTTP (docs/relay-api.md). */
  connect?: ConnectRelay;
  /**
   * Whether to run the half-deadline and deadline checks on timers of `clock` (default true).
   * A one-shot command may turn them off and call `checkDeadlines` itself.
   */
  timers?: boolean;
  /** Told about what the timers did (failovers, drops, missed deadlines) or why they failed. */
  onTimer?: (outcome: DeadlineReport | Error) => void;
  /**
   * Days before the party's current encryption key runs out at which the key-rotation timer
   * raises `rotation_due` (default 7); the timer runs with the others, hourly on `clock`.
   */
  rotationWarnDays?: number;
  /** Told about each key-rotation check the timer made, or why it failed. */
  onKeyCheck?: (outcome: RotationCheck[] | Error) => void;
  /**
   * Persists the keys a key share from another desk of the party brought (key-share.ts), before
   * the running desk uses them; without it they live only as long as this station is open.
   */
  installKeys?: InstallKeys;
}

/** How often the timers look at the encryption keys' validity (a day's warning is plenty of slack). */
const ROTATION_CHECK_MS = 3_600_000;

/** What `shareBundle` reports for one peer party: the envelope's id and each relay's answer. */
export interface BundleShare {
  party: string;
  /** The bundle envelope's id; undefined when there was no channel to send it through. */
  id: string | undefined;
  /** Relays that gave a (checked) receipt. */
  receipts: string[];
  failures: { relay: string; code: string; message: string }[];
  /** Relays that had not answered yet; their submissions continue while the station is open. */
  pending: string[];
}

export interface PartyView {
  id: string;
  name: string;
  fingerprint: string;
  seq: number;
  self: boolean;
  pinned_at: number;
  updated_at: number;
}

export class Station {
  readonly #desk: Desk;
  readonly #store: StationStore;
  readonly #timers = new Set<() => void>();
  readonly #watches = new Set<Watch>();
  readonly #useTimers: boolean;
  readonly #onTimer: ((outcome: DeadlineReport | Error) => void) | undefined;
  readonly #onKeyCheck: ((outcome: RotationCheck[] | Error) => void) | undefined;
  readonly #rotationWarnDays: number;
  #closed = false;

  private constructor(desk: Desk, store: StationStore, o: StationOptions) {
    this.#desk = desk;
    this.#store = store;
    this.#useTimers = o.timers ?? true;
    this.#onTimer = o.onTimer;
    this.#onKeyCheck = o.onKeyCheck;
    this.#rotationWarnDays = o.rotationWarnDays ?? DEFAULT_ROTATION_WARN_DAYS;
    if (!Number.isFinite(this.#rotationWarnDays) || this.#rotationWarnDays < 0) throw new BackchannelError('argument_invalid', 'rotationWarnDays must be a number of days, 0 or more');
  }

  /**
   * Opens (creating if needed) a desk's station store and checks the keys against the party's
   * own bundle. Throws `storage_key_wrong` if the store was written under another storage key,
   * and the core's key errors (`key_unknown`, `key_revoked`, `certificate_invalid`, …) for keys
   * the bundle does not vouch for.
   */
  static async open(o: StationOptions): Promise<Station> {
    const clock = o.clock ?? systemClock;
    const random = o.random ?? systemRandom;
    const policy = makePolicy({ ...o.policy, ...(o.timeScale === undefined ? {} : { timeScale: o.timeScale }) });
    const keys = await loadDeskKeys(o.keys, clock.now());
    const store = await openSqliteStore({ path: o.path, storageKey: keys.storageKey, random });
    try {
      const desk = new Desk({ store, keys, clock, random, policy, connect: o.connect ?? connectHttp });
      desk.installKeys = o.installKeys;
      await registerSelf(desk);
      const station = new Station(desk, store, o);
      if (station.#useTimers) {
        for (const n of await store.listOutgoing({ open: true, kinds: ['note'] })) station.#arm(n);
        station.#armKeyCheck(0);
      }
      return station;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  /**
   * Replaces the desk's keys in a running station (after a root operation on the home: `rotate`,
   * `signer add/revoke`, `station add` sign a new bundle and may add keys). The new keys are
   * checked as `open` checks them; they must be the same party, station key and storage key (a
   * different store needs a new station). The own party's bundle in the store moves forward.
   * Copies already being opened finish with the keys they started with.
   */
  async reloadKeys(k: StationKeys): Promise<void> {
    const keys = await loadDeskKeys(k, this.#desk.clock.now());
    const old = this.#desk.keys;
    if (keys.party !== old.party) throw new BackchannelError('argument_invalid', `the new keys are party ${keys.party}'s, not ${old.party}'s`);
    if (!equalBytes(keys.station.key.publicKey, old.station.key.publicKey)) throw new BackchannelError('argument_invalid', 'the new keys are for another station key: open a new station instead');
    if (!equalBytes(keys.storageKey, old.storageKey)) throw new BackchannelError('argument_invalid', 'the new keys carry another storage key: open a new station instead');
    if (!equalBytes(keys.bundle.bundle.root, old.bundle.bundle.root)) throw new BackchannelError('argument_invalid', 'the new bundle is under another root key');
    this.#desk.keys = keys;
    await registerSelf(this.#desk);
  }

  /** This desk's party id. */
  get party(): string {
    return this.#desk.party;
  }

  /** The precedence policy in force (after time scaling). */
  get policy(): Policy {
    return this.#desk.policy;
  }

  /** Stops the timers and closes the store. Submissions already under way are abandoned. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    for (const w of this.#watches) await w.close();
    await this.#desk.deadlineLock.run(() => Promise.resolve());
    await this.#desk.syncLock.run(() => Promise.resolve());
    await this.#desk.closeChecks();
    await this.#store.close();
  }

  /**
   * Pins another party from its card (JSON text or object). With `fingerprint`, the card must
   * have it. A card for a pinned party under another root is refused (`root_mismatch`) and
   * raised as a `key_change` alert; a newer bundle of the pinned root is accepted.
   */
  async pinParty(card: unknown, opts: { fingerprint?: string } = {}): Promise<PinResult> {
    return pinParty(this.#desk, card, opts);
  }

  /** Adds a relay as a channel (its card, JSON text or object). `rank` orders channels; the lowest is the primary. */
  async addRelay(card: unknown, opts: { fingerprint?: string; rank?: number; witnesses?: readonly string[]; quorum?: number } = {}): Promise<RelayPinResult> {
    // Checked before anything is stored: a bad policy leaves the relay unchanged.
    const policy = opts.witnesses === undefined && opts.quorum === undefined ? undefined : makeWitnessPolicy(opts.witnesses ?? [], opts.quorum);
    const r = await addRelay(this.#desk, card, { ...(opts.fingerprint === undefined ? {} : { fingerprint: opts.fingerprint }), ...(opts.rank === undefined ? {} : { rank: opts.rank }) });
    if (policy !== undefined) await setWitnessPolicy(this.#store, r.relay, policy);
    return r;
  }

  /** The relay's witness quorum policy (C2SP tlog-policy style): which witness vkeys, how many must cosign. */
  async witnessPolicy(relay: string): Promise<WitnessPolicy> {
    if ((await this.#store.getRelay(relay)) === undefined) throw new StationError('unknown_relay', `no relay ${relay} has been added`);
    return getWitnessPolicy(this.#store, relay);
  }

  async setWitnessPolicy(relay: string, witnesses: readonly string[], quorum?: number): Promise<WitnessPolicy> {
    if ((await this.#store.getRelay(relay)) === undefined) throw new StationError('unknown_relay', `no relay ${relay} has been added`);
    const p = makeWitnessPolicy(witnesses, quorum);
    await setWitnessPolicy(this.#store, relay, p);
    return p;
  }

  /** Gossip to pass to a peer party: the latest checkpoint this desk saw of every relay. */
  async gossip(): Promise<GossipItem[]> {
    return gossipOut(this.#desk);
  }

  /** Checks checkpoints a peer party gossiped; inconsistent ones raise `fork` alerts with both signed checkpoints. */
  async receiveGossip(from: string, items: readonly GossipItem[]): Promise<GossipReport> {
    return receiveGossip(this.#desk, from, items);
  }

  /** The parties pinned here, this desk's own included. */
  async parties(): Promise<PartyView[]> {
    return (await this.#store.listParties()).map((p) => ({
      id: p.id,
      name: p.name,
      fingerprint: p.fingerprint,
      seq: p.bundle.bundle.seq,
      self: p.self,
      pinned_at: p.pinnedAt,
      updated_at: p.updatedAt,
    }));
  }

  /**
   * Seals a note once, stores it, and submits it to the chosen relays concurrently (default
   * per precedence: FLASH every channel, IMMEDIATE two, PRIORITY and ROUTINE the primary).
   * Every receipt is verified. Returns when every relay answered or the policy's send timeout
   * passed; failing relays are failed over at once (FLASH also after one second without a
   * receipt), and the half-deadline failover runs on the clock's timers.
   */
  async send(req: SendRequest): Promise<SendResult> {
    const { result, note } = await sendNote(this.#desk, req);
    // The note as stored (send wrote it before submitting): no need to read it back.
    this.#arm(note);
    return result;
  }

  /** Sends the hotline's test message to a party through every channel (or `via`), so each side knows every channel carries notes. */
  async heartbeat(to: string, opts: { via?: readonly string[] } = {}): Promise<SendResult> {
    const seq = Number((await this.#store.getSetting(`heartbeat/${to}`)) ?? '0') + 1;
    await this.#store.setSetting(`heartbeat/${to}`, String(seq));
    const { note, chosen } = await sealAndStore(this.#desk, {
      to,
      precedence: 'ROUTINE',
      content: () => ({ kind: 'heartbeat', seq }),
      replyTo: undefined,
      signer: undefined,
      via: opts.via ?? (await this.#store.listRelays()).map((r) => r.id),
      failover: 'none',
    });
    await this.#store.updateOutgoing(note.id, { closedAt: this.#desk.clock.now() });
    const s = await dispatch(this.#desk, note, chosen);
    const answers = s.answered;
    return {
      id: note.id,
      thread: note.id,
      digest: toHex(note.digest),
      precedence: note.precedence,
      deadline: note.deadline,
      receipts: answers.filter((a) => a.ok).map((a) => ({ relay: a.relay, log_index: a.logIndex ?? 0 })),
      failures: answers.filter((a) => !a.ok).map((a) => ({ relay: a.relay, code: a.code ?? 'internal', message: a.message ?? '' })),
      failover: [],
      pending: s.waiting,
    };
  }

  /**
   * Fetches from every channel, verifies and merges the copies, acknowledges each to its relay,
   * sends the end-to-end acknowledgement back through every channel the notes came by, collects
   * the delivery records of sent notes, and checks deadlines. `onProgress` is told after each
   * page fetched and at each later phase (a long sync of thousands of notes shows progress).
   */
  async sync(opts: SyncOptions = {}): Promise<SyncReport> {
    return sync(this.#desk, opts);
  }

  /** Notes in both directions, newest first. */
  async inbox(opts: { limit?: number } = {}): Promise<InboxEntry[]> {
    return listInbox(this.#desk, opts);
  }

  /** One note: attribution, body, every copy per relay, consistency, the delivery timeline. `not_found` if unknown. */
  async show(id: string, opts: { from?: string } = {}): Promise<NoteView> {
    return showNote(this.#desk, id, opts.from);
  }

  /** A thread (by its id or any of its notes' ids), each note with its delivery timeline. */
  async thread(id: string): Promise<ThreadView> {
    return showThread(this.#desk, id);
  }

  /** Marks a received note read; with `receipt`, sends the optional sealed read receipt to its sender through the channels it came by. */
  async markRead(id: string, opts: { from?: string; receipt?: boolean } = {}): Promise<void> {
    const ref = await findNote(this.#desk, opts.from === undefined ? id : { from: opts.from, id });
    const n = await this.#store.getIncoming(ref.from, ref.id);
    if (n === undefined || n.from === this.party) throw new StationError('not_found', `no received note ${id}`);
    const at = this.#desk.clock.now();
    if (n.readAt === undefined) await this.#store.updateIncoming(n.from, n.id, { readAt: at });
    if (opts.receipt !== true) return;
    const via = [...new Set((await this.#store.listCopies(n.from, n.id)).filter((c) => c.valid).map((c) => c.relay))];
    const { note, chosen } = await sealAndStore(this.#desk, {
      to: n.from,
      precedence: 'ROUTINE',
      content: () => ({ kind: 'read', reads: [{ from: n.from, id: Buffer.from(n.id, 'hex'), at }] }),
      replyTo: undefined,
      signer: undefined,
      via,
      failover: 'none',
    });
    await this.#store.updateOutgoing(note.id, { closedAt: at });
    await dispatch(this.#desk, note, chosen);
  }

  /**
   * Checks every receipt and checkpoint held against the relays' logs: inclusion of every
   * receipt in the current tree, consistency of every checkpoint seen with the current one.
   * A fork or a receipt for something not in the log is an alert with the evidence.
   * `onProgress` is told as each relay starts and every 25 receipts checked.
   */
  async verify(opts: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyLogs(this.#desk, opts);
  }

  /** Alerts with their evidence, oldest first. */
  async alerts(opts: { open?: boolean; kind?: AlertKind } = {}): Promise<Alert[]> {
    return this.#store.listAlerts(opts);
  }

  /** Marks an alert resolved (it stays in the archive with its evidence). */
  async resolveAlert(id: number): Promise<void> {
    await this.#store.resolveAlert(id, this.#desk.clock.now());
  }

  /** Health of each channel: last contact, last heartbeat, lag, last error, open alerts. */
  async channels(): Promise<ChannelHealthView[]> {
    return listChannelHealth(this.#desk);
  }

  /**
   * Runs the deadline checks now: half-deadline failover, drops and missed deadlines (the
   * timers call this; a one-shot command may too). Fetches delivery records first from the
   * relays concerned.
   */
  async checkDeadlines(): Promise<DeadlineReport> {
    return this.#desk.deadlineLock.run(() => checkDeadlines(this.#desk, (relays) => this.#refreshDeliveries(relays)));
  }

  /**
   * Holds a push connection to every relay (the FLASH path): copies are merged and acknowledged
   * as they arrive, delivery records applied as they are logged, the end-to-end acknowledgement
   * sent after each burst. Catches up with a sync first and after every reconnection. Close the
   * returned watch (or the station) to stop.
   */
  async watch(opts: { onEvent?: (e: WatchEvent) => void; reconnectMs?: number; connect?: ConnectPush } = {}): Promise<Watch> {
    const w = new Watch(this.#desk, { ...opts, catchUp: () => this.sync() });
    this.#watches.add(w);
    await w.start();
    await this.sync();
    return w;
  }

  /**
   * Sends this party's current bundle sealed to each pinned peer party (default: every one), as
   * a `bundle` content envelope through every channel (DESIGN.md, "Identities": stations send
   * new bundles to their peer party, sealed). The peer accepts it only under the root it pinned;
   * another root is a `key_change` alert there. Send it after `publishBundle`: a peer that sees
   * an envelope naming a bundle it does not hold fetches the bundle from the relay.
   */
  async shareBundle(opts: { to?: readonly string[] } = {}): Promise<BundleShare[]> {
    const self = await this.#store.getParty(this.party);
    const bundle = (self?.bundle ?? this.#desk.keys.bundle).bytes;
    const peers = (await this.#store.listParties()).filter((p) => !p.self).map((p) => p.id);
    for (const p of opts.to ?? []) if (!peers.includes(p)) throw new StationError('unknown_party', `party ${p} is not pinned at this station`);
    const out: BundleShare[] = [];
    const via = (await this.#store.listRelays()).map((r) => r.id);
    for (const to of opts.to ?? peers) {
      if (via.length === 0) {
        out.push({ party: to, id: undefined, receipts: [], failures: [], pending: [] });
        continue;
      }
      const { note, chosen } = await sealAndStore(this.#desk, {
        to,
        precedence: 'PRIORITY',
        content: () => ({ kind: 'bundle', bundle }),
        replyTo: undefined,
        signer: undefined,
        via,
        failover: 'none',
      });
      // Nothing acknowledges a bundle: no deadline runs for it.
      await this.#store.updateOutgoing(note.id, { closedAt: this.#desk.clock.now() });
      const s = await dispatch(this.#desk, note, chosen);
      const answers = s.answered;
      out.push({
        party: to,
        id: note.id,
        receipts: answers.filter((a) => a.ok).map((a) => a.relay),
        failures: answers.filter((a) => !a.ok).map((a) => ({ relay: a.relay, code: a.code ?? 'internal', message: a.message ?? '' })),
        pending: s.waiting,
      });
    }
    return out;
  }

  /**
   * Hands the party's private keys under its newest bundle to every other desk the bundle lists
   * (after `rotate`, `signer add/revoke`), each sealed to that desk's own key-agreement key in a
   * desk envelope through every relay (docs/protocol.md §4.8). Send it after `publishBundle`
   * (relays refuse an envelope naming a bundle they do not hold) and before `shareBundle` (so
   * the share is ahead of notes the peer seals to the new keys). A desk enrolled before key
   * delivery has no such key: it is reported as skipped, and gets the keys by hand.
   */
  async shareKeys(material: KeyMaterial): Promise<KeyShareResult[]> {
    return shareKeys(this.#desk, material);
  }

  /** Sends this party's current bundle to every relay (after a rotation), reporting each. */
  async publishBundle(): Promise<{ relay: string; ok: boolean; code?: string; message?: string }[]> {
    const self = await this.#store.getParty(this.party);
    const bundle = (self?.bundle ?? this.#desk.keys.bundle).bytes;
    const out: { relay: string; ok: boolean; code?: string; message?: string }[] = [];
    for (const ch of await this.#desk.channels()) {
      try {
        await ch.api.postBundle(bundle);
        await this.#desk.noteContact(ch.entry.id);
        out.push({ relay: ch.entry.id, ok: true });
      } catch (e) {
        await this.#desk.noteContact(ch.entry.id, e);
        out.push({ relay: ch.entry.id, ok: false, ...describeFailure(e) });
      }
    }
    return out;
  }

  /**
   * The key-rotation reminder (key-rotation.ts): raises `rotation_due` when the party's current
   * encryption key of a suite is within the warning of its end (default 7 days), and again when
   * it has run out. The root signs rotations and may be offline, so nothing rotates by itself.
   */
  async checkKeyRotation(opts: { warnDays?: number } = {}): Promise<RotationCheck[]> {
    return checkKeyRotation(this.#desk, opts.warnDays ?? this.#rotationWarnDays);
  }

  #armKeyCheck(ms: number): void {
    if (!this.#useTimers || this.#closed) return;
    const cancel = this.#desk.clock.setTimer(ms, () => {
      this.#timers.delete(cancel);
      if (this.#closed) return;
      this.checkKeyRotation().then(
        (r) => this.#onKeyCheck?.(r),
        (e: unknown) => this.#onKeyCheck?.(e instanceof Error ? e : new Error(String(e))),
      ).finally(() => {
        this.#armKeyCheck(ROTATION_CHECK_MS);
      });
    });
    this.#timers.add(cancel);
  }

  async #refreshDeliveries(relays: readonly string[]): Promise<void> {
    for (const id of new Set(relays)) {
      try {
        const ch = await this.#desk.channel(id);
        const after = await this.#store.getCursor(id, 'deliveries');
        const page = await ch.api.deliveries(after, 500);
        for (const item of page.items) await recordDelivery(this.#desk, ch, item.record, item.receipt);
        await this.#store.setCursor(id, 'deliveries', page.next);
        await this.#desk.noteContact(id);
      } catch (e) {
        await this.#desk.noteContact(id, e);
      }
    }
  }

  #arm(n: OutgoingNote): void {
    if (!this.#useTimers || this.#closed) return;
    const now = this.#desk.clock.now();
    const half = n.created + Math.floor((n.deadline - n.created) / 2);
    for (const at of n.lateFailoverAt === undefined ? [half, n.deadline] : [n.deadline]) {
      const cancel = this.#desk.clock.setTimer(Math.max(0, at - now), () => {
        this.#timers.delete(cancel);
        if (this.#closed) return;
        this.checkDeadlines().then(
          (r) => this.#onTimer?.(r),
          (e: unknown) => this.#onTimer?.(e instanceof Error ? e : new Error(String(e))),
        );
      });
      this.#timers.add(cancel);
    }
  }
}

/** Records this desk's own party (its bundle moves forward with the keys; its root never changes). */
async function registerSelf(desk: Desk): Promise<void> {
  const b = desk.keys.bundle;
  const now = desk.clock.now();
  const held = await desk.store.getParty(desk.party);
  if (held === undefined) {
    await desk.store.saveParty({ id: desk.party, name: b.bundle.name, fingerprint: fingerprintOf(desk), root: b.bundle.root, bundle: b, self: true, pinnedAt: now, updatedAt: now });
    return;
  }
  if (!held.self) throw new StationError('store_invalid', `this store pinned ${desk.party} as another party`);
  if (Buffer.compare(Buffer.from(held.root), Buffer.from(b.bundle.root)) !== 0) {
    throw new StationError('store_invalid', `this store belongs to party ${desk.party} under another root key`);
  }
  if (b.bundle.seq > held.bundle.bundle.seq) await desk.store.saveParty({ ...held, name: b.bundle.name, bundle: b, updatedAt: now });
}

function fingerprintOf(desk: Desk): string {
  return partyFingerprint(desk.party, desk.keys.bundle.bundle.root);
}
