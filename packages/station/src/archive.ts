/**
 * Thread archives (issue 7, docs/protocol.md "Thread archives"): everything a desk holds about
 * one thread, in one deterministic CBOR value that re-verifies offline with nothing but
 * @backchannel/core.
 *
 *   Archive = { "v": 1, "type": "backchannel/thread-archive", "body": Body bytes, "sha256": SHA-256(Body bytes) }
 *   Body    = { "exported_by": party, "exported_at": ms, "thread": {id, party, subject, started_at, last_at},
 *               "parties": [{id, bundle: signed bundle bytes}], "relays": [{id, card: relay card JSON text}],
 *               "notes": [Note], "checkpoints": [{relay, note: signed checkpoint text with cosignatures}] }
 *   Note    = { "direction": "in"|"out", "from", "id", "to", "created", "envelope": sealed bytes as delivered,
 *               "content": canonical content bytes (decrypted), "certificate": signer certificate bytes, "sig"?,
 *               "acked_at", "read_at", "copies": [Copy] }
 *   Copy    = { "relay", "digest", "at", "envelope"?: bytes when not the note's, "valid", "receipt"?: tlog-proof text,
 *               "token"?, "delivery_record"?, "delivery_receipt"?, "copy_ack"?, "acked_at"?, "recipient_arrival_at"? }
 *
 * Absent values are omitted (CBOR has no undefined); every array is in a fixed order, so the same
 * store exports the same bytes at the same `exported_at`.
 *
 * What verifyArchive proves without any private key: each envelope's structure and the sending
 * station's signature under the sender's bundle (itself signed by the party's root); the signer
 * certificate under the same root and, where the exporter could recover it (archive-seal.ts),
 * the signer's signature over [SHA-256(header), content]; every receipt against the relay's log
 * key and the copy's digest; every delivery record's signature and digest; every checkpoint's
 * signature. The body's SHA-256 catches corruption anywhere else.
 */
import {
  BackchannelError,
  decodeCbor,
  decodeContent,
  encodeCbor,
  equalBytes,
  fromHex,
  isBackchannelError,
  openBundle,
  openCheckpoint,
  openDeliveryRecord,
  openSignerCertificate,
  parseEnvelope,
  parseRelayCard,
  sha256,
  toHex,
  verifyContentSignature,
  verifyEnvelopeStation,
  verifyReceipt,
  verifySignerCertificate,
  type CborMap,
  type CborValue,
  type Content,
  type KeyBundle,
  type RelayCard,
} from '@backchannel/core';
import { recoverContentSignature, type EncryptionKeyHeld } from './archive-seal.js';
import { StationError } from './errors.js';
import type { StationStore } from './store/store.js';

export const ARCHIVE_VERSION = 1;
export const ARCHIVE_TYPE = 'backchannel/thread-archive';
/** Archives carry whole envelopes (up to the largest size bucket each): far above the CBOR default. */
export const ARCHIVE_MAX_BYTES = 256 * 1024 * 1024;

export interface ArchiveCopy {
  relay: string;
  digest: Uint8Array;
  at: number;
  envelope?: Uint8Array;
  valid: boolean;
  receipt?: string;
  token?: Uint8Array;
  delivery_record?: Uint8Array;
  delivery_receipt?: string;
  copy_ack?: Uint8Array;
  acked_at?: number;
  recipient_arrival_at?: number;
}

export interface ArchiveNote {
  direction: 'in' | 'out';
  from: string;
  id: string;
  to: string;
  created: number;
  envelope: Uint8Array;
  content: Uint8Array;
  certificate: Uint8Array;
  /** The signer's signature over [SHA-256(header), content], recovered at export with the party's keys. */
  sig?: Uint8Array;
  acked_at?: number;
  read_at?: number;
  copies: ArchiveCopy[];
}

export interface ArchiveBody {
  exported_by: string;
  exported_at: number;
  thread: { id: string; party: string; subject: string; started_at: number; last_at: number };
  parties: { id: string; bundle: Uint8Array }[];
  relays: { id: string; card: string }[];
  notes: ArchiveNote[];
  checkpoints: { relay: string; note: string }[];
}

/** Drops undefined fields: CBOR has no undefined. */
function clean(o: Record<string, unknown>): CborMap {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as CborMap;
}

/** Collects a thread from a station's store into archive bytes. `signerCertificate` finds an outgoing note's certificate by signer id. */
export async function exportThreadArchive(
  store: StationStore,
  p: { party: string; thread: string; now: number; signerCertificate: (signer: string) => Uint8Array | undefined; encryption?: readonly EncryptionKeyHeld[] },
): Promise<Uint8Array> {
  const key = p.thread.toLowerCase();
  let t = await store.getThread(key);
  if (t === undefined) {
    const tid = (await store.getOutgoing(key))?.thread ?? (await store.findIncomingById(key))[0]?.thread;
    if (tid !== undefined) t = await store.getThread(tid);
  }
  if (t === undefined) throw new StationError('not_found', `no thread or note ${p.thread} at this station`);
  const notes: ArchiveNote[] = [];
  for (const o of await store.listOutgoing({ thread: t.id })) {
    const cert = p.signerCertificate(o.signer);
    if (cert === undefined) throw new StationError('not_found', `the certificate of signer ${o.signer} is no longer held`);
    const copies: ArchiveCopy[] = [];
    for (const ch of await store.listChannels(o.id)) {
      if (ch.receipt === undefined) continue; // never accepted by that relay: nothing to prove
      copies.push(
        clean({
          relay: ch.relay,
          digest: o.digest,
          at: ch.submittedAt ?? ch.startedAt,
          valid: true,
          receipt: ch.receipt,
          token: ch.token,
          delivery_record: ch.deliveryRecord,
          delivery_receipt: ch.deliveryReceipt,
          acked_at: ch.ackedAt,
          recipient_arrival_at: ch.recipientArrivalAt,
        }) as unknown as ArchiveCopy,
      );
    }
    notes.push(clean({ direction: 'out', from: p.party, id: o.id, to: o.to, created: o.created, envelope: o.envelope, content: o.content, certificate: cert, sig: await recoverContentSignature(o.envelope, p.party, p.encryption ?? [], (await store.getParty(p.party))?.bundle), acked_at: o.ackedAt, read_at: o.readAt, copies }) as unknown as ArchiveNote);
  }
  for (const n of await store.listIncoming({ thread: t.id })) {
    const copies: ArchiveCopy[] = (await store.listCopies(n.from, n.id)).map(
      (c) =>
        clean({
          relay: c.relay,
          digest: c.digest,
          at: c.receivedAt,
          envelope: c.envelope,
          valid: c.valid,
          receipt: c.receipt,
          token: c.token,
          delivery_record: c.deliveryRecord,
          delivery_receipt: c.deliveryReceipt,
          copy_ack: c.copyAck,
          acked_at: c.ackedAt,
        }) as unknown as ArchiveCopy,
    );
    notes.push(
      clean({
        direction: n.from === p.party ? 'out' : 'in',
        from: n.from,
        id: n.id,
        to: n.to,
        created: n.created,
        envelope: n.envelope,
        content: n.content,
        certificate: n.attribution.certificate,
        sig: await recoverContentSignature(n.envelope, p.party, p.encryption ?? [], (await store.getParty(n.from))?.bundle),
        read_at: n.readAt,
        copies,
      }) as unknown as ArchiveNote,
    );
  }
  notes.sort((a, b) => a.created - b.created || (a.from + a.id < b.from + b.id ? -1 : 1));
  for (const n of notes) n.copies.sort((a, b) => a.at - b.at || (a.relay < b.relay ? -1 : 1));

  const partyIds = new Set([p.party, t.party, ...notes.flatMap((n) => [n.from, n.to])]);
  const parties: ArchiveBody['parties'] = [];
  for (const id of [...partyIds].sort()) {
    const pp = await store.getParty(id);
    if (pp !== undefined) parties.push({ id, bundle: pp.bundle.bytes });
  }
  const relayIds = new Set(notes.flatMap((n) => n.copies.map((c) => c.relay)));
  const relays: ArchiveBody['relays'] = [];
  const checkpoints: ArchiveBody['checkpoints'] = [];
  for (const id of [...relayIds].sort()) {
    const r = await store.getRelay(id);
    if (r === undefined) continue;
    relays.push({ id, card: JSON.stringify(r.card) });
    for (const c of (await store.listCheckpoints(id)).sort((a, b) => a.size - b.size || (a.note < b.note ? -1 : 1))) checkpoints.push({ relay: id, note: c.note });
  }
  const body: ArchiveBody = {
    exported_by: p.party,
    exported_at: p.now,
    thread: { id: t.id, party: t.party, subject: t.subject, started_at: t.startedAt, last_at: t.lastAt },
    parties,
    relays,
    notes,
    checkpoints,
  };
  const bodyBytes = encodeCbor(body as unknown as CborValue);
  return encodeCbor({ v: ARCHIVE_VERSION, type: ARCHIVE_TYPE, body: bodyBytes, sha256: sha256(bodyBytes) });
}

/** Parses archive bytes (structure and integrity digest only; verifyArchive checks the rest). */
export function decodeArchive(bytes: Uint8Array): ArchiveBody {
  const decoded: unknown = decodeCbor(bytes, ARCHIVE_MAX_BYTES);
  if (decoded === null || typeof decoded !== 'object' || decoded instanceof Uint8Array || Array.isArray(decoded)) throw new BackchannelError('schema_invalid', 'an archive is a CBOR map');
  const outer = decoded as Record<string, unknown>;
  if (outer.v !== ARCHIVE_VERSION) throw new BackchannelError('schema_invalid', `archive version ${String(outer.v)} is not supported`);
  if (outer.type !== ARCHIVE_TYPE) throw new BackchannelError('schema_invalid', 'not a thread archive');
  const body = outer.body;
  const digest = outer.sha256;
  if (!(body instanceof Uint8Array) || !(digest instanceof Uint8Array)) throw new BackchannelError('schema_invalid', 'archive has no body or digest');
  if (!equalBytes(sha256(body), digest)) throw new BackchannelError('schema_invalid', 'the archive body does not match its SHA-256');
  return decodeCbor(body, ARCHIVE_MAX_BYTES) as unknown as ArchiveBody;
}

export interface ArchiveReport {
  ok: boolean;
  thread: string | null;
  exported_by: string | null;
  exported_at: number | null;
  notes: number;
  /** Notes whose content is proven by the signer's signature against the header digest. */
  content_signatures: number;
  copies: number;
  receipts: number;
  delivery_records: number;
  checkpoints: number;
  problems: string[];
}

function why(e: unknown): string {
  if (isBackchannelError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Re-checks an archive offline. Never throws for a bad archive: the problems are in the report. */
export function verifyArchive(bytes: Uint8Array): ArchiveReport {
  const r: ArchiveReport = { ok: false, thread: null, exported_by: null, exported_at: null, notes: 0, content_signatures: 0, copies: 0, receipts: 0, delivery_records: 0, checkpoints: 0, problems: [] };
  let body: ArchiveBody;
  try {
    body = decodeArchive(bytes);
  } catch (e) {
    r.problems.push(why(e));
    return r;
  }
  const problem = (where: string, e: unknown): void => {
    r.problems.push(`${where}: ${why(e)}`);
  };
  try {
    r.thread = body.thread.id;
    r.exported_by = body.exported_by;
    r.exported_at = body.exported_at;
    const bundles = new Map<string, KeyBundle>();
    for (const p of body.parties) {
      try {
        const b = openBundle(p.bundle).bundle;
        if (b.party !== p.id) throw new Error(`bundle is for ${b.party}`);
        bundles.set(p.id, b);
      } catch (e) {
        problem(`party ${p.id}`, e);
      }
    }
    const relays = new Map<string, RelayCard>();
    for (const x of body.relays) {
      try {
        const c = parseRelayCard(x.card);
        if (c.id !== x.id) throw new Error(`card is for relay ${c.id}`);
        relays.set(x.id, c);
      } catch (e) {
        problem(`relay ${x.id}`, e);
      }
    }
    for (const n of body.notes) {
      r.notes++;
      const where = `note ${n.from}/${n.id}`;
      const sender = bundles.get(n.from);
      let headerDigest: Uint8Array | undefined;
      const checkEnvelope = (bytes: Uint8Array, w: string): Uint8Array | undefined => {
        try {
          const env = parseEnvelope(bytes);
          if (env.header.from !== n.from || env.header.to !== n.to || toHex(env.header.id) !== n.id) throw new Error('header does not name this note');
          if (sender === undefined) throw new Error(`no bundle for ${n.from} in the archive`);
          verifyEnvelopeStation(env, sender, env.header.created);
          headerDigest ??= sha256(env.headerBytes);
          return env.digest;
        } catch (e) {
          problem(w, e);
          return undefined;
        }
      };
      const digest = checkEnvelope(n.envelope, `${where} envelope`);
      try {
        if (sender === undefined) throw new Error(`no bundle for ${n.from} in the archive`);
        const cert = openSignerCertificate(n.certificate);
        verifySignerCertificate(cert, n.from, sender.root, n.created, sender);
        decodeContent(n.content);
        if (n.sig !== undefined) {
          if (headerDigest === undefined) throw new Error('no verified envelope to check the content signature against');
          if (!verifyContentSignature(cert.pub, headerDigest, n.content, n.sig)) throw new Error(`the signature of ${n.from}'s signer ${cert.id} over the content does not verify`);
          r.content_signatures++;
        }
      } catch (e) {
        problem(`${where} signer/content`, e);
      }
      for (const c of n.copies) {
        r.copies++;
        const w = `${where} copy via ${c.relay}`;
        const copyDigest = c.envelope === undefined ? digest : checkEnvelope(c.envelope, `${w} envelope`);
        if (copyDigest !== undefined && !equalBytes(copyDigest, c.digest)) r.problems.push(`${w}: digest does not match the envelope`);
        if (!c.valid) continue; // kept as evidence of an invalid copy; its receipt is the relay's word only
        const relay = relays.get(c.relay);
        if (relay === undefined) {
          r.problems.push(`${w}: no card for relay ${c.relay} in the archive`);
          continue;
        }
        if (c.receipt !== undefined) {
          r.receipts++;
          try {
            verifyReceipt(c.receipt, relay.vkey, { type: 'submit', digest: c.digest });
          } catch (e) {
            problem(`${w} receipt`, e);
          }
        }
        if (c.delivery_record !== undefined) {
          r.delivery_records++;
          try {
            const d = openDeliveryRecord(c.delivery_record, relay.vkey.publicKey);
            if (d.origin !== relay.origin) throw new Error(`delivery record is for log ${d.origin}`);
            if (!equalBytes(d.digest, c.digest) || d.from !== n.from || !equalBytes(d.id, fromHex(n.id))) throw new Error('delivery record is for another copy');
            if (c.delivery_receipt !== undefined) verifyReceipt(c.delivery_receipt, relay.vkey, { type: 'delivery', digest: d.digest, ref: d.hash });
          } catch (e) {
            problem(`${w} delivery record`, e);
          }
        }
      }
    }
    for (const cp of body.checkpoints) {
      r.checkpoints++;
      const relay = relays.get(cp.relay);
      try {
        if (relay === undefined) throw new Error(`no card for relay ${cp.relay}`);
        openCheckpoint(cp.note, relay.vkey, { origin: relay.origin });
      } catch (e) {
        problem(`checkpoint of ${cp.relay}`, e);
      }
    }
  } catch (e) {
    problem('archive structure', e);
  }
  r.ok = r.problems.length === 0;
  return r;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text as HTML text: never markup. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '—' : new Date(ms).toISOString();
}

function describe(c: Content): { subject: string; body: string } {
  if (c.kind === 'note') return { subject: c.subject, body: c.body };
  if (c.kind === 'ack') return { subject: '(ack)', body: c.acks.map((a) => `${a.from}/${toHex(a.id)} via ${a.arrivals.map((x) => x.relay).join(', ')}`).join('\n') };
  if (c.kind === 'read') return { subject: '(read)', body: c.reads.map((x) => `${x.from}/${toHex(x.id)} read at ${iso(x.at)}`).join('\n') };
  if (c.kind === 'heartbeat') return { subject: '(heartbeat)', body: `heartbeat ${c.seq}` };
  return { subject: `(${c.kind})`, body: '' };
}

/** A human-readable rendering: one self-contained HTML page; every subject and body is escaped text. */
export function renderArchiveHtml(bytes: Uint8Array): string {
  const body = decodeArchive(bytes);
  const report = verifyArchive(bytes);
  const e = escapeHtml;
  const out: string[] = [];
  out.push('<!DOCTYPE html>', '<html><head><meta charset="utf-8">', `<title>Thread ${e(body.thread.id)}</title>`);
  out.push('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">');
  out.push('<style>body{font-family:sans-serif;max-width:60em;margin:auto}pre{white-space:pre-wrap;border:1px solid #ccc;padding:.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}</style></head><body>');
  out.push(`<h1>Thread ${e(body.thread.id)}: ${e(body.thread.subject)}</h1>`);
  out.push(`<p>Exported by ${e(body.exported_by)} at ${iso(body.exported_at)}, with ${e(body.thread.party)}. Verification: <strong>${report.ok ? 'OK' : 'FAILED'}</strong></p>`);
  if (!report.ok) out.push('<ul>', ...report.problems.map((p) => `<li>${e(p)}</li>`), '</ul>');
  for (const n of body.notes) {
    let c: { subject: string; body: string };
    let signer = '';
    try {
      c = describe(decodeContent(n.content));
      const cert = openSignerCertificate(n.certificate);
      signer = cert.level === 'institutional' ? `${cert.name} (institutional)` : `${cert.name}, ${cert.title}`;
    } catch {
      c = { subject: '(unreadable content)', body: '' };
    }
    out.push('<section>', `<h2>${e(c.subject)}</h2>`);
    out.push(`<p>${n.direction === 'in' ? 'Received' : 'Sent'}: ${e(n.from)} → ${e(n.to)}, note ${e(n.id)}, created ${iso(n.created)}, signed by ${e(signer)}</p>`);
    out.push(`<pre>${e(c.body)}</pre>`);
    out.push('<table><tr><th>channel</th><th>at</th><th>digest</th><th>receipt</th><th>delivery record</th><th>acknowledged</th></tr>');
    for (const cp of n.copies) {
      out.push(
        `<tr><td>${e(cp.relay)}</td><td>${iso(cp.at)}</td><td>${toHex(cp.digest).slice(0, 16)}…${cp.valid ? '' : ' (INVALID)'}</td><td>${cp.receipt === undefined ? 'no' : 'yes'}</td><td>${cp.delivery_record === undefined ? 'no' : 'yes'}</td><td>${iso(cp.acked_at)}</td></tr>`,
      );
    }
    out.push('</table>');
    if (n.acked_at !== undefined) out.push(`<p>End-to-end acknowledgement: ${iso(n.acked_at)}</p>`);
    if (n.read_at !== undefined) out.push(`<p>Read: ${iso(n.read_at)}</p>`);
    out.push('</section>');
  }
  out.push('</body></html>', '');
  return out.join('\n');
}
