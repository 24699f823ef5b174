/**
 * What a desk shows: one note (PRODUCT.md `show --json`: id, from, to, precedence, subject,
 * body, attribution, copies [{relay, received_at, digest, valid}], consistent, and the delivery
 * timeline), the inbox, a thread, the channels' health. Plain JSON-ready objects, snake_case
 * where the CLI contract names the fields, so the CLI prints them as they are.
 */
import { decodeContent, toHex, type Content } from '@backchannel/core';
import type { Desk } from './desk.js';
import { StationError } from './errors.js';
import { isConsistent } from './merge.js';
import type { Alert, Attribution, IncomingNote, NoteRefHex, OutgoingChannel, OutgoingNote } from './store/types.js';

export interface AttributionView {
  party: string;
  signer: string;
  name: string;
  title: string;
  level: 'institutional' | 'official';
  /** For people: "the office only" or the official's name and title. */
  text: string;
}

export interface CopyView {
  relay: string;
  received_at: number;
  digest: string;
  valid: boolean;
  error: string | null;
}

export interface ChannelView {
  relay: string;
  role: 'chosen' | 'failover';
  reason: string | null;
  started_at: number;
  submitted_at: number | null;
  log_index: number | null;
  delivered_at: number | null;
  acked_at: number | null;
  recipient_arrival_at: number | null;
  error: { code: string; message: string; at: number } | null;
}

export interface TimelineEvent {
  at: number;
  event: 'created' | 'submitted' | 'failover' | 'submission_failed' | 'delivered' | 'acknowledged' | 'read' | 'received' | 'copy_acknowledged' | 'invalid_copy' | 'alert' | 'deadline';
  relay: string | null;
  detail: string | null;
}

export type NoteStatus = 'pending' | 'submitted' | 'failed' | 'delivered' | 'acknowledged' | 'read' | 'received';

export interface NoteView {
  id: string;
  from: string;
  to: string;
  direction: 'in' | 'out';
  kind: Content['kind'];
  precedence: string;
  category: string | null;
  subject: string;
  body: string;
  created: number;
  digest: string;
  thread: string | null;
  reply_to: NoteRefHex | null;
  references: NoteRefHex[];
  attachments: { name: string; type: string; size: number }[];
  attribution: AttributionView | null;
  copies: CopyView[];
  consistent: boolean;
  equivocated: boolean;
  status: NoteStatus;
  deadline: number | null;
  channels: ChannelView[];
  timeline: TimelineEvent[];
  alerts: number[];
}

export interface InboxEntry {
  id: string;
  from: string;
  to: string;
  direction: 'in' | 'out';
  precedence: string;
  subject: string;
  created: number;
  /** Received (in) or sent (out). */
  at: number;
  thread: string | null;
  status: NoteStatus;
  consistent: boolean;
  alerts: number;
}

export interface ThreadView {
  id: string;
  party: string;
  subject: string;
  started_at: number;
  last_at: number;
  notes: NoteView[];
}

export interface ChannelHealthView {
  relay: string;
  name: string;
  url: string;
  origin: string;
  fingerprint: string;
  rank: number;
  primary: boolean;
  last_contact: number | null;
  last_heartbeat: number | null;
  lag_ms: number | null;
  last_error: { code: string; message: string; at: number } | null;
  open_alerts: number;
}

function attributionView(a: Omit<Attribution, 'certificate'>): AttributionView {
  const text = a.level === 'institutional' ? `${a.name} (institutional; no official named)` : `${a.name}, ${a.title}`;
  return { party: a.party, signer: a.signer, name: a.name, title: a.title, level: a.level, text };
}

function contentFields(c: Content): Pick<NoteView, 'subject' | 'body' | 'category' | 'references' | 'attachments'> {
  if (c.kind === 'note') {
    return {
      subject: c.subject,
      body: c.body,
      category: c.category,
      references: (c.references ?? []).map((r) => ({ from: r.from, id: toHex(r.id) })),
      attachments: (c.attachments ?? []).map((a) => ({ name: a.name, type: a.type, size: a.data.length })),
    };
  }
  const body =
    c.kind === 'ack'
      ? c.acks.map((a) => `${a.from}/${toHex(a.id)} via ${a.arrivals.map((x) => x.relay).join(', ')}`).join('\n')
      : c.kind === 'read'
        ? c.reads.map((r) => `${r.from}/${toHex(r.id)} read at ${new Date(r.at).toISOString()}`).join('\n')
        : c.kind === 'heartbeat'
          ? `heartbeat ${c.seq}`
          : 'a new key bundle';
  return { subject: `(${c.kind})`, body, category: null, references: [], attachments: [] };
}

function alertIds(alerts: readonly Alert[], from: string, id: string): number[] {
  return alerts.filter((a) => a.note?.from === from && a.note.id === id).map((a) => a.id);
}

export async function outgoingView(desk: Desk, n: OutgoingNote, alerts: readonly Alert[]): Promise<NoteView> {
  const c = decodeContent(n.content);
  const channels = await desk.store.listChannels(n.id);
  const signer = desk.keys.signers.find((s) => s.id === n.signer);
  const timeline: TimelineEvent[] = [{ at: n.created, event: 'created', relay: null, detail: `sealed, ${n.precedence}` }];
  for (const ch of channels) {
    if (ch.role === 'failover') timeline.push({ at: ch.startedAt, event: 'failover', relay: ch.relay, detail: ch.reason ?? null });
    if (ch.submittedAt !== undefined) timeline.push({ at: ch.submittedAt, event: 'submitted', relay: ch.relay, detail: `log index ${ch.logIndex ?? '?'}` });
    if (ch.error !== undefined) timeline.push({ at: ch.error.at, event: 'submission_failed', relay: ch.relay, detail: `${ch.error.code}: ${ch.error.message}` });
    if (ch.deliveredAt !== undefined) timeline.push({ at: ch.deliveredAt, event: 'delivered', relay: ch.relay, detail: 'relay-signed delivery record' });
    if (ch.ackedAt !== undefined) timeline.push({ at: ch.ackedAt, event: 'acknowledged', relay: ch.relay, detail: 'end-to-end acknowledgement came back through this channel' });
  }
  if (n.readAt !== undefined) timeline.push({ at: n.readAt, event: 'read', relay: null, detail: null });
  const mine = alertIds(alerts, desk.party, n.id);
  for (const a of alerts.filter((x) => mine.includes(x.id))) timeline.push({ at: a.at, event: 'alert', relay: a.relay ?? null, detail: `${a.kind}: ${a.message}` });
  timeline.sort((a, b) => a.at - b.at);
  return {
    id: n.id,
    from: desk.party,
    to: n.to,
    direction: 'out',
    kind: n.kind,
    precedence: n.precedence,
    ...contentFields(c),
    created: n.created,
    digest: toHex(n.digest),
    thread: n.thread ?? null,
    reply_to: n.replyTo ?? null,
    attribution:
      signer === undefined
        ? null
        : attributionView({ party: desk.party, signer: signer.id, name: signer.cert.name, title: signer.cert.title, level: signer.cert.level }),
    // The sender's view of its copies: what each relay acknowledged holding (a verified receipt).
    copies: channels.filter((ch) => ch.submittedAt !== undefined).map((ch) => ({ relay: ch.relay, received_at: ch.submittedAt ?? 0, digest: toHex(n.digest), valid: true, error: null })),
    consistent: !alerts.some((a) => mine.includes(a.id) && a.kind === 'invalid_copy'),
    equivocated: false,
    status: outgoingStatus(n, channels),
    deadline: n.kind === 'note' ? n.deadline : null,
    channels: channels.map(channelView),
    timeline,
    alerts: mine,
  };
}

export async function incomingView(desk: Desk, n: IncomingNote, alerts: readonly Alert[]): Promise<NoteView> {
  const c = decodeContent(n.content);
  const copies = await desk.store.listCopies(n.from, n.id);
  const timeline: TimelineEvent[] = [{ at: n.created, event: 'created', relay: null, detail: `sealed by ${n.from}, ${n.precedence}` }];
  for (const cp of copies) {
    timeline.push({ at: cp.receivedAt, event: cp.valid ? 'received' : 'invalid_copy', relay: cp.relay, detail: cp.valid ? `digest ${toHex(cp.digest).slice(0, 16)}…` : (cp.errorCode ?? null) });
    if (cp.ackedAt !== undefined) timeline.push({ at: cp.ackedAt, event: 'copy_acknowledged', relay: cp.relay, detail: 'relay-signed delivery record' });
  }
  if (n.ackSentAt !== undefined && n.from !== desk.party && (n.kind === 'note' || n.kind === 'heartbeat')) {
    timeline.push({ at: n.ackSentAt, event: 'acknowledged', relay: null, detail: 'end-to-end acknowledgement sent' });
  }
  if (n.readAt !== undefined) timeline.push({ at: n.readAt, event: 'read', relay: null, detail: null });
  const mine = alertIds(alerts, n.from, n.id);
  for (const a of alerts.filter((x) => mine.includes(x.id))) timeline.push({ at: a.at, event: 'alert', relay: a.relay ?? null, detail: `${a.kind}: ${a.message}` });
  timeline.sort((a, b) => a.at - b.at);
  return {
    id: n.id,
    from: n.from,
    to: n.to,
    direction: n.from === desk.party ? 'out' : 'in',
    kind: n.kind,
    precedence: n.precedence,
    ...contentFields(c),
    created: n.created,
    digest: toHex(n.digest),
    thread: n.thread ?? null,
    reply_to: n.replyTo ?? null,
    attribution: attributionView(n.attribution),
    copies: copies.map((cp) => ({ relay: cp.relay, received_at: cp.receivedAt, digest: toHex(cp.digest), valid: cp.valid, error: cp.errorCode ?? null })),
    consistent: isConsistent(copies),
    equivocated: n.equivocated,
    status: n.readAt !== undefined ? 'read' : 'received',
    deadline: null,
    channels: [],
    timeline,
    alerts: mine,
  };
}

function channelView(ch: OutgoingChannel): ChannelView {
  return {
    relay: ch.relay,
    role: ch.role,
    reason: ch.reason ?? null,
    started_at: ch.startedAt,
    submitted_at: ch.submittedAt ?? null,
    log_index: ch.logIndex ?? null,
    delivered_at: ch.deliveredAt ?? null,
    acked_at: ch.ackedAt ?? null,
    recipient_arrival_at: ch.recipientArrivalAt ?? null,
    error: ch.error ?? null,
  };
}

function outgoingStatus(n: OutgoingNote, channels: readonly OutgoingChannel[]): NoteStatus {
  if (n.readAt !== undefined) return 'read';
  if (n.ackedAt !== undefined) return 'acknowledged';
  if (channels.some((c) => c.deliveredAt !== undefined)) return 'delivered';
  if (channels.some((c) => c.receipt !== undefined)) return 'submitted';
  if (channels.length > 0 && channels.every((c) => c.error !== undefined)) return 'failed';
  return 'pending';
}

/** One note by id (either direction); `from` settles an id two senders used. */
export async function showNote(desk: Desk, id: string, from?: string): Promise<NoteView> {
  const key = id.toLowerCase();
  const alerts = await desk.store.listAlerts();
  if (from === undefined || from === desk.party) {
    const o = await desk.store.getOutgoing(key);
    if (o !== undefined) return outgoingView(desk, o, alerts);
  }
  const found = (await desk.store.findIncomingById(key)).filter((n) => from === undefined || n.from === from);
  const first = found[0];
  if (first === undefined) throw new StationError('not_found', `no note ${id} at this station`);
  if (found.length > 1) throw new StationError('ambiguous_id', `several parties sent a note ${id}: name the sender`);
  return incomingView(desk, first, alerts);
}

export async function listInbox(desk: Desk, opts: { limit?: number } = {}): Promise<InboxEntry[]> {
  const alerts = await desk.store.listAlerts({ open: true });
  const out: InboxEntry[] = [];
  for (const n of await desk.store.listIncoming({ kinds: ['note'] })) {
    const c = decodeContent(n.content);
    const copies = await desk.store.listCopies(n.from, n.id);
    out.push({
      id: n.id,
      from: n.from,
      to: n.to,
      direction: n.from === desk.party ? 'out' : 'in',
      precedence: n.precedence,
      subject: c.kind === 'note' ? c.subject : `(${c.kind})`,
      created: n.created,
      at: n.receivedAt,
      thread: n.thread ?? null,
      status: n.readAt !== undefined ? 'read' : 'received',
      consistent: isConsistent(copies),
      alerts: alertIds(alerts, n.from, n.id).length,
    });
  }
  for (const n of await desk.store.listOutgoing({ kinds: ['note'] })) {
    const c = decodeContent(n.content);
    const channels = await desk.store.listChannels(n.id);
    const mine = alertIds(alerts, desk.party, n.id);
    out.push({
      id: n.id,
      from: desk.party,
      to: n.to,
      direction: 'out',
      precedence: n.precedence,
      subject: c.kind === 'note' ? c.subject : `(${c.kind})`,
      created: n.created,
      at: n.created,
      thread: n.thread ?? null,
      status: outgoingStatus(n, channels),
      consistent: !alerts.some((a) => mine.includes(a.id) && a.kind === 'invalid_copy'),
      alerts: mine.length,
    });
  }
  out.sort((a, b) => b.at - a.at || (a.id < b.id ? -1 : 1));
  return opts.limit === undefined ? out : out.slice(0, opts.limit);
}

/** A thread by its id or by the id of any note in it, oldest note first. */
export async function showThread(desk: Desk, id: string): Promise<ThreadView> {
  const key = id.toLowerCase();
  let threadId = key;
  let t = await desk.store.getThread(key);
  if (t === undefined) {
    const o = await desk.store.getOutgoing(key);
    const i = (await desk.store.findIncomingById(key))[0];
    const tid = o?.thread ?? i?.thread;
    if (tid !== undefined) {
      threadId = tid;
      t = await desk.store.getThread(tid);
    }
  }
  if (t === undefined) throw new StationError('not_found', `no thread or note ${id} at this station`);
  const alerts = await desk.store.listAlerts();
  const notes: NoteView[] = [];
  for (const o of await desk.store.listOutgoing({ thread: threadId })) notes.push(await outgoingView(desk, o, alerts));
  for (const n of await desk.store.listIncoming({ thread: threadId })) notes.push(await incomingView(desk, n, alerts));
  notes.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
  return { id: t.id, party: t.party, subject: t.subject, started_at: t.startedAt, last_at: t.lastAt, notes };
}

export async function listChannelHealth(desk: Desk): Promise<ChannelHealthView[]> {
  const alerts = await desk.store.listAlerts({ open: true });
  const relays = await desk.store.listRelays();
  return relays.map((r, i) => ({
    relay: r.id,
    name: r.name,
    url: r.url,
    origin: r.origin,
    fingerprint: r.fingerprint,
    rank: r.rank,
    primary: i === 0,
    last_contact: r.health.lastContact ?? null,
    last_heartbeat: r.health.lastHeartbeat ?? null,
    lag_ms: r.health.lagMs ?? null,
    last_error: r.health.lastError ?? null,
    open_alerts: alerts.filter((a) => a.relay === r.id).length,
  }));
}
