/**
 * What is inside the encryption: the content (what a person wrote, or a machine message), the
 * signer's certificate, and the signer's signature over the header digest and the content.
 */
import { decodeCbor, encodeCbor, type CborMap, type CborValue } from '../cbor.js';
import { BackchannelError } from '../errors.js';
import { MapReader, readItem } from '../schema.js';
import { PARTY_ID_RE, DISPLAY_RE, KEY_ID_RE } from '../identity/ids.js';
import { SUITE_NAMES, type SuiteName } from '../identity/bundle.js';

export const CATEGORIES = ['consular', 'political', 'security', 'humanitarian'] as const;
export type Category = (typeof CATEGORIES)[number];

/** A note's identity across the system: the sender party and its 16-byte id. */
export interface NoteRef {
  from: string;
  id: Uint8Array;
}

export interface Attachment {
  name: string;
  type: string;
  data: Uint8Array;
}

export interface NoteContent {
  kind: 'note';
  subject: string;
  body: string;
  category: Category;
  /** The thread's id: the id of the note that opened it. */
  thread: Uint8Array;
  inReplyTo?: NoteRef;
  references?: NoteRef[];
  attachments?: Attachment[];
  /** Checkpoints the sender's desk holds of its relays (DESIGN.md: stations gossip), opaque here. */
  gossip?: Uint8Array;
}

/** One entry of a party-level acknowledgement: a note received, and on which channels, when. */
export interface AckEntry {
  from: string;
  id: Uint8Array;
  digest: Uint8Array;
  arrivals: { relay: string; at: number }[];
}

export interface AckContent {
  kind: 'ack';
  acks: AckEntry[];
  gossip?: Uint8Array;
}

export interface ReadContent {
  kind: 'read';
  reads: { from: string; id: Uint8Array; at: number }[];
}

/** The hotline's regular test message: proves every channel carries notes end to end. */
export interface HeartbeatContent {
  kind: 'heartbeat';
  seq: number;
  gossip?: Uint8Array;
}

/** A new key bundle of the sender, passed to the peer party inside the encryption. */
export interface BundleContent {
  kind: 'bundle';
  bundle: Uint8Array;
}

/**
 * A key share (protocol.md §4.8): the party's private keys under one bundle, from the desk that
 * holds the root to one other desk of the party, in a desk envelope sealed to that desk's own
 * key-agreement key. Only ever inside an envelope whose `from` and `to` are the same party.
 */
export interface KeysContent {
  kind: 'keys';
  /** The addressed desk: its station id and station key, as the bundle lists them. */
  station: string;
  desk: Uint8Array;
  /** The bundle the keys belong to (sequence and hash). */
  bundle: { seq: number; hash: Uint8Array };
  /** Encryption private keys (raw, as the suite serializes them), each listed in that bundle. */
  enc: { suite: SuiteName; priv: Uint8Array }[];
  /** Signer keys (Ed25519 seeds) with their root-signed certificates, each listed in that bundle. */
  signers: { id: string; seed: Uint8Array; cert: Uint8Array }[];
}

export type Content = NoteContent | AckContent | ReadContent | HeartbeatContent | BundleContent | KeysContent;
export type ContentKind = Content['kind'];
export const CONTENT_KINDS = ['note', 'ack', 'read', 'heartbeat', 'bundle', 'keys'] as const;

export const MAX_SUBJECT_CHARS = 500;
export const MAX_ATTACHMENTS = 16;
/** Gossip is a few signed checkpoints; bounded so it can never crowd out a note. */
export const MAX_GOSSIP_BYTES = 64 * 1024;
const RELAY_RE = /^(?:[a-z][a-z0-9-]{0,31}|out-of-band)$/;
const MIME_RE = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/;
const FILE_NAME_RE = /^[^\p{Cc}/\\]{1,255}$/u;

function refToCbor(r: NoteRef): CborMap {
  return { from: r.from, id: r.id };
}

export function encodeContent(c: Content): Uint8Array {
  let m: CborMap;
  switch (c.kind) {
    case 'note':
      m = { v: 1, kind: 'note', subject: c.subject, body: c.body, category: c.category, thread: c.thread };
      if (c.inReplyTo !== undefined) m.reply = refToCbor(c.inReplyTo);
      if (c.references !== undefined && c.references.length > 0) m.refs = c.references.map(refToCbor);
      if (c.attachments !== undefined && c.attachments.length > 0) m.att = c.attachments.map((a) => ({ name: a.name, type: a.type, data: a.data }));
      break;
    case 'ack':
      m = {
        v: 1,
        kind: 'ack',
        acks: c.acks.map((a) => ({ from: a.from, id: a.id, digest: a.digest, arr: a.arrivals.map((x) => ({ relay: x.relay, at: x.at })) })),
      };
      break;
    case 'read':
      m = { v: 1, kind: 'read', reads: c.reads.map((r) => ({ from: r.from, id: r.id, at: r.at })) };
      break;
    case 'heartbeat':
      m = { v: 1, kind: 'heartbeat', seq: c.seq };
      break;
    case 'bundle':
      m = { v: 1, kind: 'bundle', bundle: c.bundle };
      break;
    case 'keys':
      m = {
        v: 1,
        kind: 'keys',
        station: c.station,
        desk: c.desk,
        bundle: { seq: c.bundle.seq, hash: c.bundle.hash },
        enc: c.enc.map((e) => ({ suite: e.suite, priv: e.priv })),
        signers: c.signers.map((x) => ({ id: x.id, seed: x.seed, cert: x.cert })),
      };
      break;
  }
  if ((c.kind === 'note' || c.kind === 'ack' || c.kind === 'heartbeat') && c.gossip !== undefined) m.gossip = c.gossip;
  const bytes = encodeCbor(m);
  decodeContent(bytes); // refuse to seal what a recipient would refuse to open
  return bytes;
}

function readRef(x: CborValue, path: string, p: MapReader): NoteRef {
  return readItem(x, path, p, (r) => ({ from: r.text('from', { pattern: PARTY_ID_RE }), id: r.bytes('id', { len: 16 }) }));
}

export function decodeContent(bytes: Uint8Array): Content {
  const v = decodeCbor(bytes);
  const r = new MapReader(v, 'content');
  const ver = r.uint('v');
  const kind = r.text('kind', { oneOf: CONTENT_KINDS });
  let c: Content | undefined;
  switch (kind) {
    case 'note': {
      const note: NoteContent = {
        kind: 'note',
        subject: r.text('subject', { max: MAX_SUBJECT_CHARS }),
        body: r.text('body'),
        category: r.text('category', { oneOf: CATEGORIES }) as Category,
        thread: r.bytes('thread', { len: 16 }),
      };
      const reply = r.map('reply', (m) => ({ from: m.text('from', { pattern: PARTY_ID_RE }), id: m.bytes('id', { len: 16 }) }), { optional: true });
      if (reply !== undefined) note.inReplyTo = reply;
      const refs = r.array('refs', readRef, { max: 256, optional: true });
      if (refs.length > 0) note.references = refs;
      const att = r.array(
        'att',
        (x, path, p) => readItem(x, path, p, (a) => ({ name: a.text('name', { pattern: FILE_NAME_RE }), type: a.text('type', { pattern: MIME_RE }), data: a.bytes('data') })),
        { max: MAX_ATTACHMENTS, optional: true },
      );
      if (att.length > 0) note.attachments = att;
      const gossip = r.optBytes('gossip', { max: MAX_GOSSIP_BYTES });
      if (gossip !== undefined) note.gossip = gossip;
      c = note;
      break;
    }
    case 'ack': {
      const ack: AckContent = {
        kind: 'ack',
        acks: r.array('acks', (x, path, p) =>
          readItem(x, path, p, (a) => ({
            from: a.text('from', { pattern: PARTY_ID_RE }),
            id: a.bytes('id', { len: 16 }),
            digest: a.bytes('digest', { len: 32 }),
            arrivals: a.array('arr', (y, path2, p2) => readItem(y, path2, p2, (e) => ({ relay: e.text('relay', { pattern: RELAY_RE }), at: e.uint('at') })), { max: 64 }),
          })), { max: 10_000 }),
      };
      const gossip = r.optBytes('gossip', { max: MAX_GOSSIP_BYTES });
      if (gossip !== undefined) ack.gossip = gossip;
      c = ack;
      break;
    }
    case 'read':
      c = {
        kind: 'read',
        reads: r.array('reads', (x, path, p) => readItem(x, path, p, (e) => ({ from: e.text('from', { pattern: PARTY_ID_RE }), id: e.bytes('id', { len: 16 }), at: e.uint('at') })), { max: 10_000 }),
      };
      break;
    case 'heartbeat': {
      const hb: HeartbeatContent = { kind: 'heartbeat', seq: r.uint('seq') };
      const gossip = r.optBytes('gossip', { max: MAX_GOSSIP_BYTES });
      if (gossip !== undefined) hb.gossip = gossip;
      c = hb;
      break;
    }
    case 'bundle':
      c = { kind: 'bundle', bundle: r.bytes('bundle', { max: 512 * 1024 }) };
      break;
    case 'keys':
      c = {
        kind: 'keys',
        station: r.text('station', { pattern: KEY_ID_RE }),
        desk: r.bytes('desk', { len: 32 }),
        bundle: r.map('bundle', (b) => ({ seq: b.uint('seq', { min: 1 }), hash: b.bytes('hash', { len: 32 }) })) ?? { seq: 0, hash: new Uint8Array(32) },
        enc: r.array('enc', (x, path, p) => readItem(x, path, p, (e) => ({ suite: e.text('suite', { oneOf: SUITE_NAMES }) as SuiteName, priv: e.bytes('priv', { min: 32, max: 2432 }) })), { max: 64 }),
        signers: r.array('signers', (x, path, p) => readItem(x, path, p, (e) => ({ id: e.text('id', { pattern: KEY_ID_RE }), seed: e.bytes('seed', { len: 32 }), cert: e.bytes('cert', { max: 4096 }) })), { max: 256 }),
      };
      break;
    default:
      break;
  }
  if (ver !== 1) r.problems.push('content.v must be 1');
  r.done();
  if (c === undefined) throw new BackchannelError('schema_invalid', 'content has no known kind');
  return c;
}

export function isDisplayText(s: string): boolean {
  return DISPLAY_RE.test(s);
}
