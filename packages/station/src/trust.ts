/**
 * Pinning parties and relays (DESIGN.md, "Identities, rotation, revocation"). A party is pinned
 * by its root: a newer bundle the pinned root signed is accepted automatically; a bundle under
 * another root is refused and raised as a `key_change` alert the user must resolve — never
 * silently accepted. Relays are pinned the same way, by their log key and origin.
 *
 * Whether the person checked the fingerprint out of band is the CLI's question (it shows the
 * fingerprint and asks, or takes `--fingerprint`); when a fingerprint is given here it must match.
 */
import {
  BackchannelError,
  acceptBundle,
  equalBytes,
  fingerprintsEqual,
  isBackchannelError,
  parsePartyCard,
  parseRelayCard,
  partyFingerprint,
  type PartyCard,
  type RelayCard,
  type SignedBundle,
} from '@backchannel/core';
import type { Desk } from './desk.js';
import { StationError } from './errors.js';
import { keyChangeEvidence } from './evidence.js';

export interface PinResult {
  party: string;
  fingerprint: string;
  seq: number;
  /** `pinned`: first time; `updated`: a newer bundle of the pinned root; `unchanged`: already held. */
  status: 'pinned' | 'updated' | 'unchanged';
}

export interface RelayPinResult {
  relay: string;
  fingerprint: string;
  origin: string;
  status: 'added' | 'updated' | 'unchanged';
}

/** Pins a party from its card (JSON text, a parsed object, or a PartyCard). */
export async function pinParty(desk: Desk, input: unknown, opts: { fingerprint?: string } = {}): Promise<PinResult> {
  const card: PartyCard = isPartyCard(input) ? input : parsePartyCard(input);
  if (opts.fingerprint !== undefined && !fingerprintsEqual(opts.fingerprint, card.fingerprint)) {
    throw new BackchannelError('fingerprint_mismatch', `party ${card.id}'s card does not have the fingerprint given`);
  }
  if (card.id === desk.party) throw new BackchannelError('argument_invalid', `party ${card.id} is this station's own party`);
  const r = await offerBundle(desk, card.signed, 'card');
  return { party: card.id, fingerprint: card.fingerprint, seq: r.seq, status: r.status };
}

/**
 * Offers a bundle for its party: pins it if the party is new, accepts it if the pinned root
 * signed it with a higher sequence, refuses it otherwise. A different root raises a
 * `key_change` alert and throws `root_mismatch`.
 */
export async function offerBundle(desk: Desk, signed: SignedBundle, via: string): Promise<{ seq: number; status: PinResult['status'] }> {
  const b = signed.bundle;
  const now = desk.clock.now();
  const pinned = await desk.store.getParty(b.party);
  if (pinned === undefined) {
    if (via !== 'card') throw new StationError('unknown_party', `party ${b.party} is not pinned at this station`);
    await desk.store.saveParty({ id: b.party, name: b.name, fingerprint: partyFingerprint(b.party, b.root), root: b.root, bundle: signed, self: false, pinnedAt: now, updatedAt: now });
    return { seq: b.seq, status: 'pinned' };
  }
  let newer: boolean;
  try {
    newer = acceptBundle(pinned.bundle, signed);
  } catch (e) {
    if (isBackchannelError(e, 'root_mismatch')) {
      await desk.raise({
        kind: 'key_change',
        relay: via === 'card' ? undefined : via,
        party: b.party,
        note: undefined,
        message: `party ${b.party} presented keys under a different root than the one pinned (via ${via}); refused until resolved out of band`,
        evidence: keyChangeEvidence({ party: b.party, pinnedRoot: pinned.root, presentedRoot: b.root, bundle: signed.bytes, via }),
        dedupeKey: `key_change/${b.party}/${Buffer.from(b.root).toString('hex')}`,
      });
    }
    throw e;
  }
  if (!newer) return { seq: pinned.bundle.bundle.seq, status: 'unchanged' };
  await desk.store.saveParty({ ...pinned, name: b.name, bundle: signed, updatedAt: now });
  return { seq: b.seq, status: 'updated' };
}

/** Adds a relay as a channel, from its card. A relay already pinned under another log key or origin is refused. */
export async function addRelay(desk: Desk, input: unknown, opts: { fingerprint?: string; rank?: number } = {}): Promise<RelayPinResult> {
  const card: RelayCard = isRelayCard(input) ? input : parseRelayCard(input);
  if (opts.fingerprint !== undefined && !fingerprintsEqual(opts.fingerprint, card.fingerprint)) {
    throw new BackchannelError('fingerprint_mismatch', `relay ${card.id}'s card does not have the fingerprint given`);
  }
  const existing = await desk.store.getRelay(card.id);
  if (existing !== undefined) {
    const held = parseRelayCard(existing.card);
    if (held.origin !== card.origin || !equalBytes(held.vkey.publicKey, card.vkey.publicKey)) {
      await desk.raise({
        kind: 'key_change',
        relay: card.id,
        party: undefined,
        note: undefined,
        message: `relay ${card.id} presented a card with another log key or origin than the one pinned; refused`,
        evidence: { relay: card.id, held_card: JSON.stringify(held.json), presented_card: JSON.stringify(card.json) },
        dedupeKey: `key_change/relay/${card.id}/${card.fingerprint}`,
      });
      throw new BackchannelError('root_mismatch', `relay ${card.id} is pinned under another log key or origin`);
    }
    const unchanged = JSON.stringify(held.json) === JSON.stringify(card.json) && (opts.rank === undefined || opts.rank === existing.rank);
    if (!unchanged) {
      await desk.store.saveRelay({ ...existing, name: card.name, url: card.url, card: card.json, rank: opts.rank ?? existing.rank });
      desk.forget(card.id);
    }
    return { relay: card.id, fingerprint: card.fingerprint, origin: card.origin, status: unchanged ? 'unchanged' : 'updated' };
  }
  const all = await desk.store.listRelays();
  const clash = all.find((r) => r.origin === card.origin);
  if (clash !== undefined) throw new BackchannelError('argument_invalid', `relay ${clash.id} already has log origin ${card.origin}`);
  const rank = opts.rank ?? all.reduce((m, r) => Math.max(m, r.rank + 1), 0);
  await desk.store.saveRelay({ id: card.id, name: card.name, url: card.url, origin: card.origin, fingerprint: card.fingerprint, card: card.json, rank, addedAt: desk.clock.now() });
  return { relay: card.id, fingerprint: card.fingerprint, origin: card.origin, status: 'added' };
}

function isPartyCard(x: unknown): x is PartyCard {
  return typeof x === 'object' && x !== null && 'signed' in x && 'fingerprint' in x && !('kind' in x);
}

function isRelayCard(x: unknown): x is RelayCard {
  return typeof x === 'object' && x !== null && 'json' in x && 'vkey' in x && !('kind' in x);
}
