/**
 * sealTo / openFrom on both suites: round trips and sizes, reproducibility with an injected
 * Random, and every way an open must fail — one 'decrypt_failed', whatever the reason.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BackchannelError, isBackchannelError, type ErrorCode } from '../../src/errors.js';
import { toHex, utf8 } from '../../src/bytes.js';
import { generateKeyPair, importPublicKey, type HpkeKeyPair } from '../../src/hpke/keys.js';
import { openFrom, sealTo } from '../../src/hpke/seal.js';
import { SUITE_X25519, SUITE_XWING, type Suite } from '../../src/hpke/suite.js';
import { deterministicRandomForTests } from '../../src/random-testing.js';

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'untyped' | undefined> {
  try {
    await p;
  } catch (e) {
    return isBackchannelError(e) ? e.code : 'untyped';
  }
  return undefined;
}

const info = utf8('backchannel/v1/content-key');
const aad = utf8('clear header bytes');
const contentKey = new Uint8Array(32).map((_, i) => i * 7);

// X-Wing opens cost milliseconds (pure-JS ML-KEM): fewer property runs there.
const cases: [Suite, number][] = [
  [SUITE_X25519, 200],
  [SUITE_XWING, 25],
];

describe.each(cases)('suite %s', (suite, runs) => {
  let keys: HpkeKeyPair;
  let other: HpkeKeyPair;
  beforeAll(async () => {
    keys = await generateKeyPair(suite, deterministicRandomForTests(`seal-${suite.name}-recipient`));
    other = await generateKeyPair(suite, deterministicRandomForTests(`seal-${suite.name}-other`));
  });

  const open = (enc: Uint8Array, ct: Uint8Array, o: { i?: Uint8Array; a?: Uint8Array; k?: HpkeKeyPair } = {}) =>
    openFrom(suite, (o.k ?? keys).privateKey, enc, o.i ?? info, o.a ?? aad, ct);

  it('round-trips, with the sizes the suite states', async () => {
    expect(keys.publicKey.toBytes().length).toBe(suite.publicKeySize);
    expect(keys.privateKey.exportBytes().length).toBe(suite.privateKeySize);
    for (const pt of [new Uint8Array(0), contentKey, new Uint8Array(5000).fill(1)]) {
      const { enc, ct } = await sealTo(suite, keys.publicKey, info, aad, pt);
      expect(enc.length).toBe(suite.encSize);
      expect(ct.length).toBe(pt.length + suite.tagSize);
      expect(toHex(await open(enc, ct))).toBe(toHex(pt));
    }
  });

  it('accepts the recipient key as raw bytes or as an imported key', async () => {
    const raw = await sealTo(suite, keys.publicKey.toBytes(), info, aad, contentKey);
    expect(toHex(await open(raw.enc, raw.ct))).toBe(toHex(contentKey));
    const imported = await importPublicKey(suite, keys.publicKey.toBytes());
    const viaKey = await sealTo(suite, imported, info, aad, contentKey);
    expect(toHex(await open(viaKey.enc, viaKey.ct))).toBe(toHex(contentKey));
  });

  it('is reproducible with a deterministic Random, and fresh without one', async () => {
    const a = await sealTo(suite, keys.publicKey, info, aad, contentKey, deterministicRandomForTests('eph-1'));
    const b = await sealTo(suite, keys.publicKey, info, aad, contentKey, deterministicRandomForTests('eph-1'));
    const c = await sealTo(suite, keys.publicKey, info, aad, contentKey, deterministicRandomForTests('eph-2'));
    expect(toHex(b.enc)).toBe(toHex(a.enc));
    expect(toHex(b.ct)).toBe(toHex(a.ct));
    expect(toHex(c.enc)).not.toBe(toHex(a.enc));
    const d = await sealTo(suite, keys.publicKey, info, aad, contentKey);
    const e = await sealTo(suite, keys.publicKey, info, aad, contentKey);
    expect(toHex(d.enc)).not.toBe(toHex(e.enc));
    // Key generation from the same Random is reproducible too.
    const k1 = await generateKeyPair(suite, deterministicRandomForTests('kg'));
    const k2 = await generateKeyPair(suite, deterministicRandomForTests('kg'));
    expect(toHex(k2.privateKey.exportBytes())).toBe(toHex(k1.privateKey.exportBytes()));
    expect(toHex(k2.publicKey.toBytes())).toBe(toHex(k1.publicKey.toBytes()));
  });

  it("fails with 'decrypt_failed' for the wrong key, aad or info", async () => {
    const { enc, ct } = await sealTo(suite, keys.publicKey, info, aad, contentKey);
    expect(await codeOf(open(enc, ct, { k: other }))).toBe('decrypt_failed');
    expect(await codeOf(open(enc, ct, { a: utf8('clear header bytez') }))).toBe('decrypt_failed');
    expect(await codeOf(open(enc, ct, { a: new Uint8Array(0) }))).toBe('decrypt_failed');
    expect(await codeOf(open(enc, ct, { i: utf8('backchannel/v1/other') }))).toBe('decrypt_failed');
    expect(await codeOf(open(enc, ct, { i: new Uint8Array(0) }))).toBe('decrypt_failed');
  });

  it("fails with 'decrypt_failed' for truncated, extended, empty or zero inputs", async () => {
    const { enc, ct } = await sealTo(suite, keys.publicKey, info, aad, contentKey);
    const bad: [Uint8Array, Uint8Array][] = [
      [enc.subarray(1), ct],
      [Uint8Array.of(...enc, 0), ct],
      [new Uint8Array(0), ct],
      [new Uint8Array(suite.encSize), ct], // X25519: a small-order point; X-Wing: an all-zero ciphertext
      [enc, ct.subarray(0, ct.length - 1)],
      [enc, Uint8Array.of(...ct, 0)],
      [enc, ct.subarray(0, suite.tagSize)],
      [enc, new Uint8Array(0)],
    ];
    for (const [e, c] of bad) expect(await codeOf(open(e, c))).toBe('decrypt_failed');
  });

  it("fails with 'decrypt_failed' when any single byte of enc or ct changes", async () => {
    const { enc, ct } = await sealTo(suite, keys.publicKey, info, aad, contentKey, deterministicRandomForTests('flip'));
    const both = Uint8Array.of(...enc, ...ct);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: both.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const changed = Uint8Array.from(both);
        changed[at]! ^= mask;
        const code = await codeOf(open(changed.subarray(0, enc.length), changed.subarray(enc.length)));
        expect(code).toBe('decrypt_failed');
      }),
      // Always include the edges: first and last byte of enc, of ct, and X25519's ignored top bit.
      { numRuns: runs, examples: [[0, 1], [enc.length - 1, 0x80], [enc.length, 1], [both.length - 1, 1]] },
    );
  });

  it('says nothing about why an open failed', async () => {
    const { enc, ct } = await sealTo(suite, keys.publicKey, info, aad, contentKey);
    const errors: unknown[] = [];
    for (const p of [open(enc, ct, { k: other }), open(enc, ct, { a: new Uint8Array(0) }), open(enc.subarray(1), ct)]) {
      await p.catch((e: unknown) => errors.push(e));
    }
    expect(errors).toHaveLength(3);
    for (const e of errors) {
      expect(e).toBeInstanceOf(BackchannelError);
      expect((e as BackchannelError).message).toBe('HPKE open failed');
      expect((e as BackchannelError).cause).toBeUndefined();
      expect((e as BackchannelError).details).toBeUndefined();
    }
  });

  it("refuses a key of the other suite as 'key_invalid' (a misconfiguration, not an attack)", async () => {
    const otherSuite = suite === SUITE_X25519 ? SUITE_XWING : SUITE_X25519;
    const foreign = await generateKeyPair(otherSuite, deterministicRandomForTests('foreign'));
    expect(await codeOf(sealTo(suite, foreign.publicKey, info, aad, contentKey))).toBe('key_invalid');
    expect(await codeOf(sealTo(suite, foreign.publicKey.toBytes(), info, aad, contentKey))).toBe('key_invalid');
    const { enc, ct } = await sealTo(suite, keys.publicKey, info, aad, contentKey);
    expect(await codeOf(openFrom(suite, foreign.privateKey, enc, info, aad, ct))).toBe('key_invalid');
  });
});
