/**
 * The sealed envelope (docs/protocol.md §4).
 *
 *   Envelope = { "h": header bytes, "k": [slot, slot], "c": content ciphertext, "s": station sig }
 *   slot     = { "p": party id, "kid": SHA-256(enc public key)[:8], "e": HPKE enc, "c": sealed content key }
 *   s        = Ed25519(station, "backchannel/v1/envelope" || 0x00 || CBOR{ h, k, c })
 *
 * The content is encrypted once under a fresh 32-byte key (ChaCha20-Poly1305, zero nonce: the
 * key is used once; AAD = header bytes). That key is HPKE-sealed (RFC 9180 base mode) to the
 * recipient party and to the sender's own party (info "backchannel/v1/cek", AAD SHA-256(header)),
 * so every desk of both can read it. The same bytes go to every relay; the envelope is never
 * re-sealed. Its digest, SHA-256 of the bytes, identifies the copy.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { decodeCbor, encodeCbor, type CborMap } from '../cbor.js';
import { cborBytes } from '../cbor-direct.js';
import { BackchannelError, isBackchannelError } from '../errors.js';
import { concatBytes, equalBytes, utf8 } from '../bytes.js';
import { labelled, verifyRaw, type Ed25519Key } from '../ed25519.js';
import { sha256 } from '../hash.js';
import { LABELS } from '../labels.js';
import { systemRandom, type Random } from '../random.js';
import { MapReader, readItem } from '../schema.js';
import { openFrom, sealTo } from '../hpke/seal.js';
import { suiteFromName } from '../hpke/suite.js';
import type { HpkePrivateKey } from '../hpke/keys.js';
import { currentEncryptionKey, findStation, type DeskKeyEntry, type KeyBundle, type SignedBundle, type SuiteName } from '../identity/bundle.js';
import { verifySignerCertificate, type SignerCertificate } from '../identity/certificate.js';
import { decodeContent, encodeContent, type Content } from './content.js';
import { importPrivateKeyOnce } from './private-key-cache.js';
import { openSignerCertificateCached } from './signer-cache.js';
import { decodeHeader, encodeHeader, ENVELOPE_VERSION, type EnvelopeHeader } from './header.js';
import type { Precedence } from './precedence.js';
import { MAX_ENVELOPE_BYTES, SIZE_BUCKETS } from './size-bucket.js';

const CEK_INFO = utf8('backchannel/v1/cek');
const ZERO_NONCE = new Uint8Array(12);
const TAG_BYTES = 16;

export interface Signer {
  key: Ed25519Key;
  /** The root-signed certificate bytes (identity/certificate.ts). */
  certificate: Uint8Array;
}

export interface SealParams {
  from: string;
  to: string;
  precedence: Precedence;
  created: number;
  content: Content;
  senderBundle: SignedBundle;
  recipientBundle: SignedBundle;
  suite: SuiteName;
  station: Ed25519Key;
  signer: Signer;
  /**
   * A desk envelope (from = to, a `keys` content, protocol.md §4.8): the addressed desk's own
   * key-agreement key, certified in the party's bundle. Both slots are sealed to it.
   */
  desk?: DeskKeyEntry;
  /** Fixed only by vector generation; otherwise 16 random bytes. */
  id?: Uint8Array;
  random?: Random;
}

export interface SealedEnvelope {
  bytes: Uint8Array;
  digest: Uint8Array;
  header: EnvelopeHeader;
  headerBytes: Uint8Array;
}

/** What `sealEnvelope` returns: the envelope, and the content's encoding that went inside it. */
export interface SealedNote extends SealedEnvelope {
  /** `encodeContent(p.content)`, already checked to decode: a sender that keeps it need not encode it again. */
  contentBytes: Uint8Array;
}

/** What a relay can know of an envelope without any key: parsed and station-verified, never decrypted. */
export interface InspectedEnvelope extends SealedEnvelope {
  slots: Slot[];
  ciphertext: Uint8Array;
  stationSig: Uint8Array;
}

interface Slot {
  party: string;
  kid: Uint8Array;
  enc: Uint8Array;
  ct: Uint8Array;
}

export function encryptionKeyId(pub: Uint8Array): Uint8Array {
  return sha256(pub).subarray(0, 8);
}

function cborHeadLength(n: number): number {
  return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : n < 4294967296 ? 5 : 9;
}

function slotsToCbor(slots: Slot[]): CborMap[] {
  return slots.map((s) => ({ p: s.party, kid: s.kid, e: s.enc, c: s.ct }));
}

// The last entry of a canonical envelope map: text "s" (0x61 0x73), then bstr(64) (0x58 0x40).
// One-byte keys sort bytewise (RFC 8949 §4.2.1), c, h, k, s: the station signature comes last.
const S_ENTRY_HEAD = Uint8Array.of(0x61, 0x73, 0x58, 0x40);
const S_ENTRY_BYTES = S_ENTRY_HEAD.length + 64;
const MAP3 = Uint8Array.of(0xa3);
const MAP4 = Uint8Array.of(0xa4);

const ARRAY2 = Uint8Array.of(0x82);

/**
 * What the signer signs, CBOR[SHA-256(header), content], in parts to be joined: written
 * directly (the content is ~2 KiB and more, signed by every sender and verified by every
 * recipient); a test holds it to encodeCbor's bytes.
 */
export function contentSignedParts(headerHash: Uint8Array, contentBytes: Uint8Array): Uint8Array[] {
  return [ARRAY2, ...cborBytes(headerHash), ...cborBytes(contentBytes)];
}

/** The signer's signature over a note's header digest and content: proof of who said what, checkable without any key. */
export function verifyContentSignature(signer: Uint8Array, headerHash: Uint8Array, contentBytes: Uint8Array, sig: Uint8Array): boolean {
  return verifyRaw(signer, labelled(LABELS.content, ...contentSignedParts(headerHash, contentBytes)), sig);
}

/**
 * What the station signature signs, CBOR{h, k, c}, in parts to be joined: cut from the
 * envelope's own bytes rather than encoded again (4 KiB and more for every envelope checked).
 * An envelope parseEnvelope accepted is canonical, so {c, h, k, s} minus its last entry is
 * {c, h, k} under a 3-entry map head; anything else is encoded afresh, so the answer never
 * depends on how the value was made.
 */
export function envelopeSignedParts(env: InspectedEnvelope): Uint8Array[] {
  const b = env.bytes;
  const tail = b.length - S_ENTRY_BYTES;
  if (b[0] === MAP4[0] && tail > 1 && S_ENTRY_HEAD.every((x, i) => b[tail + i] === x)) return [MAP3, b.subarray(1, tail)];
  return [encodeCbor({ h: env.headerBytes, k: slotsToCbor(env.slots), c: env.ciphertext })];
}

function aeadSeal(key: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_BYTES });
  c.setAAD(aad, { plaintextLength: pt.length });
  return concatBytes(c.update(pt), c.final(), c.getAuthTag());
}

function aeadOpen(key: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array {
  if (ct.length < TAG_BYTES) throw new BackchannelError('decrypt_failed', 'content ciphertext is too short');
  const d = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_BYTES });
  d.setAAD(aad, { plaintextLength: ct.length - TAG_BYTES });
  d.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
  try {
    return concatBytes(d.update(ct.subarray(0, ct.length - TAG_BYTES)), d.final());
  } catch (cause) {
    throw new BackchannelError('decrypt_failed', 'content does not decrypt', { cause });
  }
}

export async function sealEnvelope(p: SealParams): Promise<SealedNote> {
  const random = p.random ?? systemRandom;
  const sb = p.senderBundle.bundle;
  const rb = p.recipientBundle.bundle;
  if (sb.party !== p.from) throw new BackchannelError('schema_invalid', `sender bundle is for ${sb.party}, not ${p.from}`);
  if (rb.party !== p.to) throw new BackchannelError('schema_invalid', `recipient bundle is for ${rb.party}, not ${p.to}`);
  // A party addresses itself only to hand its keys to one of its desks (protocol.md §4.8).
  const deskEnvelope = p.from === p.to;
  if (deskEnvelope !== (p.content.kind === 'keys')) throw new BackchannelError('schema_invalid', deskEnvelope ? 'a party sends itself nothing but key shares' : 'a key share goes only from a party to itself');
  if (deskEnvelope && (p.desk === undefined || p.desk.suite !== p.suite || !sb.stations.some((s) => s.kx !== undefined && equalBytes(s.kx.pub, p.desk!.pub)))) {
    throw new BackchannelError('key_unknown', 'a key share is sealed to a desk key of the suite that the sender bundle certifies');
  }
  findStation(sb, p.station.publicKey, p.created);
  const cert = openSignerCertificateCached(p.signer.certificate);
  verifySignerCertificate(cert, p.from, sb.root, p.created, sb);
  if (!equalBytes(cert.pub, p.signer.key.publicKey)) throw new BackchannelError('certificate_invalid', 'signer key does not match its certificate');

  const recipientKey = deskEnvelope ? p.desk! : currentEncryptionKey(rb, p.suite, p.created);
  const selfKey = deskEnvelope ? p.desk! : currentEncryptionKey(sb, p.suite, p.created);
  const contentBytes = encodeContent(p.content);
  const id = p.id ?? random(16);
  if (id.length !== 16) throw new BackchannelError('schema_invalid', 'an envelope id is 16 bytes');
  const cek = random(32);

  const header0 = (size: number): EnvelopeHeader => ({
    version: ENVELOPE_VERSION,
    id,
    from: p.from,
    to: p.to,
    precedence: p.precedence,
    created: p.created,
    size,
    suite: p.suite,
    bundleSeq: sb.seq,
    bundleHash: p.senderBundle.hash,
    station: p.station.publicKey,
  });
  // The inner structure's length does not depend on the header (the signature is 64 bytes
  // whatever it signs), so the bucket is chosen before anything is signed or sealed.
  const innerLength = encodeCbor({ content: contentBytes, cert: p.signer.certificate, sig: new Uint8Array(64) }).length;
  const suite = suiteFromName(p.suite);
  const dummySlot = (party: string): Slot => ({ party, kid: new Uint8Array(8), enc: new Uint8Array(suite.encSize), ct: new Uint8Array(32 + suite.tagSize) });
  const dummySlots = [dummySlot(p.to), dummySlot(p.from)];

  for (const bucket of SIZE_BUCKETS) {
    const header = header0(bucket);
    const headerBytes = encodeHeader(header);
    // Size of the envelope with an empty ciphertext, then solve for the ciphertext length n
    // with n + cborHead(n) == bucket − (E0 − 1). Some lengths are unreachable at CBOR head
    // boundaries; the buckets are chosen so that none is.
    const e0 = encodeCbor({ h: headerBytes, k: slotsToCbor(dummySlots), c: new Uint8Array(0), s: new Uint8Array(64) }).length;
    const room = bucket - (e0 - 1);
    let n = -1;
    for (const head of [1, 2, 3, 5]) {
      const cand = room - head;
      if (cand >= 0 && cborHeadLength(cand) === head) n = cand;
    }
    if (n < 4 + innerLength + TAG_BYTES) continue;

    const sig = p.signer.key.sign(LABELS.content, ...contentSignedParts(sha256(headerBytes), contentBytes));
    const inner = encodeCbor({ content: contentBytes, cert: p.signer.certificate, sig });
    const padded = new Uint8Array(n - TAG_BYTES);
    new DataView(padded.buffer).setUint32(0, inner.length);
    padded.set(inner, 4);
    const ciphertext = aeadSeal(cek, headerBytes, padded);
    const aad = sha256(headerBytes);
    const slots: Slot[] = [];
    for (const [party, key] of [[p.to, recipientKey.pub], [p.from, selfKey.pub]] as const) {
      const s = await sealTo(suite, key, CEK_INFO, aad, cek, random);
      slots.push({ party, kid: encryptionKeyId(key), enc: s.enc, ct: s.ct });
    }
    const signedPart = encodeCbor({ h: headerBytes, k: slotsToCbor(slots), c: ciphertext });
    const s = p.station.sign(LABELS.envelope, signedPart);
    // encodeCbor({ h, k, c, s }) without encoding it all again: "s" sorts last (see above).
    const bytes = concatBytes(MAP4, signedPart.subarray(1), S_ENTRY_HEAD, s);
    if (bytes.length !== bucket) throw new BackchannelError('padding_invalid', `internal: envelope is ${bytes.length} bytes, bucket ${bucket}`);
    return { bytes, digest: sha256(bytes), header, headerBytes, contentBytes };
  }
  throw new BackchannelError('too_large', `the note does not fit the largest envelope of ${MAX_ENVELOPE_BYTES} bytes`);
}

/**
 * Parses an envelope's outer structure and header. No key is needed; nothing is verified but
 * the structure. Attacker-controlled bytes enter here.
 */
export function parseEnvelope(bytes: Uint8Array): InspectedEnvelope {
  if (!(bytes instanceof Uint8Array)) throw new BackchannelError('envelope_invalid', 'an envelope is bytes');
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new BackchannelError('too_large', `envelope of ${bytes.length} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  let outer;
  try {
    outer = decodeCbor(bytes, MAX_ENVELOPE_BYTES);
  } catch (cause) {
    if (isBackchannelError(cause) && cause.code !== 'too_large') throw new BackchannelError('envelope_invalid', `envelope is not canonical CBOR: ${cause.message}`, { cause });
    throw cause;
  }
  const r = new MapReader(outer, 'envelope');
  const headerBytes = r.bytes('h', { max: 4096 });
  const slots = r.array(
    'k',
    (x, path, pr) => readItem(x, path, pr, (s) => ({ party: s.text('p'), kid: s.bytes('kid', { len: 8 }), enc: s.bytes('e', { max: 2048 }), ct: s.bytes('c', { max: 128 }) })),
    { max: 2 },
  );
  const ciphertext = r.bytes('c');
  const stationSig = r.bytes('s', { len: 64 });
  r.done('envelope_invalid');
  const header = decodeHeader(headerBytes);
  if (bytes.length !== header.size) throw new BackchannelError('envelope_invalid', `envelope is ${bytes.length} bytes but its header says ${header.size}`);
  if (slots.length !== 2 || slots[0]!.party !== header.to || slots[1]!.party !== header.from) {
    throw new BackchannelError('envelope_invalid', 'envelope must carry a key slot for the recipient, then one for the sender');
  }
  const env = { bytes, digest: sha256(bytes), header, headerBytes, slots, ciphertext, stationSig };
  parsed.add(env);
  return env;
}

// What parseEnvelope returned, so that openEnvelope can take it as it is: any other object of
// the same shape (built by hand, or a copy of one) is parsed again from its bytes.
const parsed = new WeakSet<InspectedEnvelope>();

/**
 * Verifies the sending station's signature, with the station judged against `senderBundle`
 * (the newest bundle of the sender held by the verifier) at `judgedAt`. Relays do this on
 * submission; recipients do it before they decrypt.
 */
export function verifyEnvelopeStation(env: InspectedEnvelope, senderBundle: KeyBundle, judgedAt: number): void {
  judgeEnvelopeStation(env, senderBundle, judgedAt);
  if (!verifyRaw(env.header.station, labelled(LABELS.envelope, ...envelopeSignedParts(env)), env.stationSig)) {
    throw new BackchannelError('signature_invalid', 'the station signature on the envelope does not verify');
  }
}

export interface OpenContext {
  /** The party opening the envelope (recipient, or sender reading its own sent note). */
  self: string;
  /** Our private encryption key for a key id, if we still hold it (raw bytes, or imported once and kept). */
  privateKeyFor(kid: Uint8Array, suite: SuiteName): Uint8Array | HpkePrivateKey | undefined;
  /** The newest bundle we hold for the sender (pinned root checked when it was accepted). */
  senderBundle: SignedBundle;
  /** When to judge certificates and revocations: the earliest verified log inclusion, else now. */
  judgedAt: number;
}

export interface OpenedEnvelope extends InspectedEnvelope {
  content: Content;
  contentBytes: Uint8Array;
  signer: SignerCertificate;
  /** The signer's signature over [SHA-256(header), content]: with the certificate, proof of who said what, checkable without any key. */
  signerSignature: Uint8Array;
}

// The station's judgement against the sender's bundle, without its signature.
function judgeEnvelopeStation(env: InspectedEnvelope, senderBundle: KeyBundle, judgedAt: number): void {
  if (senderBundle.party !== env.header.from) throw new BackchannelError('key_unknown', `bundle is for ${senderBundle.party}, not ${env.header.from}`);
  findStation(senderBundle, env.header.station, judgedAt);
}

// Is the envelope for us, and do we hold what it was sealed under? The first checks of an opening.
function addressedTo(env: InspectedEnvelope, ctx: OpenContext): KeyBundle {
  const h = env.header;
  if (h.to !== ctx.self && h.from !== ctx.self) throw new BackchannelError('not_for_us', `envelope is between ${h.from} and ${h.to}`);
  const sb = ctx.senderBundle.bundle;
  if (h.bundleSeq > sb.seq) throw new BackchannelError('bundle_stale', `envelope names ${h.from}'s bundle ${h.bundleSeq}; we hold ${sb.seq}`);
  return sb;
}

function ourSlot(env: InspectedEnvelope, ctx: OpenContext): { slot: Slot; priv: Uint8Array | HpkePrivateKey } {
  const h = env.header;
  // A desk envelope's slots are both sealed to the addressed desk's own key: the one we can open, if any.
  const slot = h.from === h.to ? (env.slots.find((s) => ctx.privateKeyFor(s.kid, h.suite) !== undefined) ?? env.slots[0]) : env.slots.find((s) => s.party === ctx.self);
  if (slot === undefined) throw new BackchannelError('not_for_us', 'no key slot for us');
  const priv = ctx.privateKeyFor(slot.kid, h.suite);
  if (priv === undefined) throw new BackchannelError('key_unknown', 'we no longer hold the encryption key this envelope was sealed to');
  return { slot, priv };
}

function checkContentKind(h: EnvelopeHeader, content: Content): void {
  if ((h.from === h.to) !== (content.kind === 'keys')) throw new BackchannelError('envelope_invalid', h.from === h.to ? 'an envelope from a party to itself carries only a key share' : 'a key share came between two parties');
}

/**
 * The whole receiving check, in order: structure, station signature, decryption, padding, signer.
 * `input` is the envelope's bytes, or what parseEnvelope made of them.
 *
 * `known`: an earlier opening, by this same desk, of byte-identical input (a second relay's copy
 * of a note). The signatures and the decryption are facts of the bytes, so they are not made
 * again (three quarters of an opening's cost: two Ed25519 verifications and the HPKE opening);
 * every judgement against `ctx` — addressing, the bundle held now, the station and signer at
 * `judgedAt`, revocations, a key still held — is, in the same order, so the answer is the one a
 * full opening would give. Not for a desk envelope, whose slot depends on the keys held: `known`
 * is ignored there, as it is when the bytes differ.
 */
export async function openEnvelope(input: Uint8Array | InspectedEnvelope, ctx: OpenContext, known?: OpenedEnvelope): Promise<OpenedEnvelope> {
  const bytes = input instanceof Uint8Array ? input : input.bytes;
  if (known !== undefined && known.header.from !== known.header.to && sameBytes(known.bytes, bytes)) {
    const sb = addressedTo(known, ctx);
    judgeEnvelopeStation(known, sb, ctx.judgedAt);
    ourSlot(known, ctx);
    verifySignerCertificate(known.signer, known.header.from, sb.root, ctx.judgedAt, sb);
    checkContentKind(known.header, known.content);
    return { ...known };
  }
  // A caller that parsed the envelope already (a received copy is parsed before it is checked) saves a parse.
  const env = !(input instanceof Uint8Array) && parsed.has(input) ? input : parseEnvelope(bytes);
  const h = env.header;
  const sb = addressedTo(env, ctx);
  verifyEnvelopeStation(env, sb, ctx.judgedAt);
  const { slot, priv } = ourSlot(env, ctx);
  const suite = suiteFromName(h.suite);
  const key = priv instanceof Uint8Array ? await importPrivateKeyOnce(suite, priv) : priv;
  const headerHash = sha256(env.headerBytes);
  const cek = await openFrom(suite, key, slot.enc, CEK_INFO, headerHash, slot.ct);
  if (cek.length !== 32) throw new BackchannelError('decrypt_failed', 'content key has the wrong length');
  const padded = aeadOpen(cek, env.headerBytes, env.ciphertext);
  if (padded.length < 4) throw new BackchannelError('padding_invalid', 'plaintext too short');
  const len = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0);
  if (len > padded.length - 4) throw new BackchannelError('padding_invalid', 'padding length out of range');
  for (let i = 4 + len; i < padded.length; i++) if (padded[i] !== 0) throw new BackchannelError('padding_invalid', 'padding is not zero');
  const r = new MapReader(decodeCbor(padded.subarray(4, 4 + len)), 'sealed content');
  const contentBytes = r.bytes('content');
  const certBytes = r.bytes('cert', { max: 4096 });
  const sig = r.bytes('sig', { len: 64 });
  r.done('envelope_invalid');
  const signer = openSignerCertificateCached(certBytes);
  verifySignerCertificate(signer, h.from, sb.root, ctx.judgedAt, sb);
  if (!verifyContentSignature(signer.pub, headerHash, contentBytes, sig)) {
    throw new BackchannelError('signature_invalid', `the signature of ${h.from}'s signer ${signer.id} does not verify`);
  }
  const content = decodeContent(contentBytes);
  checkContentKind(h, content);
  return { ...env, content, contentBytes, signer, signerSignature: sig };
}

// Equality of public bytes, at memcmp speed: nothing secret is compared, so it need not be constant-time.
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
