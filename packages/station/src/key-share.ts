/**
 * Key delivery to the party's other desks (docs/protocol.md §4.8). After a root operation
 * (`rotate`, `signer add/revoke`) the desk that holds the root seals the party's private keys
 * under the new bundle to every other desk the bundle lists, each in a **desk envelope**: an
 * envelope from the party to itself, FLASH, with a `keys` content, both key slots sealed to the
 * addressed desk's own key-agreement key that the root certified in its station entry (`kx`).
 * It goes through every relay like any envelope (receipt, log, per-desk cursors, push).
 *
 * So a desk that is not in the bundle, or was removed from it, gets nothing (nothing is sealed
 * to it); a holder of an old party encryption key learns nothing (nothing is sealed to party
 * keys); a relay cannot alter a share unseen (the station signature, then the AEAD). The
 * addressed desk accepts a share only when it is signed by a station of its own party under
 * the bundle it names, that bundle is the newest it holds (fetched from the relay when the
 * envelope names a newer one, and accepted only under the pinned root), the share names this
 * desk, and every key in it is one that bundle lists. Anything else is a `key_share_invalid`
 * alert with the envelope as evidence, and nothing is installed.
 *
 * Installing: `Desk.installKeys` (the CLI writes the home's encrypted key files and bundle)
 * runs first, then the running desk takes the keys at once (no restart, no reload).
 */
import {
  BackchannelError,
  Ed25519Key,
  checkSubmissionToken,
  encryptionKeyId,
  equalBytes,
  findRevocation,
  importPrivateKey,
  openSignerCertificate,
  openSubmissionToken,
  serializePublicKey,
  sha256,
  suiteFromName,
  toHex,
  verifyReceipt,
  verifySignerCertificate,
  type InspectedEnvelope,
  type KeysContent,
  type OpenedEnvelope,
  type SignedBundle,
  type SuiteName,
} from '@backchannel/core';
import type { Channel, Desk } from './desk.js';
import { describeFailure } from './errors.js';
import { b64, copyEvidence } from './evidence.js';
import type { DeskKeys, DeskSigner } from './keys.js';
import { dispatch, sealAndStore } from './send.js';
import type { FetchItem } from './relay-wire.js';
import { firstCopy } from './copy-record.js';
import type { PendingAck, ReceivedEntry } from './receive-copy.js';

/** The party's private keys a root-holding desk hands to its other desks. */
export interface KeyMaterial {
  /** Encryption private keys, raw as the suite serializes them. Only those the bundle lists go. */
  enc: readonly { suite: SuiteName; priv: Uint8Array }[];
  /** Signer seeds with their certificates. Only those the bundle lists, unrevoked, go. */
  signers: readonly { id: string; seed: Uint8Array; certificate: Uint8Array }[];
}

/** What a desk receives and must persist before it uses the keys. */
export interface ReceivedKeys {
  bundle: SignedBundle;
  enc: { suite: SuiteName; pub: Uint8Array; priv: Uint8Array }[];
  signers: { id: string; seed: Uint8Array; certificate: Uint8Array }[];
}

export type InstallKeys = (keys: ReceivedKeys) => Promise<void>;

export interface KeyShareResult {
  station: string;
  /** The desk envelope's id; undefined when nothing was sent (see `skipped`). */
  id: string | undefined;
  receipts: string[];
  failures: { relay: string; code: string; message: string }[];
  pending: string[];
  /** `no_desk_key`: the desk was enrolled before key delivery; `no_channel`: no relay to send through. */
  skipped: 'no_desk_key' | 'no_channel' | undefined;
}

/** Seals the key material to every other desk of the party's newest bundle and sends it through every relay. */
export async function shareKeys(desk: Desk, material: KeyMaterial): Promise<KeyShareResult[]> {
  const own = (await desk.store.getParty(desk.party))?.bundle ?? desk.keys.bundle;
  const b = own.bundle;
  const now = desk.clock.now();
  const enc: KeysContent['enc'] = [];
  for (const e of material.enc) {
    const pub = serializePublicKey((await importPrivateKey(suiteFromName(e.suite), e.priv)).publicKey);
    if (b.enc.some((x) => x.suite === e.suite && equalBytes(x.pub, pub) && x.notAfter > now)) enc.push({ suite: e.suite, priv: e.priv });
  }
  const signers: KeysContent['signers'] = [];
  for (const s of material.signers) {
    const entry = b.signers.find((x) => x.id === s.id);
    if (entry === undefined || findRevocation(b, entry.pub) !== undefined) continue;
    if (!equalBytes(Ed25519Key.fromSeed(s.seed).publicKey, entry.pub)) continue;
    signers.push({ id: s.id, seed: s.seed, cert: s.certificate });
  }
  const via = (await desk.store.listRelays()).map((r) => r.id);
  const out: KeyShareResult[] = [];
  for (const st of b.stations) {
    if (equalBytes(st.pub, desk.keys.station.key.publicKey) || findRevocation(b, st.pub) !== undefined) continue;
    const base = { station: st.id, id: undefined, receipts: [], failures: [], pending: [] };
    if (st.kx === undefined) {
      out.push({ ...base, skipped: 'no_desk_key' });
      continue;
    }
    if (via.length === 0) {
      out.push({ ...base, skipped: 'no_channel' });
      continue;
    }
    const content: KeysContent = { kind: 'keys', station: st.id, desk: st.pub, bundle: { seq: b.seq, hash: own.hash }, enc, signers };
    // FLASH: relays hand FLASH out first, so the share reaches the desk before notes sealed to the new keys.
    const { note, chosen } = await sealAndStore(desk, { to: desk.party, precedence: 'FLASH', content: () => content, replyTo: undefined, signer: undefined, via, failover: 'none', desk: st.kx });
    // Nothing acknowledges a key share end to end: no deadline runs for it.
    await desk.store.updateOutgoing(note.id, { closedAt: desk.clock.now() });
    const s = await dispatch(desk, note, chosen);
    const answers = s.answered;
    out.push({
      ...base,
      id: note.id,
      receipts: answers.filter((a) => a.ok).map((a) => a.relay),
      failures: answers.filter((a) => !a.ok).map((a) => ({ relay: a.relay, code: a.code ?? 'internal', message: a.message ?? '' })),
      pending: s.waiting,
      skipped: undefined,
    });
  }
  return out;
}

type Received = { entry: ReceivedEntry; ack: PendingAck | undefined };

/**
 * A desk envelope of our own party (from = to = us) delivered by `ch`. Not sealed to this desk
 * (a share for a colleague, or our own share coming back): acknowledged and left. Sealed to it:
 * opened with `open` (the receiving checks of protocol.md §4.7, the newest own bundle fetched
 * if named), checked, installed.
 */
export async function receiveKeyShare(
  desk: Desk,
  ch: Channel,
  item: FetchItem,
  env: InspectedEnvelope,
  open: (judgedAt: number) => Promise<OpenedEnvelope>,
): Promise<Received> {
  const relay = ch.entry.id;
  const now = desk.clock.now();
  const from = env.header.from;
  const id = toHex(env.header.id);
  const digest = env.digest;
  const entry = (outcome: ReceivedEntry['outcome'], valid: boolean, code?: string): ReceivedEntry => ({ relay, from, id, kind: 'keys', outcome, valid, code });
  const previous = await desk.store.getCopy(from, id, relay, digest);
  if (previous !== undefined) {
    await desk.store.saveCopy({ ...previous, redeliveries: previous.redeliveries + 1 });
    return { entry: entry('redelivery', previous.valid, previous.errorCode), ack: previous.deliveryRecord === undefined ? { from, id, digest, invalid: undefined } : undefined };
  }
  const ack: PendingAck = { from, id, digest, invalid: undefined };
  if (!env.slots.some((s) => desk.keys.decryption.has(toHex(s.kid)))) return { entry: entry('other_desk', true), ack };

  const copy = firstCopy({ from, id, relay, digest, receivedAt: now }, item, { logIndex: undefined, valid: true, errorCode: undefined });
  let opened: OpenedEnvelope;
  try {
    const token = openSubmissionToken(item.token);
    checkSubmissionToken(token, { origin: ch.card.origin, digest, party: from, station: env.header.station });
    const v = verifyReceipt(item.receipt, ch.card.vkey, { type: 'submit', digest, ref: token.hash });
    copy.logIndex = v.index;
    opened = await open(v.opening.time);
  } catch (e) {
    const f = describeFailure(e);
    // Bytes that fail the station signature, the AEAD or the signer: the relay delivered them
    // (its delivery record will bind it), so it is an invalid copy, kept as evidence.
    await desk.store.saveCopy({ ...copy, valid: false, errorCode: f.code, envelope: item.envelope });
    if (f.code === 'bundle_stale' || f.code === 'relay_unreachable' || f.code === 'relay_timeout') return { entry: entry('unverifiable', false, f.code), ack: undefined };
    return { entry: entry('invalid', false, f.code), ack: { ...ack, invalid: { error: f, validDigest: undefined } } };
  }
  await desk.store.saveCopy(copy);
  const content = opened.content;
  if (content.kind !== 'keys') return { entry: entry('invalid', false, 'envelope_invalid'), ack };
  try {
    const r = await checkShare(desk, content);
    if (r === 'stale') return { entry: entry('duplicate', true), ack };
    if (r.enc.every((e) => desk.keys.decryption.has(toHex(encryptionKeyId(e.pub)))) && r.signers.every((s) => desk.keys.signers.some((x) => x.id === s.id && equalBytes(x.certificate, s.certificate))) && equalBytes(desk.keys.bundle.hash, r.bundle.hash)) {
      return { entry: entry('duplicate', true), ack };
    }
    if (desk.installKeys !== undefined) await desk.installKeys(r);
    desk.keys = await withKeys(desk.keys, r, now);
    return { entry: entry('deliver', true), ack };
  } catch (e) {
    const f = describeFailure(e);
    await desk.raise({
      kind: 'key_share_invalid',
      relay: undefined,
      party: from,
      note: { from, id },
      message: `a key share for this desk, signed by a station of party ${from}, was refused (${f.code}: ${f.message}); no key from it was installed`,
      evidence: { ...copyEvidence({ relay, envelope: item.envelope, token: item.token, receipt: item.receipt, receivedAt: now }), reason: f.message, code: f.code, sender_station: b64(env.header.station) },
      dedupeKey: `key_share_invalid/${from}/${id}/${toHex(sha256(item.envelope))}`,
    });
    return { entry: entry('invalid', false, f.code), ack };
  }
}

/** The share's checks against our own newest bundle; `stale` when a newer bundle already replaced it. */
async function checkShare(desk: Desk, c: KeysContent): Promise<ReceivedKeys | 'stale'> {
  if (c.station !== desk.keys.station.id || !equalBytes(c.desk, desk.keys.station.key.publicKey)) {
    throw new BackchannelError('key_unknown', `the share is addressed to station ${c.station}, not to this desk`);
  }
  const own = (await desk.store.getParty(desk.party))?.bundle ?? desk.keys.bundle;
  const b = own.bundle;
  if (c.bundle.seq < b.seq) return 'stale';
  if (c.bundle.seq !== b.seq || !equalBytes(c.bundle.hash, own.hash)) throw new BackchannelError('bundle_invalid', `the share names bundle ${c.bundle.seq}, which is not the party's bundle this desk holds (${b.seq})`);
  const enc: ReceivedKeys['enc'] = [];
  for (const e of c.enc) {
    const pub = serializePublicKey((await importPrivateKey(suiteFromName(e.suite), e.priv)).publicKey);
    if (!b.enc.some((x) => x.suite === e.suite && equalBytes(x.pub, pub))) throw new BackchannelError('key_unknown', `the share holds a ${e.suite} key that bundle ${b.seq} does not list`);
    enc.push({ suite: e.suite, pub, priv: e.priv });
  }
  const signers: ReceivedKeys['signers'] = [];
  for (const s of c.signers) {
    const entry = b.signers.find((x) => x.id === s.id);
    const pub = Ed25519Key.fromSeed(s.seed).publicKey;
    if (entry === undefined || !equalBytes(entry.pub, pub)) throw new BackchannelError('key_unknown', `the share holds a key for signer ${s.id} that bundle ${b.seq} does not list`);
    const cert = openSignerCertificate(s.cert);
    verifySignerCertificate(cert, desk.party, b.root, desk.clock.now(), b);
    if (!equalBytes(cert.pub, pub) || cert.id !== s.id) throw new BackchannelError('certificate_invalid', `signer ${s.id}'s certificate is not for its key`);
    signers.push({ id: s.id, seed: s.seed, certificate: s.cert });
  }
  return { bundle: own, enc, signers };
}

/** The desk's keys with a checked share's keys added, under its bundle. */
async function withKeys(k: DeskKeys, r: ReceivedKeys, now: number): Promise<DeskKeys> {
  const decryption = new Map(k.decryption);
  for (const e of r.enc) decryption.set(toHex(encryptionKeyId(e.pub)), { suite: e.suite, key: await importPrivateKey(suiteFromName(e.suite), e.priv) });
  const b = r.bundle.bundle;
  const signers: DeskSigner[] = k.signers.filter((s) => {
    const entry = b.signers.find((x) => x.id === s.id);
    return entry !== undefined && equalBytes(entry.pub, s.key.publicKey) && findRevocation(b, entry.pub) === undefined && entry.notAfter > now && !r.signers.some((x) => x.id === s.id);
  });
  for (const s of r.signers) signers.push({ id: s.id, key: Ed25519Key.fromSeed(s.seed), certificate: s.certificate, cert: openSignerCertificate(s.certificate) });
  return { ...k, bundle: r.bundle, decryption, signers: signers.length > 0 ? signers : k.signers };
}
