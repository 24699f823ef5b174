/**
 * `verify`: checks every receipt and checkpoint this station holds against the relays' logs
 * (issue 4, "Verification"; protocol §6):
 *
 *  - the relay's current checkpoint verifies under its pinned log key;
 *  - every checkpoint held (from receipts, deliveries, earlier verifies) is consistent with it
 *    (RFC 9162 §2.1.4 consistency proofs); two checkpoints of one origin that are not — or a
 *    relay now showing a smaller tree than one it signed — are a `fork`, with both as evidence;
 *  - every receipt and delivery record held is included in the current tree (§2.1.3 inclusion
 *    proofs); one that is not is a relay that issued a receipt for something not in its log.
 */
import {
  commitLeaf,
  decodeOpening,
  equalBytes,
  hashLeaf,
  openCheckpoint,
  parseTlogProof,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type Checkpoint,
} from '@backchannel/core';
import type { Channel, Desk } from './desk.js';
import { describeFailure } from './errors.js';
import { forkEvidence } from './evidence.js';
import type { SeenCheckpoint } from './store/types.js';
import { checkQuorum, getWitnessPolicy } from './witness-policy.js';

/** What `Station.verify` returns (PRODUCT.md `verify --json`: ok, relays[{relay, ok, problems}]). */
export interface VerifyReport {
  ok: boolean;
  relays: RelayVerification[];
  /** Ids of alerts raised by this verification. */
  alerts: number[];
}

export interface RelayVerification {
  relay: string;
  ok: boolean;
  problems: string[];
  /** The tree size verified against. */
  size: number | undefined;
  /** The witness quorum policy's verdict on the current checkpoint (names of the witnesses that cosigned it). */
  witnessed?: { ok: boolean; quorum: number; cosigned: string[] };
  checkpoints: number;
  receipts: number;
}

/**
 * Progress of a verification: `relay` when a relay's check starts, `receipts` after each batch
 * of inclusion proofs (every 25 receipts, and the last).
 */
export interface VerifyProgress {
  phase: 'relay' | 'receipts';
  relay: string;
  /** Relays started so far, and how many there are. */
  relayIndex: number;
  relays: number;
  /** Receipts of this relay checked so far, and how many it has. */
  checked: number;
  receipts: number;
}

export interface VerifyOptions {
  /** Told how the verification goes; must not throw (what it throws is ignored). */
  onProgress?: (p: VerifyProgress) => void;
}

const PROGRESS_EVERY = 25;

interface HeldReceipt {
  what: string;
  receipt: string;
}

export async function verifyLogs(desk: Desk, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const before = (await desk.store.listAlerts()).reduce((m, a) => Math.max(m, a.id), 0);
  const channels = await desk.channels();
  const held = await heldReceipts(desk);
  const relays: RelayVerification[] = [];
  for (const [i, ch] of channels.entries()) {
    const receipts = held.get(ch.entry.id) ?? [];
    const tell = (phase: VerifyProgress['phase'], checked: number): void => {
      try {
        opts.onProgress?.({ phase, relay: ch.entry.id, relayIndex: i + 1, relays: channels.length, checked, receipts: receipts.length });
      } catch {
        // a progress display must never break a verification
      }
    };
    tell('relay', 0);
    relays.push(
      await verifyRelay(desk, ch, receipts, (checked) => {
        tell('receipts', checked);
      }),
    );
  }
  const alerts = (await desk.store.listAlerts()).filter((a) => a.id > before).map((a) => a.id);
  return { ok: relays.every((r) => r.ok) && alerts.length === 0, relays, alerts };
}

async function verifyRelay(desk: Desk, ch: Channel, receipts: readonly HeldReceipt[], onChecked: (checked: number) => void): Promise<RelayVerification> {
  const relay = ch.entry.id;
  const out: RelayVerification = { relay, ok: true, problems: [], size: undefined, checkpoints: 0, receipts: 0 };
  const problem = (p: string): void => {
    out.ok = false;
    out.problems.push(p);
  };
  let headNote: string;
  let head: Checkpoint;
  let headText: { text: string; signatures: Parameters<typeof checkQuorum>[1] };
  try {
    headNote = await ch.api.checkpoint();
    const opened = openCheckpoint(headNote, ch.card.vkey);
    head = opened.checkpoint;
    headText = { text: opened.note.text, signatures: opened.note.signatures };
    await desk.noteContact(relay);
  } catch (e) {
    await desk.noteContact(relay, e);
    const f = describeFailure(e);
    problem(`cannot get a verified checkpoint (${f.code}): ${f.message}`);
    return out;
  }
  out.size = head.size;
  // A checkpoint without the witness quorum is unverified: a problem, not a fork.
  const policy = await getWitnessPolicy(desk.store, relay);
  if (policy.quorum > 0) {
    const q = checkQuorum(headText.text, headText.signatures, policy);
    out.witnessed = { ok: q.ok, quorum: q.quorum, cosigned: q.cosigned };
    for (const p of q.problems) problem(`checkpoint of size ${head.size}: ${p}`);
  }

  const held = await desk.store.listCheckpoints(relay);
  const current = { size: head.size, rootHash: head.rootHash, note: headNote };
  const fork = async (h: Pick<SeenCheckpoint, 'size' | 'rootHash' | 'note'>, other: Pick<SeenCheckpoint, 'size' | 'rootHash' | 'note'>, reason: string, proof?: Uint8Array[]): Promise<void> => {
    problem(`checkpoints of sizes ${h.size} and ${other.size} are not consistent: ${reason}`);
    await desk.raise({
      kind: 'fork',
      relay,
      party: undefined,
      note: undefined,
      message: `relay ${relay} signed two checkpoints that are not consistent (sizes ${h.size} and ${other.size}): ${reason}`,
      evidence: forkEvidence({ relay, held: h.note, presented: other.note, reason, ...(proof === undefined ? {} : { proof }) }),
      dedupeKey: `fork/${relay}/${h.size}/${toHex(h.rootHash)}/${other.size}/${toHex(other.rootHash)}`,
    });
  };
  // Two different roots for one size, both signed, need no proof at all.
  const bySize = new Map<number, SeenCheckpoint>();
  for (const h of held) {
    const other = bySize.get(h.size);
    if (other !== undefined && !equalBytes(other.rootHash, h.rootHash)) await fork(other, h, `two different roots for tree size ${h.size}`);
    bySize.set(h.size, h);
  }
  // A checkpoint already proven consistent with an earlier head is consistent with the current
  // one when that head is (consistency is transitive): only the newest proven one needs a proof.
  const newestProven = [...bySize.values()].filter((h) => h.consistent).reduce<SeenCheckpoint | undefined>((m, h) => (m === undefined || h.size > m.size ? h : m), undefined);
  for (const h of bySize.values()) {
    out.checkpoints++;
    if (h.consistent && h !== newestProven && h.size <= (newestProven?.size ?? 0)) continue;
    if (h.size > head.size) {
      await fork(h, current, 'the relay now shows a smaller tree than one it signed');
      continue;
    }
    if (h.size === head.size) {
      if (!equalBytes(h.rootHash, head.rootHash)) await fork(h, current, 'same size, different root');
      continue;
    }
    if (h.size === 0) continue; // the empty tree is a prefix of every tree
    let proof: Uint8Array[];
    try {
      proof = await ch.api.consistencyProof(h.size, head.size);
    } catch (e) {
      const f = describeFailure(e);
      problem(`no consistency proof from size ${h.size} to ${head.size} (${f.code})`);
      continue;
    }
    try {
      verifyConsistency(h.size, head.size, proof, h.rootHash, head.rootHash);
      if (!h.consistent) await desk.store.saveCheckpoint({ ...h, consistent: true });
    } catch (e) {
      await fork(h, current, describeFailure(e).message, proof);
    }
  }
  await desk.store.saveCheckpoint({ relay, size: head.size, rootHash: head.rootHash, note: headNote, seenAt: desk.clock.now(), consistent: out.ok });

  for (const r of receipts) {
    if (out.receipts > 0 && out.receipts % PROGRESS_EVERY === 0) onChecked(out.receipts);
    out.receipts++;
    let leaf: Uint8Array;
    let index: number;
    try {
      const p = parseTlogProof(r.receipt);
      if (p.extra === undefined) throw new Error('receipt carries no opening');
      leaf = commitLeaf(decodeOpening(p.extra));
      index = p.index;
    } catch (e) {
      problem(`${r.what}: the stored receipt does not parse (${describeFailure(e).code})`);
      continue;
    }
    if (index >= head.size) {
      problem(`${r.what}: leaf ${index} is beyond the current tree of ${head.size}`);
      await raiseMissing(desk, relay, r, index, head.size, headNote, 'leaf index beyond the current tree');
      continue;
    }
    let proof: Uint8Array[];
    try {
      proof = await ch.api.inclusionProof(index, head.size);
    } catch (e) {
      const f = describeFailure(e);
      problem(`${r.what}: no inclusion proof for leaf ${index} (${f.code})`);
      continue;
    }
    try {
      verifyInclusion(hashLeaf(leaf), index, head.size, proof, head.rootHash);
    } catch (e) {
      const f = describeFailure(e);
      problem(`${r.what}: leaf ${index} is not in the log (${f.code})`);
      await raiseMissing(desk, relay, r, index, head.size, headNote, f.message);
    }
  }
  if (receipts.length > 0) onChecked(out.receipts);
  return out;
}

async function raiseMissing(desk: Desk, relay: string, r: HeldReceipt, index: number, size: number, headNote: string, reason: string): Promise<void> {
  await desk.raise({
    kind: 'receipt_invalid',
    relay,
    party: undefined,
    note: undefined,
    message: `relay ${relay} issued a receipt (${r.what}) for leaf ${index} that its log of ${size} does not contain: ${reason}`,
    evidence: { relay, receipt: r.receipt, checkpoint: headNote, leaf_index: index, tree_size: size, reason },
    dedupeKey: `receipt_invalid/missing/${relay}/${index}/${size}`,
  });
}

/** Every receipt and delivery receipt this station holds, by relay. */
async function heldReceipts(desk: Desk): Promise<Map<string, HeldReceipt[]>> {
  const out = new Map<string, HeldReceipt[]>();
  const add = (relay: string, what: string, receipt: string | undefined): void => {
    if (receipt === undefined) return;
    out.set(relay, [...(out.get(relay) ?? []), { what, receipt }]);
  };
  for (const n of await desk.store.listOutgoing()) {
    for (const c of await desk.store.listChannels(n.id)) {
      add(c.relay, `submission of ${n.id}`, c.receipt);
      add(c.relay, `delivery of ${n.id}`, c.deliveryReceipt);
    }
  }
  const seen = new Set<string>();
  for (const n of await desk.store.listIncoming()) {
    if (seen.has(`${n.from}/${n.id}`)) continue;
    seen.add(`${n.from}/${n.id}`);
    for (const c of await desk.store.listCopies(n.from, n.id)) {
      if (!c.valid) continue; // an invalid copy's receipt is evidence, not a claim we rely on
      add(c.relay, `copy of ${n.from}/${n.id}`, c.receipt);
      add(c.relay, `our acknowledgement of ${n.from}/${n.id}`, c.deliveryReceipt);
    }
  }
  return out;
}
