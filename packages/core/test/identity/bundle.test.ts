import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ed25519Key } from '../../src/ed25519.js';
import { isBackchannelError } from '../../src/errors.js';
import { deterministicRandomForTests } from '../../src/random.js';
import { acceptBundle, currentEncryptionKey, findStation, negotiateSuite, openBundle, signBundle, type KeyBundle } from '../../src/identity/bundle.js';
import { certifySigner, openSignerCertificate, verifySignerCertificate } from '../../src/identity/certificate.js';
import { fingerprintsEqual, normalizeFingerprint, partyFingerprint } from '../../src/identity/fingerprint.js';
import { parsePartyCard, partyCardJson } from '../../src/identity/party-card.js';
import { codeOf } from '../../testing/codes.js';

const rnd = deterministicRandomForTests('bundle-test');
const root = Ed25519Key.generate(rnd);
const station = Ed25519Key.generate(rnd);
const signer = Ed25519Key.generate(rnd);
const T0 = Date.UTC(2026, 0, 1);
const YEAR = 365 * 86_400_000;

function bundle(seq: number, over: Partial<KeyBundle> = {}): KeyBundle {
  return {
    party: 'us',
    name: 'United States',
    seq,
    issued: T0,
    root: root.publicKey,
    prev: undefined,
    suites: ['x25519'],
    enc: [{ suite: 'x25519', pub: rnd(32), notBefore: T0, notAfter: T0 + YEAR }],
    signers: [{ id: 'state.secretary', pub: signer.publicKey, name: 'Secretary of State', title: 'Secretary', level: 'official', notBefore: T0, notAfter: T0 + YEAR }],
    stations: [{ id: 'desk-1', pub: station.publicKey, notBefore: T0 }],
    revoked: [],
    ...over,
  };
}

describe('key bundle', () => {
  const b1 = signBundle(root, bundle(1));

  it('round-trips and verifies under the root it names', () => {
    const again = openBundle(b1.bytes);
    expect(again.bundle).toEqual(b1.bundle);
    expect(again.hash).toEqual(b1.hash);
    expect(findStation(again.bundle, station.publicKey, T0).id).toBe('desk-1');
  });

  it('accepts a newer bundle from the pinned root and refuses older, forked or foreign ones', () => {
    const b2 = signBundle(root, bundle(2, { prev: b1.hash }));
    expect(acceptBundle(b1, b2)).toBe(true);
    expect(acceptBundle(b2, b2)).toBe(false);
    expect(codeOf(() => acceptBundle(b2, b1))).toBe('bundle_stale');
    const b2fork = signBundle(root, bundle(2, { name: 'Other name' }));
    expect(codeOf(() => acceptBundle(b2, b2fork))).toBe('bundle_stale');
    const otherRoot = Ed25519Key.generate(rnd);
    const foreign = signBundle(otherRoot, bundle(3, { root: otherRoot.publicKey }));
    expect(codeOf(() => acceptBundle(b2, foreign))).toBe('root_mismatch');
  });

  it('judges revocation by compromised_since', () => {
    const b = bundle(2, { revoked: [{ pub: station.publicKey, compromisedSince: T0 + 1000, reason: 'laptop lost' }] });
    expect(findStation(b, station.publicKey, T0 + 999).id).toBe('desk-1');
    expect(codeOf(() => findStation(b, station.publicKey, T0 + 1000))).toBe('key_revoked');
    expect(codeOf(() => findStation(b, Ed25519Key.generate(rnd).publicKey, T0))).toBe('key_unknown');
  });

  it('reports every bad field at once', () => {
    const bad = bundle(1, { suites: ['xwing'], signers: [{ ...bundle(1).signers[0]!, notAfter: T0 }] });
    try {
      signBundle(root, bad);
      expect.unreachable();
    } catch (e) {
      expect(isBackchannelError(e, 'bundle_invalid')).toBe(true);
      expect((e as { details: { problems: string[] } }).details.problems.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('picks encryption keys by validity and negotiates one suite per pair', () => {
    expect(currentEncryptionKey(b1.bundle, 'x25519', T0 + 5).suite).toBe('x25519');
    expect(codeOf(() => currentEncryptionKey(b1.bundle, 'x25519', T0 + YEAR))).toBe('key_unknown');
    const pq = bundle(1, { suites: ['x25519', 'xwing'], enc: [...bundle(1).enc, { suite: 'xwing', pub: rnd(1216), notBefore: T0, notAfter: T0 + YEAR }] });
    expect(negotiateSuite(pq, pq)).toBe('xwing');
    expect(negotiateSuite(pq, b1.bundle)).toBe('x25519');
  });

  it('rejects any single changed byte', () => {
    fc.assert(
      fc.property(fc.nat(b1.bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = Uint8Array.from(b1.bytes);
        m[i] = m[i]! ^ x;
        const c = codeOf(() => openBundle(m));
        expect(c).toBeDefined();
        expect(c).not.toMatch(/^untyped/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('signer certificates', () => {
  const entry = bundle(1).signers[0]!;
  const cert = certifySigner(root, 'us', entry);

  it('verifies under the pinned root within its window', () => {
    const c = openSignerCertificate(cert);
    expect(c.name).toBe('Secretary of State');
    verifySignerCertificate(c, 'us', root.publicKey, T0 + 1);
    expect(codeOf(() => { verifySignerCertificate(c, 'us', root.publicKey, T0 + YEAR); })).toBe('certificate_expired');
    expect(codeOf(() => { verifySignerCertificate(c, 'ir', root.publicKey, T0 + 1); })).toBe('certificate_invalid');
    expect(codeOf(() => { verifySignerCertificate(c, 'us', station.publicKey, T0 + 1); })).toBe('root_mismatch');
    const revoked = bundle(2, { revoked: [{ pub: signer.publicKey, compromisedSince: T0 + 10, reason: 'stolen' }] });
    expect(codeOf(() => { verifySignerCertificate(c, 'us', root.publicKey, T0 + 10, revoked); })).toBe('key_revoked');
    verifySignerCertificate(c, 'us', root.publicKey, T0 + 9, revoked);
  });

  it('cannot be replayed as another kind of signature', () => {
    // The same body signed under another label must not verify as a certificate.
    const b = signBundle(root, bundle(1));
    expect(codeOf(() => openSignerCertificate(b.bytes))).toBe('signature_invalid');
  });
});

describe('fingerprints and party cards', () => {
  it('are 60 digits in groups of 5, stable under rotation', () => {
    const fp = partyFingerprint('us', root.publicKey);
    expect(fp).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(fingerprintsEqual(fp, fp.replace(/ /g, ''))).toBe(true);
    expect(partyFingerprint('ir', root.publicKey)).not.toBe(fp);
    expect(codeOf(() => normalizeFingerprint('123'))).toBe('fingerprint_mismatch');
  });

  it('round-trip and refuse doctored cards', () => {
    const b = signBundle(root, bundle(1));
    const json = partyCardJson(b);
    expect(json.fingerprint).toBe(partyFingerprint('us', root.publicKey));
    const card = parsePartyCard(JSON.stringify(json));
    expect(card.id).toBe('us');
    expect(codeOf(() => parsePartyCard({ ...json, name: 'Someone else' }))).toBe('card_invalid');
    expect(codeOf(() => parsePartyCard({ ...json, fingerprint: '0'.repeat(60) }))).toBe('card_invalid');
    expect(codeOf(() => parsePartyCard({ ...json, kind: 'relay' }))).toBe('card_invalid');
    expect(codeOf(() => parsePartyCard('{not json'))).toBe('card_invalid');
    expect(codeOf(() => parsePartyCard({ ...json, bundle: 'AAAA' }))).toBe('cbor_malformed');
    expect(codeOf(() => parsePartyCard({ ...json, version: 2 }))).toBe('version_unsupported');
  });
});
