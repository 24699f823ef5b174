import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ed25519Key, verify } from '../../src/ed25519.js';
import { deterministicRandomForTests } from '../../src/random.js';
import { checkSubmissionToken, openSubmissionToken, signSubmissionToken } from '../../src/messages/submission-token.js';
import { checkRequest, openRequest, signRequest } from '../../src/messages/request.js';
import { openDeliveryRecord, signDeliveryRecord } from '../../src/messages/delivery-record.js';
import { openCopyAck, openVerifiedCopyAck, readCopyAckWrapper, signCopyAck } from '../../src/messages/copy-ack.js';
import { signatureInvalid } from '../../src/signed.js';
import { LABELS } from '../../src/labels.js';
import { checkOpening, commitLeaf, decodeOpening, decodePartialOpening, encodeOpening, encodePartialOpening, leafFromPartial, openFields, type LeafOpening } from '../../src/messages/commitment.js';
import { utf8 } from '../../src/bytes.js';
import { codeOf } from '../../testing/codes.js';

const rnd = deterministicRandomForTests('messages');
const station = Ed25519Key.generate(rnd);
const relay = Ed25519Key.generate(rnd);
const T = Date.UTC(2026, 0, 5);
const digest = rnd(32);

function flipEveryWay(bytes: Uint8Array, open: (b: Uint8Array) => unknown): void {
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const m = Uint8Array.from(bytes);
      m[i] = m[i]! ^ x;
      const c = codeOf(() => open(m));
      expect(c).toBeDefined();
      expect(c).not.toMatch(/^untyped/);
    }),
    { numRuns: 200 },
  );
}

describe('submission token', () => {
  const bytes = signSubmissionToken(station, { origin: 'relay.example/ch/0a1b2c3d', party: 'us', digest, time: T, random: rnd });
  const t = openSubmissionToken(bytes);

  it('binds a copy to one relay, one envelope, one station, one day', () => {
    checkSubmissionToken(t, { origin: 'relay.example/ch/0a1b2c3d', digest, party: 'us', station: station.publicKey, now: T + 3_600_000 });
    expect(codeOf(() => { checkSubmissionToken(t, { origin: 'relay.example/om/0a1b2c3d', digest, party: 'us', station: station.publicKey }); })).toBe('token_invalid');
    expect(codeOf(() => { checkSubmissionToken(t, { origin: t.origin, digest: rnd(32), party: 'us', station: station.publicKey }); })).toBe('token_invalid');
    expect(codeOf(() => { checkSubmissionToken(t, { origin: t.origin, digest, party: 'us', station: relay.publicKey }); })).toBe('token_invalid');
    expect(codeOf(() => { checkSubmissionToken(t, { origin: t.origin, digest, party: 'us', station: station.publicKey, now: T + 25 * 3_600_000 }); })).toBe('token_stale');
  });

  it('rejects any changed byte', () => { flipEveryWay(bytes, openSubmissionToken); });
});

describe('signed request', () => {
  const body = utf8('{"cursor":5}');
  const bytes = signRequest(station, { party: 'ir', method: 'POST', path: '/v1/fetch', body, time: T, random: rnd });

  it('matches its HTTP request and is fresh', () => {
    const q = openRequest(bytes);
    checkRequest(q, { method: 'POST', path: '/v1/fetch', body, now: T + 1000 });
    expect(codeOf(() => { checkRequest(q, { method: 'POST', path: '/v1/ack', body, now: T }); })).toBe('request_invalid');
    expect(codeOf(() => { checkRequest(q, { method: 'POST', path: '/v1/fetch', body: utf8('{}'), now: T }); })).toBe('request_invalid');
    expect(codeOf(() => { checkRequest(q, { method: 'POST', path: '/v1/fetch', body, now: T + 10 * 60_000 }); })).toBe('request_stale');
  });

  it('cannot pass for a submission token', () => {
    expect(codeOf(() => openSubmissionToken(bytes))).toBe('signature_invalid');
  });

  it('rejects any changed byte', () => { flipEveryWay(bytes, openRequest); });
});

describe('delivery record and copy acknowledgement', () => {
  const id = rnd(16);
  const rec = signDeliveryRecord(relay, { origin: 'o', from: 'us', to: 'ir', id, digest, index: 42, submitted: T, delivered: T + 1500, desk: station.publicKey });
  const ack = signCopyAck(station, { origin: 'o', party: 'ir', from: 'us', id, digest, time: T + 1400 });

  it('round-trip and name their signer', () => {
    const d = openDeliveryRecord(rec, relay.publicKey);
    expect(d.delivered - d.submitted).toBe(1500);
    expect(codeOf(() => openDeliveryRecord(rec, station.publicKey))).toBe('key_unknown');
    expect(openCopyAck(ack).station).toEqual(station.publicKey);
  });

  it('reject any changed byte', () => {
    flipEveryWay(rec, (b) => openDeliveryRecord(b, relay.publicKey));
    flipEveryWay(ack, openCopyAck);
  });

  it('open in two steps (wrapper, signature checked elsewhere, body) exactly as openCopyAck does, for every changed byte', () => {
    // The relay checks acknowledgements' signatures in its pool: same result, same error.
    const twoSteps = (b: Uint8Array): unknown => {
      const w = readCopyAckWrapper(b);
      if (!verify(w.key, LABELS.ack, w.bodyBytes, w.sig)) throw signatureInvalid(LABELS.ack);
      return openVerifiedCopyAck(w);
    };
    const outcome = (f: () => unknown): unknown => {
      try {
        return { ok: f() };
      } catch (e) {
        return { code: codeOf(() => { throw e; }), message: e instanceof Error ? e.message : String(e) };
      }
    };
    expect(twoSteps(ack)).toEqual(openCopyAck(ack));
    fc.assert(
      fc.property(fc.nat(ack.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = Uint8Array.from(ack);
        m[i] = m[i]! ^ x;
        expect(outcome(() => twoSteps(m))).toEqual(outcome(() => openCopyAck(m)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('leaf commitments', () => {
  const opening: LeafOpening = { salt: rnd(32), type: 'submit', from: 'us', to: 'ir', prec: 0, time: T + 123_456, digest, ref: rnd(32) };
  const leaf = commitLeaf(opening);

  it('open fully and partially to the same leaf', () => {
    expect(leaf.length).toBe(32);
    expect(commitLeaf(decodeOpening(encodeOpening(opening)))).toEqual(leaf);
    const partial = openFields(opening, ['pair', 'window', 'ref']);
    expect(leafFromPartial(partial)).toEqual(leaf);
    expect(leafFromPartial(decodePartialOpening(encodePartialOpening(partial)))).toEqual(leaf);
    // The digest stays hidden in a partial opening: only its salted hash is present.
    expect('hash' in partial.digest).toBe(true);
  });

  it('are unlinkable across relays: the same envelope gives different leaves', () => {
    expect(commitLeaf({ ...opening, salt: rnd(32) })).not.toEqual(leaf);
  });

  it('change with every field', () => {
    for (const o of [
      { ...opening, type: 'delivery' as const },
      { ...opening, from: 'ir', to: 'us' },
      { ...opening, prec: 3 },
      { ...opening, time: opening.time + 1 },
      { ...opening, digest: rnd(32) },
      { ...opening, ref: rnd(32) },
    ]) {
      expect(commitLeaf(o)).not.toEqual(leaf);
    }
  });

  it('check against what the holder expects', () => {
    checkOpening(opening, { type: 'submit', digest, ref: opening.ref });
    expect(codeOf(() => { checkOpening(opening, { type: 'delivery', digest }); })).toBe('commitment_mismatch');
    expect(codeOf(() => { checkOpening(opening, { type: 'submit', digest: rnd(32) }); })).toBe('commitment_mismatch');
  });
});
