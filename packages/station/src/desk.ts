/**
 * What every part of the station works with: the store, the keys, the clock, randomness, the
 * policy, and a client per pinned relay. Internal; the public face is station.ts.
 */
import { parseRelayCard, type Ed25519Key, type Random, type RelayCard } from '@backchannel/core';
import type { Clock } from './clock.js';
import { CopyCheckPool } from './copy-check-pool.js';
import { StationError, describeFailure } from './errors.js';
import type { DeskKeys } from './keys.js';
import type { InstallKeys } from './key-share.js';
import { Mutex } from './mutex.js';
import { OpenedEnvelopes } from './opened-envelopes.js';
import type { Policy } from './policy.js';
import { HttpRelayClient, type RelayApi } from './relay-client.js';
import type { StationStore } from './store/store.js';
import type { NewAlert, RelayEntry } from './store/types.js';

/** Makes the client the station uses to talk to one relay. The default speaks HTTP. */
export type ConnectRelay = (relay: RelayEntry, desk: { party: string; station: Ed25519Key; clock: Clock; random: Random; timeoutMs: number }) => RelayApi;

export const connectHttp: ConnectRelay = (relay, desk) =>
  new HttpRelayClient({ id: relay.id, url: relay.url, party: desk.party, station: desk.station, clock: desk.clock, random: desk.random, timeoutMs: desk.timeoutMs });

export interface Channel {
  entry: RelayEntry;
  card: RelayCard;
  api: RelayApi;
}

export class Desk {
  readonly store: StationStore;
  /** Replaced as a whole by `Station.reloadKeys` after a root operation (rotate, signer add/revoke). */
  keys: DeskKeys;
  readonly clock: Clock;
  readonly random: Random;
  readonly policy: Policy;
  /** Merging is one copy at a time (merge.ts). */
  readonly mergeLock = new Mutex();
  /** Deadline checks run one at a time, whoever calls them (timers, sync, the caller). */
  readonly deadlineLock = new Mutex();
  /** One sync at a time: two would acknowledge the same notes twice. */
  readonly syncLock = new Mutex();
  /** Envelopes opened lately, so that other relays' copies of a note are not opened again (opened-envelopes.ts). */
  readonly opened = new OpenedEnvelopes();
  /** Persists keys a key share brought (key-share.ts) before the desk uses them; set by Station.open. */
  installKeys: InstallKeys | undefined;
  readonly #connect: ConnectRelay;
  readonly #channels = new Map<string, Channel>();
  #checks: CopyCheckPool | undefined;

  constructor(p: { store: StationStore; keys: DeskKeys; clock: Clock; random: Random; policy: Policy; connect: ConnectRelay }) {
    this.store = p.store;
    this.keys = p.keys;
    this.clock = p.clock;
    this.random = p.random;
    this.policy = p.policy;
    this.#connect = p.connect;
  }

  get party(): string {
    return this.keys.party;
  }

  /** Worker threads for the checks of received copies (copy-check-pool.ts), started on first use. */
  get checks(): CopyCheckPool {
    return (this.#checks ??= new CopyCheckPool());
  }

  /** Stops the copy-check workers, if any were started. */
  async closeChecks(): Promise<void> {
    const c = this.#checks;
    this.#checks = undefined;
    await c?.close();
  }

  /** The pinned relay with its parsed card and a client. `unknown_relay` if it was never added. */
  async channel(id: string): Promise<Channel> {
    const cached = this.#channels.get(id);
    if (cached !== undefined) return cached;
    const entry = await this.store.getRelay(id);
    if (entry === undefined) throw new StationError('unknown_relay', `no relay ${id} has been added to this station`);
    return this.#open(entry);
  }

  async channels(): Promise<Channel[]> {
    const entries = await this.store.listRelays();
    return entries.map((e) => this.#channels.get(e.id) ?? this.#open(e));
  }

  /** Forgets a cached client (after the relay's card changed). */
  forget(id: string): void {
    this.#channels.delete(id);
  }

  #open(entry: RelayEntry): Channel {
    const card = parseRelayCard(entry.card);
    const api = this.#connect(entry, { party: this.party, station: this.keys.station.key, clock: this.clock, random: this.random, timeoutMs: this.policy.requestTimeoutMs });
    const c = { entry, card, api };
    this.#channels.set(entry.id, c);
    return c;
  }

  /**
   * Records the outcome of talking to a relay, for `channels()`. Never throws. Inside a
   * transaction, pass its store (`tx`): the record then joins that commit.
   */
  async noteContact(relay: string, error?: unknown, tx: StationStore = this.store): Promise<void> {
    const now = this.clock.now();
    try {
      if (error === undefined) await tx.updateRelayHealth(relay, { lastContact: now, lastError: undefined });
      else {
        const f = describeFailure(error);
        await tx.updateRelayHealth(relay, { lastError: { code: f.code, message: f.message, at: now } });
      }
    } catch {
      // Health is advisory; a failure to record it must not mask the outcome being recorded.
    }
  }

  async raise(a: Omit<NewAlert, 'at'> & { at?: number }): Promise<number | undefined> {
    const r = await this.store.raiseAlert({ ...a, at: a.at ?? this.clock.now() });
    return r.created ? r.alert.id : undefined;
  }
}
