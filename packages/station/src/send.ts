/**
 * Sending: seal once, persist, submit to the chosen relays concurrently (DESIGN.md, "The
 * envelope": the station persists the sealed bytes before the first submission and never
 * re-seals — a resend or a failover is the same bytes).
 */
import {
  BackchannelError,
  CATEGORIES,
  fromHex,
  negotiateSuite,
  encodeContent,
  parsePrecedence,
  sealEnvelope,
  toHex,
  type Attachment,
  type Category,
  type Content,
  type DeskKeyEntry,
  type NoteRef,
  type Precedence,
} from '@backchannel/core';
import type { Desk } from './desk.js';
import { StationError } from './errors.js';
import { objectiveMs, planChannels } from './policy.js';
import { newChannel, Submission } from './submission.js';
import { encodeGossip, gossipOut } from './gossip.js';
import type { NoteRefHex, OutgoingNote } from './store/types.js';

/** What `Station.send` takes. */
export interface SendRequest {
  /** The recipient party (pinned). */
  to: string;
  precedence: Precedence | Lowercase<Precedence>;
  subject: string;
  body: string;
  /** Default `political`. */
  category?: Category;
  /** Relays to send through; default: the precedence's policy. */
  via?: readonly string[];
  /** A note this one answers (its id, or sender and id); the reply joins its thread. */
  replyTo?: string | NoteRefHex;
  /** Notes this one refers to, across threads. */
  references?: readonly NoteRefHex[];
  attachments?: readonly Attachment[];
  /** The signer to sign as; default the desk's first signer. */
  signer?: string;
  /** Failover candidates in order, or `none`; default every other channel in order of preference. */
  failover?: readonly string[] | 'none';
}

/** What `Station.send` returns (PRODUCT.md `send --json`: at least id and receipts). */
export interface SendResult {
  id: string;
  thread: string;
  /** SHA-256 of the sealed envelope, hex: the copy identity every relay must hand over. */
  digest: string;
  precedence: Precedence;
  /** When the delivery objective runs out (ms since the epoch, after time scaling). */
  deadline: number;
  receipts: { relay: string; log_index: number }[];
  failures: { relay: string; code: string; message: string }[];
  failover: { relay: string; reason: string }[];
  /** Relays that had not answered when `send` returned; their submissions continue. */
  pending: string[];
}

export interface OutgoingDraft {
  to: string;
  precedence: Precedence;
  /** The content, given the note's id (a new thread's id is the id of the note that opens it). */
  content: (id: Uint8Array) => Content;
  replyTo: NoteRefHex | undefined;
  signer: string | undefined;
  via: readonly string[] | undefined;
  failover: readonly string[] | 'none' | undefined;
  /** A key share to one of our own desks (key-share.ts): that desk's key-agreement key; `to` is our party. */
  desk?: DeskKeyEntry;
}

/** Seals a note once and persists it with its planned channels, before anything is submitted. */
export async function sealAndStore(desk: Desk, d: OutgoingDraft): Promise<{ note: OutgoingNote; chosen: string[] }> {
  const recipient = await desk.store.getParty(d.to);
  if (recipient === undefined || recipient.self !== (d.desk !== undefined)) throw new StationError('unknown_party', `party ${d.to} is not pinned at this station`);
  const self = await desk.store.getParty(desk.party);
  const ownBundle = self?.bundle ?? desk.keys.bundle;
  const relays = (await desk.store.listRelays()).map((r) => r.id);
  for (const r of [...(d.via ?? []), ...(d.failover === 'none' ? [] : (d.failover ?? []))]) {
    if (!relays.includes(r)) throw new StationError('unknown_relay', `no relay ${r} has been added to this station`);
  }
  const plan = planChannels(desk.policy, d.precedence, relays, { via: d.via, failover: d.failover });
  if (plan.chosen.length === 0) throw new StationError('no_channel', 'this station has no relay to send through: add one with trust');
  const signer = d.signer === undefined ? desk.keys.signers[0] : desk.keys.signers.find((s) => s.id === d.signer);
  if (signer === undefined) throw new StationError('unknown_signer', `this desk cannot sign as ${d.signer ?? '(none)'}`);

  const created = desk.clock.now();
  const id = desk.random(16);
  const content = d.content(id);
  // DESIGN.md: stations pass the latest checkpoint they saw of every relay to the peer party
  // inside sealed notes and acknowledgements, so a relay that forks its log is caught.
  if (content.kind === 'note' || content.kind === 'ack' || content.kind === 'heartbeat') {
    const items = await gossipOut(desk);
    if (items.length > 0) content.gossip = encodeGossip(items);
  }
  const sealed = await sealEnvelope({
    from: desk.party,
    to: d.to,
    precedence: d.precedence,
    created,
    content,
    senderBundle: ownBundle,
    recipientBundle: recipient.bundle,
    suite: d.desk?.suite ?? negotiateSuite(ownBundle.bundle, recipient.bundle.bundle),
    station: desk.keys.station.key,
    signer: { key: signer.key, certificate: signer.certificate },
    ...(d.desk === undefined ? {} : { desk: d.desk }),
    id,
    random: desk.random,
  });
  const note: OutgoingNote = {
    id: toHex(id),
    to: d.to,
    precedence: d.precedence,
    kind: content.kind,
    created,
    deadline: created + objectiveMs(desk.policy, d.precedence),
    digest: sealed.digest,
    envelope: sealed.bytes,
    // A key share's private keys are not kept in the archive: only which keys went where.
    content: content.kind === 'keys' ? encodeContent({ ...content, enc: [], signers: [] }) : sealed.contentBytes,
    thread: content.kind === 'note' ? toHex(content.thread) : undefined,
    replyTo: d.replyTo,
    signer: signer.id,
    failover: plan.failover,
    ackedAt: undefined,
    readAt: undefined,
    closedAt: undefined,
    lateFailoverAt: undefined,
  };
  // One commit before the first submission: the sealed bytes, their thread, and the chosen
  // channels as started (submitToRelay then finds them and writes nothing more before submitting).
  await desk.store.transaction(async (tx) => {
    await tx.insertOutgoing(note);
    for (const relay of plan.chosen) await tx.saveChannel(newChannel(note.id, relay, 'chosen', undefined, created));
    if (content.kind === 'note' && note.thread !== undefined) {
      const t = await tx.getThread(note.thread);
      await tx.saveThread(t === undefined ? { id: note.thread, party: d.to, subject: content.subject, startedAt: created, lastAt: created } : { ...t, lastAt: created });
    }
  });
  return { note, chosen: plan.chosen };
}

/** Submits a stored note to its chosen relays and waits as `send` does. */
export async function dispatch(desk: Desk, note: OutgoingNote, chosen: readonly string[]): Promise<Submission> {
  const s = new Submission(desk, note);
  for (const r of chosen) s.launch(r, 'chosen');
  await s.settle(desk.policy.sendTimeoutMs);
  return s;
}

export async function send(desk: Desk, req: SendRequest): Promise<SendResult> {
  return (await sendNote(desk, req)).result;
}

/** `send`, also handing back the stored note (the station arms its deadline timers from it). */
export async function sendNote(desk: Desk, req: SendRequest): Promise<{ result: SendResult; note: OutgoingNote }> {
  const precedence = parsePrecedence(req.precedence);
  const category = req.category ?? 'political';
  if (!(CATEGORIES as readonly string[]).includes(category)) throw new BackchannelError('schema_invalid', `category must be one of ${CATEGORIES.join(', ')}`);
  if (typeof req.subject !== 'string' || typeof req.body !== 'string') throw new BackchannelError('argument_invalid', 'a note needs a subject and a body');
  const reply = req.replyTo === undefined ? undefined : await findNote(desk, req.replyTo);
  const references: NoteRef[] | undefined = req.references?.map((r) => ({ from: r.from, id: idBytes(r.id) }));
  const { note, chosen } = await sealAndStore(desk, {
    to: req.to,
    precedence,
    replyTo: reply === undefined ? undefined : { from: reply.from, id: reply.id },
    signer: req.signer,
    via: req.via,
    failover: req.failover,
    content: (id) => {
      const c: Content = {
        kind: 'note',
        subject: req.subject,
        body: req.body,
        category,
        // A new note opens its own thread: the thread's id is the id of the note that opened it.
        thread: reply?.thread === undefined ? id : idBytes(reply.thread),
      };
      if (reply !== undefined) c.inReplyTo = { from: reply.from, id: idBytes(reply.id) };
      if (references !== undefined && references.length > 0) c.references = references;
      if (req.attachments !== undefined && req.attachments.length > 0) c.attachments = [...req.attachments];
      return c;
    },
  });
  const s = await dispatch(desk, note, chosen);
  return { result: resultOf(note, s), note };
}

function resultOf(note: OutgoingNote, s: Submission): SendResult {
  const receipts: SendResult['receipts'] = [];
  const failures: SendResult['failures'] = [];
  for (const a of s.answered) {
    if (a.ok) receipts.push({ relay: a.relay, log_index: a.logIndex ?? 0 });
    else failures.push({ relay: a.relay, code: a.code ?? 'internal', message: a.message ?? '' });
  }
  return {
    id: note.id,
    thread: note.thread ?? note.id,
    digest: toHex(note.digest),
    precedence: note.precedence,
    deadline: note.deadline,
    receipts,
    failures,
    failover: [...s.failovers],
    pending: s.waiting,
  };
}

/** A note held at this station, either direction, by id or by sender and id. */
export async function findNote(desk: Desk, ref: string | NoteRefHex): Promise<{ from: string; id: string; thread: string | undefined }> {
  const id = typeof ref === 'string' ? ref.toLowerCase() : ref.id.toLowerCase();
  idBytes(id);
  const from = typeof ref === 'string' ? undefined : ref.from;
  const found: { from: string; id: string; thread: string | undefined }[] = [];
  if (from === undefined || from === desk.party) {
    const o = await desk.store.getOutgoing(id);
    if (o !== undefined) found.push({ from: desk.party, id, thread: o.thread });
  }
  for (const n of await desk.store.findIncomingById(id)) {
    if (from === undefined || n.from === from) found.push({ from: n.from, id, thread: n.thread });
  }
  const first = found[0];
  if (first === undefined) throw new StationError('not_found', `no note ${id} at this station`);
  if (found.length > 1 && found.some((f) => f.from !== first.from)) throw new StationError('ambiguous_id', `several parties sent a note ${id}: name the sender`);
  return first;
}

export function idBytes(id: string): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromHex(id);
  } catch (cause) {
    throw new BackchannelError('argument_invalid', `${JSON.stringify(id)} is not a note id (32 hex digits)`, { cause });
  }
  if (b.length !== 16) throw new BackchannelError('argument_invalid', `${JSON.stringify(id)} is not a note id (32 hex digits)`);
  return b;
}

