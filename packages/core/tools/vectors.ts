/**
 * Backchannel protocol vectors, generated deterministically: every key and nonce comes from a
 * seeded generator, every time is fixed. `npm run vectors` writes packages/core/vectors/*.json;
 * packages/core/test/vectors.test.ts generates them again and compares, then opens every
 * positive case and checks every named negative case's error code.
 */
import { encodeCbor } from '../src/cbor.js';
import { toBase64, toHex, utf8 } from '../src/bytes.js';
import { Ed25519Key } from '../src/ed25519.js';
import { deterministicRandomForTests, type Random } from '../src/random.js';
import { signBundle, type StationEntry, type SuiteName } from '../src/identity/bundle.js';
import { createParty, newEncryptionKey, type NewParty } from '../src/identity/party-keys.js';
import { partyCardJson } from '../src/identity/party-card.js';
import { makeRelayCard, type RelayCardJson } from '../src/identity/relay-card.js';
import { parseEnvelope, sealEnvelope } from '../src/envelope/envelope.js';
import type { Content } from '../src/envelope/content.js';
import { encodeContent } from '../src/envelope/content.js';
import { signSubmissionToken } from '../src/messages/submission-token.js';
import { signRequest } from '../src/messages/request.js';
import { signCopyAck } from '../src/messages/copy-ack.js';
import { signDeliveryRecord } from '../src/messages/delivery-record.js';
import { commitLeaf, encodeOpening, type LeafOpening } from '../src/messages/commitment.js';
import { formatReceipt } from '../src/messages/receipt.js';
import { signStatement } from '../src/messages/statement.js';
import { sha256 } from '../src/hash.js';
import { MemoryLog } from '../testing/memory-log.js';

export const T0 = Date.UTC(2026, 0, 2, 9, 0, 0);

export interface VectorParty {
  card: ReturnType<typeof partyCardJson>;
  root_seed: string;
  station_seed: string;
  signers: { id: string; seed: string; certificate: string }[];
  encryption: { suite: SuiteName; pub: string; priv: string }[];
}

export interface VectorEnvelope {
  name: string;
  suite: SuiteName;
  kind: Content['kind'];
  from: string;
  to: string;
  signer: string;
  created: number;
  bytes: string;
  digest: string;
  content_cbor: string;
}

export interface NegativeCase {
  name: string;
  /** Which opener the input goes to. */
  type: 'envelope' | 'token' | 'request' | 'delivery_record' | 'copy_ack' | 'receipt' | 'bundle' | 'certificate' | 'party_card' | 'relay_card' | 'statement';
  input: string;
  /** Hex for binary inputs, text for receipts and cards, or a decimal count of zero bytes. */
  encoding: 'hex' | 'text' | 'zeros';
  code: string;
  why: string;
}

export interface Vectors {
  'identities.json': { _about: string; time: number; parties: Record<string, VectorParty>; relays: Record<string, { card: RelayCardJson; log_seed: string }> };
  'envelopes.json': { _about: string; envelopes: VectorEnvelope[] };
  'messages.json': {
    _about: string;
    tokens: { name: string; station: string; origin: string; digest: string; bytes: string }[];
    requests: { name: string; method: string; path: string; body: string; bytes: string }[];
    copy_acks: { name: string; bytes: string }[];
    delivery_records: { name: string; relay: string; bytes: string }[];
  };
  'log.json': {
    _about: string;
    relay: string;
    openings: { index: number; opening: string; leaf: string }[];
    checkpoint: string;
    receipts: { index: number; digest: string; receipt: string }[];
    statement: { consent: { precedence: boolean; digest: boolean }; since: number; until: number; bytes: string; count: number };
  };
  'negative.json': { _about: string; cases: NegativeCase[] };
  'desk-envelopes.json': {
    _about: string;
    /** us's bundle 2: desks desk-2 and desk-3 added, each with its own key-agreement key (`kx`). */
    bundle: string;
    desks: { id: string; station_seed: string; kx_suite: SuiteName; kx_priv: string }[];
    envelopes: (VectorEnvelope & { station: string })[];
  };
}

const hex = toHex;

function seedKey(random: Random): { key: Ed25519Key; seed: Uint8Array } {
  const seed = random(32);
  return { key: Ed25519Key.fromSeed(seed), seed };
}

async function party(id: string, name: string, suites: SuiteName[], random: Random, signers: Parameters<typeof createParty>[0]['signers']): Promise<NewParty> {
  return createParty({ id, name, now: T0, suites, random, ...(signers === undefined ? {} : { signers }) });
}

function vectorParty(p: NewParty): VectorParty {
  return {
    card: partyCardJson(p.bundle),
    root_seed: hex(p.root.exportSeed()),
    station_seed: hex(p.station.key.exportSeed()),
    signers: p.signers.map((s) => ({ id: s.entry.id, seed: hex(s.key.exportSeed()), certificate: hex(s.certificate) })),
    encryption: p.encryption.map((e) => ({ suite: e.suite, pub: hex(e.pub), priv: hex(e.priv) })),
  };
}

function flip(b: Uint8Array, i: number): Uint8Array {
  const m = Uint8Array.from(b);
  m[i] = m[i]! ^ 0x01;
  return m;
}

export async function generateVectors(): Promise<Vectors> {
  const random = deterministicRandomForTests('backchannel/v1/vectors');
  const both: SuiteName[] = ['x25519', 'xwing'];
  const us = await party('us', 'United States', both, random, [
    { id: 'state.secretary', name: 'Jane Roe', title: 'Secretary of State', level: 'official' },
    { id: 'state.department', name: 'Department of State', title: 'Institutional', level: 'institutional' },
  ]);
  const ir = await party('ir', 'Islamic Republic of Iran', both, random, [{ id: 'mfa', name: 'Ministry of Foreign Affairs', title: 'Institutional', level: 'institutional' }]);
  const log = seedKey(random);
  const chCard = makeRelayCard({ id: 'ch', name: 'Swiss protecting power', url: 'https://relay.ch.example', origin: 'relay.ch.example/ch/5e1f00aa', logKey: log.key });
  const origin = chCard.origin;

  // Envelopes: every kind, both suites.
  const thread = random(16);
  const contents: [string, Content][] = [
    ['note', { kind: 'note', subject: 'Do not escalate', body: 'The United States urges restraint.\nWe are prepared to talk.', category: 'security', thread }],
    ['note-reply', { kind: 'note', subject: 'Re: Do not escalate', body: 'Retaliation has concluded.', category: 'political', thread, inReplyTo: { from: 'us', id: thread }, references: [{ from: 'us', id: thread }] }],
    ['note-attachment', { kind: 'note', subject: 'Consular list', body: 'Attached.', category: 'consular', thread, attachments: [{ name: 'list.txt', type: 'text/plain', data: utf8('1. A. Person\n') }] }],
    ['ack', { kind: 'ack', acks: [{ from: 'us', id: thread, digest: random(32), arrivals: [{ relay: 'ch', at: T0 + 1000 }, { relay: 'om', at: T0 + 1200 }] }] }],
    ['read', { kind: 'read', reads: [{ from: 'us', id: thread, at: T0 + 5000 }] }],
    ['heartbeat', { kind: 'heartbeat', seq: 42 }],
    ['bundle', { kind: 'bundle', bundle: us.bundle.bytes }],
  ];
  const envelopes: VectorEnvelope[] = [];
  const sealedBytes: Record<string, Uint8Array> = {};
  for (const suite of both) {
    for (const [name, content] of contents) {
      const fromUs = name !== 'note-reply' && name !== 'ack' && name !== 'read';
      const [sender, recipient] = fromUs ? [us, ir] : [ir, us];
      const signer = name === 'note' ? sender.signers[0]! : sender.signers[sender.signers.length - 1]!;
      const created = T0 + 60_000 * envelopes.length;
      const sealed = await sealEnvelope({
        from: sender.bundle.bundle.party,
        to: recipient.bundle.bundle.party,
        precedence: name === 'note' ? 'FLASH' : name === 'heartbeat' ? 'ROUTINE' : 'IMMEDIATE',
        created,
        content,
        senderBundle: sender.bundle,
        recipientBundle: recipient.bundle,
        suite,
        station: sender.station.key,
        signer: { key: signer.key, certificate: signer.certificate },
        random,
      });
      const vname = `${name}-${suite}`;
      sealedBytes[vname] = sealed.bytes;
      envelopes.push({
        name: vname,
        suite,
        kind: content.kind,
        from: sealed.header.from,
        to: sealed.header.to,
        signer: signer.entry.id,
        created,
        bytes: hex(sealed.bytes),
        digest: hex(sealed.digest),
        content_cbor: hex(encodeContent(content)),
      });
    }
  }

  // Messages.
  const noteEnv = envelopes[0]!;
  const noteBytes = sealedBytes[noteEnv.name]!;
  const noteDigest = sha256(noteBytes);
  const token = signSubmissionToken(us.station.key, { origin, party: 'us', digest: noteDigest, time: T0 + 10, random });
  const reqBody = utf8('{"after":0,"limit":100}');
  const request = signRequest(ir.station.key, { party: 'ir', method: 'POST', path: '/v1/fetch', body: reqBody, time: T0 + 20, random });
  const id = parseEnvelope(noteBytes).header.id;
  const copyAck = signCopyAck(ir.station.key, { origin, party: 'ir', from: 'us', id, digest: noteDigest, time: T0 + 30 });
  const record = signDeliveryRecord(log.key, { origin, from: 'us', to: 'ir', id, digest: noteDigest, index: 0, submitted: T0 + 10, delivered: T0 + 31, desk: ir.station.key.publicKey });

  // Log: a few submissions, receipts, a statement.
  const mlog = new MemoryLog(origin, log.key);
  const openings: LeafOpening[] = [];
  const tokens: Uint8Array[] = [];
  for (let i = 0; i < 5; i++) {
    const sender = i % 2 === 0 ? us : ir;
    const digest = i === 0 ? noteDigest : random(32);
    const tok = i === 0 ? token : signSubmissionToken(sender.station.key, { origin, party: sender.bundle.bundle.party, digest, time: T0 + 10 + i, random });
    tokens.push(tok);
    openings.push({ salt: random(32), type: 'submit', from: sender.bundle.bundle.party, to: sender === us ? 'ir' : 'us', prec: i % 4, time: T0 + 11 + i, digest, ref: sha256(tok) });
  }
  mlog.append(...openings.map(commitLeaf));
  const checkpoint = mlog.checkpoint();
  const receipts = openings.map((o, i) => ({ index: i, digest: hex(o.digest), receipt: formatReceipt({ opening: o, index: i, proof: mlog.inclusionProof(i), checkpoint }) }));
  const consent = { precedence: true, digest: false };
  const since = T0;
  const until = T0 + 3_600_000;
  const statement = signStatement(
    log.key,
    { origin, parties: ['us', 'ir'], since, until, issued: T0 + 100, checkpoint, records: openings.map((o, i) => ({ index: i, opening: o, token: tokens[i]!, proof: mlog.inclusionProof(i) })) },
    consent,
  );

  // Named negative cases: each a small, specific corruption of a valid object.
  const env = noteBytes;
  const negative: NegativeCase[] = [
    { name: 'envelope-flipped-ciphertext', type: 'envelope', input: hex(flip(env, env.length - 100)), encoding: 'hex', code: 'signature_invalid', why: 'a changed byte breaks the station signature before anything is decrypted' },
    { name: 'envelope-truncated', type: 'envelope', input: hex(env.subarray(0, env.length - 1)), encoding: 'hex', code: 'envelope_invalid', why: 'not well-formed CBOR' },
    { name: 'envelope-trailing-byte', type: 'envelope', input: hex(new Uint8Array([...env, 0])), encoding: 'hex', code: 'envelope_invalid', why: 'trailing bytes after the envelope' },
    { name: 'envelope-not-cbor-map', type: 'envelope', input: hex(encodeCbor([1, 2, 3])), encoding: 'hex', code: 'envelope_invalid', why: 'an array is not an envelope' },
    { name: 'envelope-too-large', type: 'envelope', input: '4194305', encoding: 'zeros', code: 'too_large', why: 'above the largest size bucket (input: that many zero bytes)' },
    { name: 'token-flipped-signature', type: 'token', input: hex(flip(token, token.length - 1)), encoding: 'hex', code: 'signature_invalid', why: 'the station signature does not verify' },
    { name: 'token-as-request', type: 'request', input: hex(token), encoding: 'hex', code: 'signature_invalid', why: 'a token signature cannot pass for a request (labels)' },
    { name: 'request-flipped-body', type: 'request', input: hex(flip(request, 10)), encoding: 'hex', code: 'signature_invalid', why: 'a changed body byte breaks the signature' },
    { name: 'delivery-record-wrong-label', type: 'delivery_record', input: hex(copyAck), encoding: 'hex', code: 'signature_invalid', why: 'a desk acknowledgement cannot pass for a delivery record' },
    { name: 'copy-ack-non-canonical', type: 'copy_ack', input: hex(Uint8Array.from(copyAck).fill(0xbf, 0, 1)), encoding: 'hex', code: 'cbor_malformed', why: 'an indefinite-length map is not deterministic CBOR' },
    { name: 'receipt-other-digest', type: 'receipt', input: receipts[1]!.receipt, encoding: 'text', code: 'commitment_mismatch', why: 'checked against the digest of envelope 0, but it records envelope 1' },
    { name: 'receipt-flipped-root', type: 'receipt', input: receipts[0]!.receipt.replace(/\n([A-Za-z0-9+/]{43}=)\n\n—/, (_m, r: string) => `\n${r.startsWith('A') ? 'B' : 'A'}${r.slice(1)}\n\n—`), encoding: 'text', code: 'signature_invalid', why: 'a changed checkpoint root breaks the log signature' },
    { name: 'bundle-flipped-byte', type: 'bundle', input: hex(flip(us.bundle.bytes, 40)), encoding: 'hex', code: 'signature_invalid', why: 'the root signature covers every byte' },
    { name: 'certificate-as-bundle', type: 'bundle', input: hex(us.signers[0]!.certificate), encoding: 'hex', code: 'signature_invalid', why: 'a signer certificate cannot pass for a bundle (labels)' },
    { name: 'certificate-flipped-byte', type: 'certificate', input: hex(flip(us.signers[0]!.certificate, 20)), encoding: 'hex', code: 'signature_invalid', why: 'the root signature covers every byte' },
    { name: 'party-card-other-name', type: 'party_card', input: JSON.stringify({ ...partyCardJson(us.bundle), name: 'Someone Else' }), encoding: 'text', code: 'card_invalid', why: 'the plain name disagrees with the signed bundle' },
    { name: 'party-card-wrong-fingerprint', type: 'party_card', input: JSON.stringify({ ...partyCardJson(us.bundle), fingerprint: partyCardJson(ir.bundle).fingerprint }), encoding: 'text', code: 'card_invalid', why: 'the fingerprint is not that of the root' },
    { name: 'relay-card-other-url', type: 'relay_card', input: JSON.stringify({ ...chCard, url: 'https://evil.example' }), encoding: 'text', code: 'card_invalid', why: 'the url is covered by the log key signature' },
    { name: 'statement-flipped-byte', type: 'statement', input: hex(flip(statement, 200)), encoding: 'hex', code: 'signature_invalid', why: 'the log key signature covers every byte' },
  ];

  // Desk envelopes (docs/protocol.md §4.8), drawn after everything above so those stay as they were.
  const deskVectors: Vectors['desk-envelopes.json']['desks'] = [];
  const deskEntries: StationEntry[] = [];
  for (const [id, suite] of [['desk-2', 'x25519'], ['desk-3', 'xwing']] as const) {
    const st = seedKey(random);
    const kx = await newEncryptionKey(suite, T0, random);
    deskEntries.push({ id, pub: st.key.publicKey, notBefore: T0, kx: { suite, pub: kx.pub } });
    deskVectors.push({ id, station_seed: hex(st.seed), kx_suite: suite, kx_priv: hex(kx.priv) });
  }
  const usBundle2 = signBundle(us.root, { ...us.bundle.bundle, seq: 2, issued: T0 + 1000, prev: us.bundle.hash, stations: [...us.bundle.bundle.stations, ...deskEntries] });
  const deskEnvelopes: Vectors['desk-envelopes.json']['envelopes'] = [];
  for (const entry of deskEntries) {
    const kx = entry.kx!;
    const signer = us.signers[1]!;
    const content: Content = {
      kind: 'keys',
      station: entry.id,
      desk: entry.pub,
      bundle: { seq: 2, hash: usBundle2.hash },
      enc: us.encryption.map((e) => ({ suite: e.suite, priv: e.priv })),
      signers: us.signers.map((x) => ({ id: x.entry.id, seed: x.key.exportSeed(), cert: x.certificate })),
    };
    const created = T0 + 2000 + 60_000 * deskEnvelopes.length;
    const sealed = await sealEnvelope({ from: 'us', to: 'us', precedence: 'FLASH', created, content, senderBundle: usBundle2, recipientBundle: usBundle2, suite: kx.suite, station: us.station.key, signer: { key: signer.key, certificate: signer.certificate }, desk: kx, random });
    deskEnvelopes.push({ name: `keys-${entry.id}-${kx.suite}`, station: entry.id, suite: kx.suite, kind: 'keys', from: 'us', to: 'us', signer: signer.entry.id, created, bytes: hex(sealed.bytes), digest: hex(sealed.digest), content_cbor: hex(encodeContent(content)) });
  }

  return {
    'desk-envelopes.json': {
      _about: "Backchannel v1 desk envelopes (docs/protocol.md §4.8): key shares from us's desk-1 to desk-2 (x25519) and desk-3 (xwing) under us's bundle 2. Open with the addressed desk's kx_priv and `bundle` as the sender bundle, judged at `created`; the other desk cannot open them.",
      bundle: hex(usBundle2.bytes),
      desks: deskVectors,
      envelopes: deskEnvelopes,
    },
    'identities.json': {
      _about: 'Backchannel v1 identity vectors (docs/protocol.md §3). Deterministic: seeds are from deterministicRandomForTests("backchannel/v1/vectors"). Times are ms since the epoch.',
      time: T0,
      parties: { us: vectorParty(us), ir: vectorParty(ir) },
      relays: { ch: { card: chCard, log_seed: hex(log.seed) } },
    },
    'envelopes.json': {
      _about: 'Backchannel v1 envelopes (docs/protocol.md §4), every content kind in both suites. Open with the recipient party\'s encryption private key from identities.json, the sender\'s bundle from its card, judged at `created`.',
      envelopes,
    },
    'messages.json': {
      _about: 'Submission token, signed request, copy acknowledgement and delivery record (docs/protocol.md §5).',
      tokens: [{ name: 'token-note', station: 'us', origin, digest: hex(noteDigest), bytes: hex(token) }],
      requests: [{ name: 'fetch', method: 'POST', path: '/v1/fetch', body: toBase64(reqBody), bytes: hex(request) }],
      copy_acks: [{ name: 'ack-note', bytes: hex(copyAck) }],
      delivery_records: [{ name: 'delivery-note', relay: 'ch', bytes: hex(record) }],
    },
    'log.json': {
      _about: 'Leaf commitments, a checkpoint, receipts (C2SP tlog-proof with the opening in `extra`) and a statement (docs/protocol.md §6, §7), by relay ch.',
      relay: 'ch',
      openings: openings.map((o, i) => ({ index: i, opening: hex(encodeOpening(o)), leaf: hex(commitLeaf(o)) })),
      checkpoint,
      receipts,
      statement: { consent, since, until, bytes: hex(statement), count: openings.length },
    },
    'negative.json': { _about: 'Named negative cases: each input must be refused with exactly `code`.', cases: negative },
  };
}
