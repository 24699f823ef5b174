/**
 * The key bundle: a party's root-signed list of its current keys (DESIGN.md, "Identities,
 * rotation, revocation"). Sequence numbers only increase; each bundle names the hash of the
 * one before it. A receiver that pinned the root accepts a newer bundle signed by that root
 * automatically, and refuses (as an alert) anything signed by another root.
 *
 * Times are milliseconds since the Unix epoch (UTC), as integers.
 */
import type { CborMap, CborValue } from '../cbor.js';
import { BackchannelError } from '../errors.js';
import { equalBytes, toHex } from '../bytes.js';
import { assertPublicKey, type Ed25519Key } from '../ed25519.js';
import { sha256 } from '../hash.js';
import { LABELS } from '../labels.js';
import { MapReader, readItem } from '../schema.js';
import { openSigned, signStructure } from '../signed.js';
import { DISPLAY_RE, KEY_ID_RE, PARTY_ID_RE } from './ids.js';

import { SUITE_X25519, SUITE_XWING, type SuiteName } from '../hpke/suite.js';

export type { SuiteName };
export const SUITE_NAMES: readonly SuiteName[] = ['x25519', 'xwing'];
export const ATTRIBUTION_LEVELS = ['institutional', 'official'] as const;
/** institutional: the office speaks, no person named; official: a named official speaks. */
export type AttributionLevel = (typeof ATTRIBUTION_LEVELS)[number];

export interface EncryptionKeyEntry {
  suite: SuiteName;
  pub: Uint8Array;
  notBefore: number;
  notAfter: number;
}

export interface SignerEntry {
  id: string;
  pub: Uint8Array;
  name: string;
  title: string;
  level: AttributionLevel;
  notBefore: number;
  notAfter: number;
}

export interface StationEntry {
  id: string;
  pub: Uint8Array;
  notBefore: number;
  /**
   * The desk's own key-agreement key (HPKE, one of the party's suites), certified here by the
   * root: the party's other desks seal key shares to it (protocol.md §4.8). Absent for desks
   * enrolled before key delivery existed; those get new keys by hand.
   */
  kx?: DeskKeyEntry;
}

export interface DeskKeyEntry {
  suite: SuiteName;
  pub: Uint8Array;
}

export interface Revocation {
  pub: Uint8Array;
  /** Signatures judged at or after this time are not accepted; earlier ones still hold. */
  compromisedSince: number;
  reason: string;
}

export interface KeyBundle {
  party: string;
  name: string;
  seq: number;
  issued: number;
  root: Uint8Array;
  prev: Uint8Array | undefined;
  /** Suites this party accepts, most preferred first. */
  suites: SuiteName[];
  enc: EncryptionKeyEntry[];
  signers: SignerEntry[];
  stations: StationEntry[];
  revoked: Revocation[];
}

export interface SignedBundle {
  readonly bundle: KeyBundle;
  /** The signed wrapper's exact bytes, as carried in cards and sent to relays. */
  readonly bytes: Uint8Array;
  /** SHA-256 of the body bytes: what envelopes name as the sender's bundle. */
  readonly hash: Uint8Array;
}

const MAX_ENTRIES = 256;
const MAX_BUNDLE_BYTES = 512 * 1024;

function bundleToCbor(b: KeyBundle): CborMap {
  const m: CborMap = {
    v: 1,
    party: b.party,
    name: b.name,
    seq: b.seq,
    issued: b.issued,
    root: b.root,
    suites: [...b.suites],
    enc: b.enc.map((e) => ({ suite: e.suite, pub: e.pub, nb: e.notBefore, na: e.notAfter })),
    signers: b.signers.map((s) => ({ id: s.id, pub: s.pub, name: s.name, title: s.title, level: s.level, nb: s.notBefore, na: s.notAfter })),
    stations: b.stations.map((s): CborMap => (s.kx === undefined ? { id: s.id, pub: s.pub, nb: s.notBefore } : { id: s.id, pub: s.pub, nb: s.notBefore, kx: { suite: s.kx.suite, pub: s.kx.pub } })),
    revoked: b.revoked.map((r) => ({ pub: r.pub, since: r.compromisedSince, reason: r.reason })),
  };
  if (b.prev !== undefined) m.prev = b.prev;
  return m;
}

function readBundle(v: CborValue): KeyBundle {
  const r = new MapReader(v, 'bundle');
  const ver = r.uint('v');
  const b: KeyBundle = {
    party: r.text('party', { pattern: PARTY_ID_RE }),
    name: r.text('name', { pattern: DISPLAY_RE }),
    seq: r.uint('seq', { min: 1 }),
    issued: r.uint('issued'),
    root: r.bytes('root', { len: 32 }),
    prev: r.optBytes('prev', { len: 32 }),
    suites: r.array('suites', (x, path, p) => {
      if (typeof x !== 'string' || !(SUITE_NAMES as readonly string[]).includes(x)) p.problems.push(`${path} must be one of ${SUITE_NAMES.join(', ')}`);
      return x as SuiteName;
    }, { max: 8 }),
    enc: r.array('enc', (x, path, p) =>
      readItem(x, path, p, (e) => ({
        suite: e.text('suite', { oneOf: SUITE_NAMES }) as SuiteName,
        pub: e.bytes('pub', { min: 32, max: 2048 }),
        notBefore: e.uint('nb'),
        notAfter: e.uint('na'),
      })), { max: MAX_ENTRIES }),
    signers: r.array('signers', (x, path, p) =>
      readItem(x, path, p, (e) => ({
        id: e.text('id', { pattern: KEY_ID_RE }),
        pub: e.bytes('pub', { len: 32 }),
        name: e.text('name', { pattern: DISPLAY_RE }),
        title: e.text('title', { pattern: DISPLAY_RE }),
        level: e.text('level', { oneOf: ATTRIBUTION_LEVELS }) as AttributionLevel,
        notBefore: e.uint('nb'),
        notAfter: e.uint('na'),
      })), { max: MAX_ENTRIES }),
    stations: r.array('stations', (x, path, p) =>
      readItem(x, path, p, (e) => {
        const st: StationEntry = { id: e.text('id', { pattern: KEY_ID_RE }), pub: e.bytes('pub', { len: 32 }), notBefore: e.uint('nb') };
        const kx = e.map('kx', (k) => ({ suite: k.text('suite', { oneOf: SUITE_NAMES }) as SuiteName, pub: k.bytes('pub', { min: 32, max: 2048 }) }), { optional: true });
        if (kx !== undefined) st.kx = kx;
        return st;
      }), { max: MAX_ENTRIES }),
    revoked: r.array('revoked', (x, path, p) =>
      readItem(x, path, p, (e) => ({ pub: e.bytes('pub', { min: 32, max: 2048 }), compromisedSince: e.uint('since'), reason: e.text('reason', { max: 500 }) })), { max: 4 * MAX_ENTRIES }),
  };
  if (ver !== 1) r.problems.push('bundle.v must be 1');
  r.done('bundle_invalid');
  const problems = checkBundleInvariants(b);
  if (problems.length > 0) throw new BackchannelError('bundle_invalid', `invalid bundle: ${problems.join('; ')}`, { details: { problems } });
  return b;
}

function checkBundleInvariants(b: KeyBundle): string[] {
  const problems: string[] = [];
  if (b.suites.length === 0) problems.push('bundle.suites is empty');
  if (new Set(b.suites).size !== b.suites.length) problems.push('bundle.suites has duplicates');
  for (const s of b.suites) if (!b.enc.some((e) => e.suite === s)) problems.push(`no encryption key for accepted suite ${s}`);
  const ids = new Set<string>();
  for (const s of [...b.signers, ...b.stations]) {
    if (ids.has(s.id)) problems.push(`duplicate key id ${s.id}`);
    ids.add(s.id);
  }
  for (const s of b.signers) if (s.notAfter <= s.notBefore) problems.push(`signer ${s.id} has an empty validity window`);
  for (const e of b.enc) {
    if (e.notAfter <= e.notBefore) problems.push('an encryption key has an empty validity window');
    const size = e.suite === 'xwing' ? SUITE_XWING.publicKeySize : SUITE_X25519.publicKeySize;
    if (e.pub.length !== size) problems.push(`a ${e.suite} encryption key must be ${size} bytes`);
  }
  for (const s of b.stations) {
    if (s.kx === undefined) continue;
    if (!b.suites.includes(s.kx.suite)) problems.push(`station ${s.id}'s desk key is of suite ${s.kx.suite}, which the party does not accept`);
    const size = s.kx.suite === 'xwing' ? SUITE_XWING.publicKeySize : SUITE_X25519.publicKeySize;
    if (s.kx.pub.length !== size) problems.push(`station ${s.id}'s ${s.kx.suite} desk key must be ${size} bytes`);
    if (b.enc.some((e) => equalBytes(e.pub, s.kx!.pub)) || b.stations.some((o) => o !== s && o.kx !== undefined && equalBytes(o.kx.pub, s.kx!.pub))) problems.push(`station ${s.id}'s desk key is not its own`);
  }
  for (const k of [...b.signers, ...b.stations]) {
    try {
      assertPublicKey(k.pub);
    } catch {
      problems.push(`key ${k.id} is not a valid Ed25519 public key`);
    }
    if (equalBytes(k.pub, b.root)) problems.push(`key ${k.id} reuses the root key`);
  }
  return problems;
}

export function signBundle(root: Ed25519Key, bundle: KeyBundle): SignedBundle {
  if (!equalBytes(root.publicKey, bundle.root)) throw new BackchannelError('bundle_invalid', 'bundle.root is not the signing root key');
  const problems = checkBundleInvariants(bundle);
  if (problems.length > 0) throw new BackchannelError('bundle_invalid', `invalid bundle: ${problems.join('; ')}`, { details: { problems } });
  const bytes = signStructure(root, LABELS.bundle, bundleToCbor(bundle));
  return openBundle(bytes);
}

/**
 * Verifies a bundle's self-signature (the root inside it signed it) and parses it. Whether that
 * root is the one pinned for the party is `acceptBundle`'s question.
 */
export function openBundle(bytes: Uint8Array): SignedBundle {
  const o = openSigned(bytes, LABELS.bundle, 'bundle_invalid', MAX_BUNDLE_BYTES);
  const bundle = readBundle(o.body);
  if (!equalBytes(o.key, bundle.root)) throw new BackchannelError('bundle_invalid', 'bundle is not signed by the root it names');
  return { bundle, bytes, hash: sha256(o.bodyBytes) };
}

/**
 * Decides whether `candidate` may replace `pinned` (DESIGN.md): the same party and root, and a
 * higher sequence. A different root is `root_mismatch` — an alert for the user to resolve,
 * never accepted silently. Returns false when the candidate is the bundle already held.
 */
export function acceptBundle(pinned: SignedBundle, candidate: SignedBundle): boolean {
  const p = pinned.bundle;
  const c = candidate.bundle;
  if (c.party !== p.party) throw new BackchannelError('bundle_invalid', `bundle is for party ${c.party}, not ${p.party}`);
  if (!equalBytes(c.root, p.root)) {
    throw new BackchannelError('root_mismatch', `party ${p.party} presented a bundle under a different root key`, {
      details: { pinned: toHex(p.root), presented: toHex(c.root) },
    });
  }
  if (c.seq === p.seq) {
    if (equalBytes(candidate.hash, pinned.hash)) return false;
    throw new BackchannelError('bundle_stale', `two different bundles with sequence ${c.seq} for party ${p.party}`);
  }
  if (c.seq < p.seq) throw new BackchannelError('bundle_stale', `bundle sequence ${c.seq} is older than the held ${p.seq}`);
  return true;
}

/** The revocation of `pub`, if any. */
export function findRevocation(b: KeyBundle, pub: Uint8Array): Revocation | undefined {
  return b.revoked.find((r) => equalBytes(r.pub, pub));
}

/** Throws `key_revoked` if `pub` was compromised at or before `judgedAt`. */
export function assertNotRevoked(b: KeyBundle, pub: Uint8Array, judgedAt: number, what: string): void {
  const r = findRevocation(b, pub);
  if (r !== undefined && judgedAt >= r.compromisedSince) {
    throw new BackchannelError('key_revoked', `${what} was revoked (compromised since ${new Date(r.compromisedSince).toISOString()}): ${r.reason}`);
  }
}

/** The station entry for `pub`, checked against revocation at `judgedAt`. */
export function findStation(b: KeyBundle, pub: Uint8Array, judgedAt: number): StationEntry {
  const s = b.stations.find((x) => equalBytes(x.pub, pub));
  if (s === undefined) throw new BackchannelError('key_unknown', `station key is not in party ${b.party}'s bundle ${b.seq}`);
  assertNotRevoked(b, pub, judgedAt, `station ${s.id}`);
  return s;
}

/** The encryption key of `suite` that is valid at `at`, preferring the newest. */
export function currentEncryptionKey(b: KeyBundle, suite: SuiteName, at: number): EncryptionKeyEntry {
  const candidates = b.enc
    .filter((e) => e.suite === suite && e.notBefore <= at && at < e.notAfter && findRevocation(b, e.pub) === undefined)
    .sort((x, y) => y.notBefore - x.notBefore);
  const k = candidates[0];
  if (k === undefined) throw new BackchannelError('key_unknown', `party ${b.party} has no valid ${suite} encryption key at ${new Date(at).toISOString()}`);
  return k;
}

/** The strongest suite both parties accept: the sender's preference order, first one the recipient also accepts. */
export function negotiateSuite(sender: KeyBundle, recipient: KeyBundle): SuiteName {
  // Post-quantum first when both accept it, whatever the order: a pair's suite is chosen once.
  if (sender.suites.includes('xwing') && recipient.suites.includes('xwing')) return 'xwing';
  const s = sender.suites.find((x) => recipient.suites.includes(x));
  if (s === undefined) throw new BackchannelError('suite_unsupported', `parties ${sender.party} and ${recipient.party} share no suite`);
  return s;
}
