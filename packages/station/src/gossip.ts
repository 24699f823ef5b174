/**
 * Checkpoint gossip (issue 7; protocol §6.7): each station passes the latest checkpoint it saw of
 * every relay to its peer party, and checks what its peer passes back. Two checkpoints of one
 * origin that are not consistent are a `fork` alert carrying both signed checkpoints — a relay
 * that shows one history to one party and another to the other is caught as soon as the two
 * compare notes, whether or not either ever talks to the relay again.
 *
 * A gossiped checkpoint is accepted only when it verifies under the log key this desk pinned for
 * that origin (a peer cannot forge a relay's signature, so it cannot frame a relay). It is then
 * held like any checkpoint this desk saw itself: `verify` proves it consistent with the relay's
 * head later. Right away, `receiveGossip` compares it with every checkpoint held: at equal size
 * the roots must be equal (no proof needed); otherwise it asks the relay for a consistency proof
 * between the two, and a proof that fails (or a larger tree than the relay's current head) is a
 * fork. An unreachable relay leaves the check to the next `verify`.
 */
import { encodeCbor, decodeCbor, equalBytes, isBackchannelError, openCheckpoint, toHex, verifyConsistency, type CborValue } from '@backchannel/core';
import type { Desk } from './desk.js';
import { describeFailure } from './errors.js';
import { forkEvidence } from './evidence.js';
import type { SeenCheckpoint } from './store/types.js';

/** One gossiped checkpoint: the relay's log origin and its signed note, verbatim (cosignatures included). */
export interface GossipItem {
  origin: string;
  note: string;
}

export interface GossipReport {
  /** Checkpoints that verified under a pinned relay's key and were compared. */
  checked: number;
  /** Checkpoints ignored: unknown origin, or a signature that does not verify. */
  ignored: { origin: string; reason: string }[];
  /** Alerts raised (forks). */
  alerts: number[];
}

const MAX_ITEMS = 256;
const MAX_NOTE = 16 * 1024;

/** The latest checkpoint this desk holds of every relay it uses. */
export async function gossipOut(desk: Desk): Promise<GossipItem[]> {
  const out: GossipItem[] = [];
  for (const r of await desk.store.listRelays()) {
    const cp = await desk.store.latestCheckpoint(r.id);
    if (cp !== undefined) out.push({ origin: r.origin, note: cp.note });
  }
  return out;
}

/** The gossip payload as deterministic CBOR: `{ "v": 1, "checkpoints": [* { "origin": tstr, "note": tstr }] }`. */
export function encodeGossip(items: readonly GossipItem[]): Uint8Array {
  return encodeCbor({ v: 1, checkpoints: items.map((i) => ({ origin: i.origin, note: i.note })) });
}

/** Parses a gossip payload; anything malformed is dropped item by item (gossip is advisory input). */
export function decodeGossip(bytes: Uint8Array): GossipItem[] {
  let v: CborValue;
  try {
    v = decodeCbor(bytes);
  } catch {
    return [];
  }
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array || Array.isArray(v)) return [];
  const list = (v as Record<string, CborValue>).checkpoints;
  if (!Array.isArray(list)) return [];
  const out: GossipItem[] = [];
  for (const x of list.slice(0, MAX_ITEMS)) {
    if (x === null || typeof x !== 'object' || x instanceof Uint8Array || Array.isArray(x)) continue;
    const m = x as Record<string, CborValue>;
    if (typeof m.origin === 'string' && typeof m.note === 'string' && m.note.length <= MAX_NOTE) out.push({ origin: m.origin, note: m.note });
  }
  return out;
}

/** Checks checkpoints gossiped by `from` (a peer party) against what this desk holds. */
export async function receiveGossip(desk: Desk, from: string, items: readonly GossipItem[]): Promise<GossipReport> {
  const report: GossipReport = { checked: 0, ignored: [], alerts: [] };
  const relays = await desk.store.listRelays();
  for (const item of items.slice(0, MAX_ITEMS)) {
    const entry = relays.find((r) => r.origin === item.origin);
    if (entry === undefined) {
      report.ignored.push({ origin: item.origin, reason: 'not a relay this desk uses' });
      continue;
    }
    // The very checkpoint text held already (the peer passes on the receipts' checkpoints this
    // desk saw too): it verified when it was stored, and tells nothing new (see below).
    if (await holdsNote(desk, entry.id, item.note)) {
      report.checked++;
      continue;
    }
    const card = (await desk.channel(entry.id)).card;
    let cp;
    try {
      cp = openCheckpoint(item.note, card.vkey).checkpoint;
    } catch (e) {
      report.ignored.push({ origin: item.origin, reason: isBackchannelError(e) ? e.message : 'does not verify' });
      continue;
    }
    report.checked++;
    const relay = entry.id;
    const gossiped: Pick<SeenCheckpoint, 'size' | 'rootHash' | 'note'> = { size: cp.size, rootHash: cp.rootHash, note: item.note };
    const raise = async (held: Pick<SeenCheckpoint, 'size' | 'rootHash' | 'note'>, reason: string, proof?: Uint8Array[]): Promise<void> => {
      const id = await desk.raise({
        kind: 'fork',
        relay,
        party: from,
        note: undefined,
        message: `relay ${relay} showed this desk and party ${from} checkpoints that are not consistent (sizes ${held.size} and ${gossiped.size}): ${reason}`,
        evidence: { ...forkEvidence({ relay, held: held.note, presented: gossiped.note, reason, ...(proof === undefined ? {} : { proof }) }), via: `gossip from ${from}` },
        dedupeKey: `fork/${relay}/${held.size}/${toHex(held.rootHash)}/${gossiped.size}/${toHex(gossiped.rootHash)}`,
      });
      if (id !== undefined) report.alerts.push(id);
    };
    // Only the checkpoints of the gossiped size and the newest matter: not every one ever held
    // (a desk keeps one per receipt's batch, so that list grows with every note).
    const sameSize = await desk.store.listCheckpoints(relay, { size: gossiped.size });
    let conflict = false;
    for (const h of sameSize) {
      if (!equalBytes(h.rootHash, gossiped.rootHash)) {
        await raise(h, `two different roots for tree size ${h.size}`);
        conflict = true;
      }
    }
    // This very checkpoint is held already (the peer passes on the receipts' checkpoints this
    // desk also saw): it tells nothing new; its consistency with the rest is verify's, as for
    // every checkpoint held.
    if (!conflict && sameSize.length > 0) continue;
    // Different sizes: the relay must prove the smaller a prefix of the larger.
    const newest = await desk.store.latestCheckpoint(relay);
    if (!conflict && newest !== undefined && newest.size !== gossiped.size && Math.min(newest.size, gossiped.size) > 0) {
      const [small, large] = newest.size < gossiped.size ? [newest, gossiped] : [gossiped, newest];
      try {
        const ch = (await desk.channels()).find((c) => c.entry.id === relay);
        if (ch !== undefined) {
          const proof = await ch.api.consistencyProof(small.size, large.size);
          try {
            verifyConsistency(small.size, large.size, proof, small.rootHash, large.rootHash);
          } catch (e) {
            await raise(newest, describeFailure(e).message, proof);
            conflict = true;
          }
        }
      } catch {
        // unreachable, or it will not prove it: `verify` checks the held checkpoint later
      }
    }
    // Advisory, and offered again with the next note: no fsync of its own.
    const seen: SeenCheckpoint = { relay, size: cp.size, rootHash: cp.rootHash, note: item.note, seenAt: desk.clock.now(), consistent: false };
    await desk.store.transaction((tx) => tx.saveCheckpoint(seen), { durable: false });
  }
  return report;
}

/**
 * Whether this desk holds a checkpoint of `relay` with exactly this note text, and no other root
 * for its size (that conflict is for the full check below to raise). The size is read from the
 * unverified text only to find candidates; the match is on the whole text, signatures included,
 * against checkpoints that were verified before they were stored.
 */
async function holdsNote(desk: Desk, relay: string, note: string): Promise<boolean> {
  const line = note.split('\n', 3)[1];
  if (line === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(line)) return false;
  const size = Number(line);
  if (!Number.isSafeInteger(size)) return false;
  const held = await desk.store.listCheckpoints(relay, { size });
  const same = held.find((h) => h.note === note);
  return same !== undefined && held.every((h) => equalBytes(h.rootHash, same.rootHash));
}
