/**
 * Receiving one copy from one relay: every check a desk makes (protocol §4.7, plus the
 * submission token binding the copy to this relay and the receipt proving the relay logged it),
 * then the merge (merge.ts), then what the content means (a note joins its thread, an
 * acknowledgement marks our sent notes, a heartbeat proves the channel, a bundle moves the
 * sender's keys forward).
 *
 * Everything in a fetch item is attacker-controlled: the relay may be malicious. A copy that
 * fails is kept with its bytes as evidence and still acknowledged, so the relay signs a delivery
 * record binding itself to what it handed over (DESIGN.md, "Evidence of misbehaviour").
 * Failures that are ours, not the relay's — a sender we have not pinned, a key we no longer
 * hold — leave the copy unverifiable, unacknowledged and without an alert. Once the token and
 * the receipt have verified, the bytes are the sender's own: the token is the envelope's station
 * signing the SHA-256 of exactly these bytes, so a relay cannot have changed one. Any failure
 * opening them after that — a broken envelope signature (relays check only the token, protocol
 * §4.7), a signer its own bundle revokes, an expired certificate, a slot that does not open — is
 * the sender's: the copy is kept and acknowledged, and the alert (`signer_revoked`,
 * `signer_invalid`) names the sending party, not the relay.
 */
import { decodeGossip, receiveGossip } from './gossip.js';
import {
  BackchannelError,
  equalBytes,
  isBackchannelError,
  openBundle,
  openEnvelope,
  parseEnvelope,
  sha256,
  toHex,
  type Content,
  type InspectedEnvelope,
  type OpenedEnvelope,
} from '@backchannel/core';
import { checkCopy } from './copy-check.js';
import type { PreChecked } from './copy-check-pool.js';
import { firstCopy } from './copy-record.js';
import type { Channel, Desk } from './desk.js';
import { receiveKeyShare } from './key-share.js';
import { describeFailure, StationError } from './errors.js';
import { equivocationEvidence, invalidCopyEvidence, replayEvidence, senderFaultEvidence } from './evidence.js';
import { privateKeyFor } from './keys.js';
import { decideMerge, type MergeOutcome } from './merge.js';
import type { FetchItem } from './relay-wire.js';
import type { StationStore } from './store/store.js';
import type { CopyRecord, IncomingNote, PinnedParty, SeenCheckpoint } from './store/types.js';
import { offerBundle } from './trust.js';

export interface ReceivedEntry {
  relay: string;
  from: string | undefined;
  id: string | undefined;
  kind: Content['kind'] | undefined;
  /** `other_desk`: a key share of our party sealed to another of its desks (key-share.ts). */
  outcome: MergeOutcome['kind'] | 'replay' | 'unverifiable' | 'unparseable' | 'other_desk';
  valid: boolean;
  code: string | undefined;
}

/** What receiving one copy did, and what is left for the caller. */
export interface ReceivedCopy {
  entry: ReceivedEntry;
  ack: PendingAck | undefined;
  /** Checks of the checkpoint gossip the note carried (gossip.ts); the caller runs it after reporting the copy. */
  after?: () => Promise<void>;
}

/** A copy to acknowledge to the relay, and what to raise once its delivery record is in. */
export interface PendingAck {
  from: string;
  id: string;
  digest: Uint8Array;
  invalid: { error: { code: string; message: string }; validDigest: Uint8Array | undefined } | undefined;
}

// Failures that say nothing against the relay that delivered the copy.
const OURS = new Set(['unknown_party', 'key_unknown', 'bundle_stale', 'root_mismatch', 'relay_unreachable', 'relay_timeout', 'relay_refused', 'relay_response_invalid']);

// What a failure behind a verified token and receipt says against the sender (see the top).
// An untyped error is a fault of ours (a bug), never evidence against anyone.
function senderSide(code: string): 'signer_revoked' | 'signer_invalid' | undefined {
  if (code === 'internal') return undefined;
  return code === 'key_revoked' ? 'signer_revoked' : 'signer_invalid';
}

/**
 * @param confirmed the fetch cursor this item came after: the relay may hand an unconfirmed item
 *   out again under the same sequence number (its last answer may have been lost), which is not
 *   a replay; anything at or below the cursor, or under a new number, is.
 * @param precheck this copy's checks as a worker made them (copy-check-pool.ts), if it was handed one.
 */
export async function receiveCopy(desk: Desk, ch: Channel, item: FetchItem, confirmed: number, precheck?: Promise<PreChecked | undefined>): Promise<ReceivedCopy> {
  const relay = ch.entry.id;
  const now = desk.clock.now();
  const base = { relay, kind: undefined };
  let env: InspectedEnvelope;
  try {
    env = parseEnvelope(item.envelope);
  } catch (e) {
    const f = describeFailure(e);
    await desk.raise({
      kind: 'invalid_copy',
      relay,
      party: undefined,
      note: undefined,
      message: `relay ${relay} delivered bytes that are not an envelope (${f.code})`,
      evidence: invalidCopyEvidence({ relay, envelope: item.envelope, token: item.token, receipt: item.receipt, receivedAt: now }, f, undefined),
      dedupeKey: `invalid_copy/${relay}/${toHex(sha256(item.envelope))}`,
    });
    return { entry: { ...base, from: undefined, id: undefined, outcome: 'unparseable', valid: false, code: f.code }, ack: undefined };
  }
  // SHA-256 of exactly these bytes, made by the parse.
  const digest = env.digest;
  const from = env.header.from;
  const id = toHex(env.header.id);
  if (from === env.header.to && from === desk.party) {
    const self = await desk.store.getParty(from);
    if (self !== undefined) return receiveKeyShare(desk, ch, item, env, (judgedAt) => openWithNewestBundle(desk, ch, item.envelope, self, judgedAt));
  }

  const previous = await desk.store.getCopy(from, id, relay, digest);
  if (previous !== undefined) return redelivered(desk, previous, item, now, confirmed);

  let valid = true;
  let error: { code: string; message: string } | undefined;
  let opened: OpenedEnvelope | undefined;
  let logIndex: number | undefined;
  let judgedAt: number | undefined;
  let opening = false;
  let checkpoint: SeenCheckpoint | undefined;
  try {
    if (env.header.to !== desk.party && env.header.from !== desk.party) throw new BackchannelError('not_for_us', `relay ${relay} delivered a note between ${from} and ${env.header.to}`);
    const sender = await desk.store.getParty(from);
    if (sender === undefined) throw new StationError('unknown_party', `party ${from} is not pinned at this station`);
    // A worker's success stands when it used this very bundle; anything else is checked here.
    const pre = await precheck;
    const c =
      pre !== undefined && pre.check.ok && equalBytes(pre.senderHash, sender.bundle.hash)
        ? pre.check
        : await checkCopy(item, env, digest, {
            self: desk.party,
            origin: ch.card.origin,
            logKey: ch.card.vkey,
            sender: sender.bundle,
            privateKeyFor: (kid, suite) => privateKeyFor(desk.keys, kid, suite),
            known: desk.opened.get(digest),
          });
    const v = c.receipt;
    if (v !== undefined) {
      logIndex = v.index;
      // Stored with the copy below (one commit), whatever the opening says: the receipt verified.
      checkpoint = { relay, size: v.checkpoint.size, rootHash: v.checkpoint.rootHash, note: v.checkpointNote, seenAt: now, consistent: false };
      // Judged at its verified log inclusion (DESIGN.md: revocations), not at our clock.
      judgedAt = v.opening.time;
    }
    opening = c.ok || c.stage === 'open';
    if (c.ok) {
      opened = c.opened;
      desk.opened.remember(digest, opened);
    }
    // The envelope names a newer bundle of the sender than we hold: ask the relay for it.
    else if (v !== undefined && c.stage === 'open' && c.error.code === 'bundle_stale') opened = await openWithNewestBundle(desk, ch, item.envelope, sender, v.opening.time);
    else {
      valid = false;
      error = c.error;
    }
  } catch (e) {
    valid = false;
    error = describeFailure(e);
  }

  if (!valid && error !== undefined && OURS.has(error.code)) {
    if (checkpoint !== undefined) await desk.store.saveCheckpoint(checkpoint);
    return { entry: { ...base, from, id, outcome: 'unverifiable', valid: false, code: error.code }, ack: undefined };
  }

  // The token and receipt held: what fails now is in the sender's own bytes, not the relay's doing.
  const senderFault = !valid && error !== undefined && opening ? senderSide(error.code) : undefined;

  const copy = firstCopy({ from, id, relay, digest, receivedAt: now }, item, { logIndex, valid, errorCode: error?.code });

  // Not durable on its own: every caller acknowledges the copy (copy-acks.ts) with a durable
  // commit first, which makes this one durable too before the relay hears of it (DESIGN.md: a
  // received copy is stored before it is acknowledged). One fsync per acknowledged batch.
  const outcome = await desk.store.transaction(async (tx) => {
    if (checkpoint !== undefined) await tx.saveCheckpoint(checkpoint);
    // The delivered note's digest is all a merge compares; the note itself is read only for
    // the evidence of mixed messages (most copies are a second or third relay's duplicates).
    const noteDigest = await tx.getIncomingDigest(from, id);
    const own = from === desk.party && noteDigest === undefined ? await tx.getOutgoing(id) : undefined;
    const delivered = noteDigest ?? own?.digest;
    const o = decideMerge({ valid, digest, delivered, previous: undefined });
    const note = o.kind === 'equivocation' && noteDigest !== undefined ? await tx.getIncoming(from, id) : undefined;
    // Bytes other than the delivered ones are kept: they are the evidence.
    await tx.saveCopy(o.kind === 'deliver' || o.kind === 'duplicate' ? copy : { ...copy, envelope: item.envelope });
    if (o.kind === 'deliver' && opened !== undefined) await tx.insertIncoming(incomingOf(desk, opened, relay, now));
    if (o.kind === 'equivocation' && note !== undefined) await tx.updateIncoming(from, id, { equivocated: true });
    if ((o.kind === 'deliver' || o.kind === 'duplicate') && opened !== undefined) await applyContent(desk, tx, opened, relay, now, o.kind === 'deliver');
    return { o, note, noteDigest };
  }, { durable: false });

  if (outcome.o.kind === 'equivocation' && outcome.note !== undefined) {
    const first = (await desk.store.listCopies(from, id)).find((c) => c.valid && c.relay === outcome.note?.firstRelay);
    await desk.raise({
      kind: 'equivocation',
      relay,
      party: from,
      note: { from, id },
      message: `party ${from} signed two different envelopes with id ${id} ("mixed messages")`,
      evidence: equivocationEvidence(
        { relay: outcome.note.firstRelay, envelope: outcome.note.envelope, token: first?.token, receipt: first?.receipt, receivedAt: outcome.note.receivedAt },
        { relay, envelope: item.envelope, token: item.token, receipt: item.receipt, receivedAt: now },
      ),
      dedupeKey: `equivocation/${from}/${id}/${toHex(digest)}`,
    });
  }
  if (opened?.content.kind === 'bundle' && (outcome.o.kind === 'deliver' || outcome.o.kind === 'duplicate')) {
    // Outside the transaction: offering a bundle may raise a key_change alert. A party speaks
    // only for its own keys: a bundle of another party inside a note is ignored.
    const offered = (() => {
      try {
        return openBundle(opened.content.bundle);
      } catch {
        return undefined;
      }
    })();
    if (offered !== undefined && offered.bundle.party === from) await offerBundle(desk, offered, relay).catch(() => undefined);
  }
  const gossip = opened !== undefined && 'gossip' in opened.content ? opened.content.gossip : undefined;
  // Gossip is advisory: a malformed payload is dropped item by item, never fails the note. Its
  // check may ask the relay for a consistency proof, so it is the caller's to run once the copy
  // is reported (`after`), not a round trip in the way of every delivered note.
  const after =
    gossip !== undefined && outcome.o.kind === 'deliver'
      ? async (): Promise<void> => {
          await receiveGossip(desk, from, decodeGossip(gossip)).catch(() => undefined);
        }
      : undefined;
  if (senderFault !== undefined && error !== undefined) {
    const sender = await desk.store.getParty(from);
    if (sender !== undefined) {
      await desk.raise({
        kind: senderFault,
        relay: undefined,
        party: from,
        note: { from, id },
        message:
          senderFault === 'signer_revoked'
            ? `party ${from} sent note ${id} signed by a key its own bundle revokes (${error.message}); relay ${relay} delivered it faithfully`
            : `party ${from} sent note ${id} that fails its own checks (${error.code}: ${error.message}); its station signed these exact bytes (the submission token), so relay ${relay} delivered it faithfully`,
        evidence: senderFaultEvidence({ relay, envelope: item.envelope, token: item.token, receipt: item.receipt, receivedAt: now }, error, sender.bundle, judgedAt),
        dedupeKey: `${senderFault}/${from}/${id}/${toHex(digest)}`,
      });
    }
  }
  const invalid = outcome.o.kind === 'invalid' && error !== undefined && senderFault === undefined ? { error, validDigest: outcome.noteDigest } : undefined;
  return {
    entry: { ...base, from, id, kind: opened?.content.kind, outcome: outcome.o.kind, valid, code: error?.code },
    ack: { from, id, digest, invalid },
    ...(after === undefined ? {} : { after }),
  };
}

/** The same bytes again from the same relay: absorbed; after our acknowledged ack, a replay. */
async function redelivered(desk: Desk, previous: CopyRecord, item: FetchItem, now: number, confirmed: number): Promise<{ entry: ReceivedEntry; ack: PendingAck | undefined }> {
  const resent = item.seq === previous.seq && item.seq > confirmed;
  const replay = previous.deliveryRecord !== undefined && !resent;
  // Only the count: the relay's answer to our acknowledgement of this copy may be stored while
  // this runs (a sync keeps one page's answer in flight while it merges the next), and writing
  // back the whole row read above would lose it.
  await desk.store.updateCopy(previous.from, previous.id, previous.relay, previous.digest, { redeliveries: previous.redeliveries + 1 });
  if (replay && previous.copyAck !== undefined) {
    await desk.raise({
      kind: 'replay',
      relay: previous.relay,
      party: previous.from,
      note: { from: previous.from, id: previous.id },
      message: `relay ${previous.relay} delivered note ${previous.id} again after acknowledging our signed receipt of it`,
      evidence: replayEvidence({
        copyAck: previous.copyAck,
        deliveryRecord: previous.deliveryRecord,
        redelivered: { relay: previous.relay, envelope: item.envelope, token: item.token, receipt: item.receipt, receivedAt: now },
        seq: item.seq,
      }),
      dedupeKey: `replay/${previous.relay}/${previous.from}/${previous.id}/${item.seq}`,
    });
  }
  return {
    entry: { relay: previous.relay, from: previous.from, id: previous.id, kind: undefined, outcome: replay ? 'replay' : 'redelivery', valid: previous.valid, code: previous.errorCode },
    // The relay never answered our acknowledgement: acknowledge again.
    ack: previous.deliveryRecord === undefined ? { from: previous.from, id: previous.id, digest: previous.digest, invalid: undefined } : undefined,
  };
}

/**
 * Opens an envelope with the sender's newest bundle; when the envelope names a newer one, asks
 * the relay for it (GET /v1/bundles/:party) and accepts it only under the pinned root.
 */
async function openWithNewestBundle(desk: Desk, ch: Channel, bytes: Uint8Array, sender: PinnedParty, judgedAt: number): Promise<OpenedEnvelope> {
  const open = (p: PinnedParty): Promise<OpenedEnvelope> =>
    openEnvelope(bytes, { self: desk.party, privateKeyFor: (kid, suite) => privateKeyFor(desk.keys, kid, suite), senderBundle: p.bundle, judgedAt });
  try {
    return await open(sender);
  } catch (e) {
    if (!isBackchannelError(e, 'bundle_stale')) throw e;
  }
  // What the relay hands back here is the relay's word, not the sender's: a bundle that does not
  // open leaves the copy unverifiable rather than counting against the sender.
  let signed;
  try {
    signed = openBundle(await ch.api.getBundle(sender.id));
  } catch (cause) {
    if (isBackchannelError(cause) && !OURS.has(cause.code)) throw new StationError('relay_response_invalid', `relay ${ch.entry.id} answered with a bundle of ${sender.id} that does not open: ${cause.message}`, { cause });
    throw cause;
  }
  await offerBundle(desk, signed, ch.entry.id);
  const updated = await desk.store.getParty(sender.id);
  if (updated === undefined) throw new StationError('unknown_party', `party ${sender.id} is not pinned at this station`);
  return open(updated);
}

function incomingOf(desk: Desk, o: OpenedEnvelope, relay: string, now: number): IncomingNote {
  const h = o.header;
  const c = o.content;
  const kind = c.kind;
  return {
    from: h.from,
    id: toHex(h.id),
    to: h.to,
    precedence: h.precedence,
    kind,
    created: h.created,
    digest: o.digest,
    envelope: o.bytes,
    content: o.contentBytes,
    attribution: { party: o.signer.party, signer: o.signer.id, name: o.signer.name, title: o.signer.title, level: o.signer.level, certificate: o.signer.bytes },
    thread: c.kind === 'note' ? toHex(c.thread) : undefined,
    replyTo: c.kind === 'note' && c.inReplyTo !== undefined ? { from: c.inReplyTo.from, id: toHex(c.inReplyTo.id) } : undefined,
    receivedAt: now,
    firstRelay: relay,
    equivocated: false,
    readAt: undefined,
    // Only the recipient party acknowledges, and only notes and heartbeats; nothing acknowledges an acknowledgement.
    ackSentAt: h.from !== desk.party && (kind === 'note' || kind === 'heartbeat') ? undefined : now,
  };
}

/** What a valid copy means beyond itself. `first` is true for the delivered copy. */
async function applyContent(desk: Desk, tx: StationStore, o: OpenedEnvelope, relay: string, now: number, first: boolean): Promise<void> {
  const c = o.content;
  const from = o.header.from;
  switch (c.kind) {
    case 'note': {
      if (!first) return;
      const threadId = toHex(c.thread);
      const t = await tx.getThread(threadId);
      const other = from === desk.party ? o.header.to : from;
      await tx.saveThread(
        t === undefined ? { id: threadId, party: other, subject: c.subject, startedAt: o.header.created, lastAt: now } : { ...t, lastAt: Math.max(t.lastAt, now) },
      );
      return;
    }
    case 'ack': {
      if (from === desk.party) return; // a colleague's acknowledgement to the other party
      for (const a of c.acks) {
        if (a.from !== desk.party) continue;
        const sent = await tx.getOutgoing(toHex(a.id));
        if (sent === undefined || !equalBytes(sent.digest, a.digest)) continue;
        if (sent.ackedAt === undefined) await tx.updateOutgoing(sent.id, { ackedAt: now });
        const via = await tx.getChannel(sent.id, relay);
        if (via !== undefined && via.ackedAt === undefined) await tx.saveChannel({ ...via, ackedAt: now });
        for (const arr of a.arrivals) {
          const ch = await tx.getChannel(sent.id, arr.relay);
          if (ch !== undefined && ch.recipientArrivalAt === undefined) await tx.saveChannel({ ...ch, recipientArrivalAt: arr.at });
        }
      }
      return;
    }
    case 'read': {
      if (from === desk.party) return;
      for (const r of c.reads) {
        if (r.from !== desk.party) continue;
        const sent = await tx.getOutgoing(toHex(r.id));
        if (sent === undefined) continue;
        if (sent.readAt === undefined) await tx.updateOutgoing(sent.id, { readAt: r.at });
        const via = await tx.getChannel(sent.id, relay);
        if (via !== undefined && via.readAt === undefined) await tx.saveChannel({ ...via, readAt: r.at });
      }
      return;
    }
    case 'heartbeat':
      await tx.updateRelayHealth(relay, { lastHeartbeat: now });
      return;
    case 'bundle':
      return; // offered after the transaction (receiveCopy)
  }
}
