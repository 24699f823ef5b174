/**
 * The mandate: which parties the relay serves, under which pinned root and newest bundle, and
 * between whom (DESIGN.md, "Identities, rotation, revocation"). It lives in the store, where
 * the CLI's `trust` writes it, possibly while the relay runs in another process; the relay
 * keeps a cache that it reloads on a miss (at most once a second) and on an interval.
 */
import { acceptBundle, BackchannelError, equalBytes, openBundle, toHex, type KeyBundle, type PartyCard, type SignedBundle } from '@backchannel/core';
import { RelayError } from '../errors.js';
import type { RelayStore, StoredParty } from '../store/relay-store.js';

export interface MandateParty {
  party: string;
  signed: SignedBundle;
  /** Parties this one may talk with; undefined: any party of the mandate. */
  allow: ReadonlySet<string> | undefined;
  /** Statements about this party: forbidden, counts only, or opening precedence and digest too. */
  statements: StatementPolicy;
}

export type StatementPolicy = 'forbid' | 'count' | 'open';

/** What `trust --statements` records: true opens precedence and digest, false counts only, 'forbid' refuses statements. */
export type StatementConsent = boolean | 'forbid';

function policyOf(p: Pick<StoredParty, 'statements' | 'forbidStatements'>): StatementPolicy {
  if (p.forbidStatements === true) return 'forbid';
  return p.statements ? 'open' : 'count';
}

const MISS_RELOAD_MS = 1000;

function fromStored(p: StoredParty): MandateParty {
  const signed = openBundle(p.bundle);
  if (signed.bundle.party !== p.party || !equalBytes(signed.bundle.root, p.root)) {
    throw new RelayError('store_inconsistent', `the mandate's bundle for ${p.party} does not match its pinned root`);
  }
  return { party: p.party, signed, allow: p.allow === undefined ? undefined : new Set(p.allow), statements: policyOf(p) };
}

/**
 * Adds a party (its pinned bundle) to the mandate held in `store`, or updates it: a newer
 * bundle under the same root replaces the held one; an older one is ignored; a different root
 * is 'root_mismatch' (an alert for the operator, never accepted silently).
 */
export async function addParty(
  store: RelayStore,
  card: PartyCard,
  options: { allow?: string[]; statements?: StatementConsent },
  now: number,
): Promise<{ added: boolean; seq: number }> {
  const b = card.signed.bundle;
  const held = await store.getParty(card.id);
  const allow = options.allow === undefined ? held?.allow : [...new Set(options.allow)].sort();
  const consent: StatementConsent = options.statements ?? (held === undefined ? false : held.forbidStatements === true ? 'forbid' : held.statements);
  const statements = consent === true;
  const forbidStatements = consent === 'forbid';
  if (held === undefined) {
    await store.putParty({ party: b.party, root: b.root, bundle: card.signed.bytes, seq: b.seq, bundleHash: card.signed.hash, allow, statements, forbidStatements, updated: now });
    return { added: true, seq: b.seq };
  }
  if (!equalBytes(held.root, b.root)) {
    throw new BackchannelError('root_mismatch', `party ${card.id} is already in the mandate under another root key`, {
      details: { pinned: toHex(held.root), presented: toHex(b.root) },
    });
  }
  const pinned = openBundle(held.bundle);
  const newer = b.seq > pinned.bundle.seq && acceptBundle(pinned, card.signed);
  if (b.seq === pinned.bundle.seq) acceptBundle(pinned, card.signed); // two bundles of one sequence: bundle_stale
  const keep = newer ? card.signed : pinned;
  await store.putParty({ party: b.party, root: b.root, bundle: keep.bytes, seq: keep.bundle.seq, bundleHash: keep.hash, allow, statements, forbidStatements, updated: now });
  return { added: false, seq: keep.bundle.seq };
}

export class Mandate {
  readonly #store: RelayStore;
  readonly #clock: () => number;
  #parties = new Map<string, MandateParty>();
  #lastLoad = 0;
  /** Bundle updates are applied one at a time, so an older one never overwrites a newer one. */
  #updates: Promise<unknown> = Promise.resolve();

  constructor(store: RelayStore, clock: () => number) {
    this.#store = store;
    this.#clock = clock;
  }

  async load(): Promise<void> {
    const rows = await this.#store.listParties();
    const next = new Map<string, MandateParty>();
    for (const r of rows) next.set(r.party, fromStored(r));
    this.#parties = next;
    this.#lastLoad = this.#clock();
  }

  get size(): number {
    return this.#parties.size;
  }

  /** The party, reloading the mandate once on a miss (a `trust` run while the relay serves). */
  async lookup(party: string): Promise<MandateParty | undefined> {
    const p = this.#parties.get(party);
    if (p !== undefined) return p;
    if (this.#clock() - this.#lastLoad >= MISS_RELOAD_MS) {
      await this.load();
      return this.#parties.get(party);
    }
    return undefined;
  }

  /** The party, or 403 not_in_mandate. */
  async require(party: string): Promise<MandateParty> {
    const p = await this.lookup(party);
    if (p === undefined) throw new RelayError('not_in_mandate', `party ${party} is not in this relay's mandate`);
    return p;
  }

  /** Both parties in the mandate and each allowing the other; else 403. */
  async requirePair(from: string, to: string): Promise<{ sender: MandateParty; recipient: MandateParty }> {
    const sender = await this.require(from);
    const recipient = await this.require(to);
    // A party may always reach its own desks (key shares, docs/protocol.md §4.8): `allow` lists peers.
    if (from !== to && ((sender.allow !== undefined && !sender.allow.has(to)) || (recipient.allow !== undefined && !recipient.allow.has(from)))) {
      throw new RelayError('pair_not_allowed', `the mandate does not carry envelopes between ${from} and ${to}`);
    }
    return { sender, recipient };
  }

  /** A newer bundle posted by a station (POST /v1/bundles). */
  acceptBundle(bytes: Uint8Array): Promise<{ party: string; seq: number }> {
    const run = this.#updates.then(async () => {
      const candidate = openBundle(bytes);
      const b = candidate.bundle;
      const held = await this.require(b.party);
      if (!acceptBundle(held.signed, candidate)) return { party: b.party, seq: b.seq };
      const stored = await this.#store.getParty(b.party);
      if (stored === undefined) throw new RelayError('not_in_mandate', `party ${b.party} is not in this relay's mandate`);
      // The store may hold a newer bundle than our cache (another process): never go back.
      if (stored.seq >= b.seq) {
        await this.load();
        const now = await this.require(b.party);
        acceptBundle(now.signed, candidate);
      }
      await this.#store.putParty({ ...stored, bundle: candidate.bytes, seq: b.seq, bundleHash: candidate.hash, updated: this.#clock() });
      this.#parties.set(b.party, { ...held, signed: candidate });
      return { party: b.party, seq: b.seq };
    });
    this.#updates = run.catch(() => undefined);
    return run;
  }

  bundleOf(party: string): KeyBundle | undefined {
    return this.#parties.get(party)?.signed.bundle;
  }

  /** Every station key of the party's newest bundle (its enrolled desks). */
  desksOf(party: string): Uint8Array[] {
    return this.#parties.get(party)?.signed.bundle.stations.map((s) => s.pub) ?? [];
  }
}
