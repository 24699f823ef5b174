/**
 * Interoperability with stock @hpke/core: what our suites seal, the stock modules
 * (@hpke/core X25519 / @hpke/hybridkem-x-wing, HkdfSha256, @hpke/chacha20poly1305) open,
 * and what they seal, we open. Keys cross between the two as raw bytes only.
 */
import { describe, expect, it } from 'vitest';
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, type KemInterface } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { XWing } from '@hpke/hybridkem-x-wing';
import { toHex, utf8 } from '../../src/bytes.js';
import { deriveKeyPair, generateKeyPair, importPrivateKey } from '../../src/hpke/keys.js';
import { openFrom, sealTo } from '../../src/hpke/seal.js';
import { SUITE_X25519, SUITE_XWING, type Suite } from '../../src/hpke/suite.js';
import { deterministicRandomForTests } from '../../src/random-testing.js';

const cases: [Suite, () => KemInterface][] = [
  [SUITE_X25519, () => new DhkemX25519HkdfSha256()],
  [SUITE_XWING, () => new XWing()],
];

const info = utf8('backchannel/v1/test-content-key');
const aad = utf8('a clear header, bound as associated data');
const plaintexts = [new Uint8Array(0), Uint8Array.of(7), new Uint8Array(32).fill(0xa5), new Uint8Array(2048).map((_, i) => i & 0xff)];

describe.each(cases)('suite %s against stock @hpke/core', (suite, makeKem) => {
  const stock = new CipherSuite({ kem: makeKem(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });

  it('stock opens what sealTo seals', async () => {
    const random = deterministicRandomForTests(`interop-${suite.name}-1`);
    const { publicKey, privateKey } = await generateKeyPair(suite, random);
    const recipientKey = await stock.kem.deserializePrivateKey(privateKey.exportBytes());
    for (const pt of plaintexts) {
      // Once with the injected Random (the ekm path) and once with system randomness.
      for (const r of [random, undefined]) {
        const { enc, ct } = await sealTo(suite, publicKey.toBytes(), info, aad, pt, r);
        const opened = await stock.open({ recipientKey, enc, info }, ct, aad);
        expect(toHex(new Uint8Array(opened))).toBe(toHex(pt));
      }
    }
  });

  it('openFrom opens what stock seals', async () => {
    const { publicKey, privateKey } = await generateKeyPair(suite, deterministicRandomForTests(`interop-${suite.name}-2`));
    const recipientPublicKey = await stock.kem.deserializePublicKey(publicKey.toBytes());
    for (const pt of plaintexts) {
      const { enc, ct } = await stock.seal({ recipientPublicKey, info }, pt, aad);
      const opened = await openFrom(suite, privateKey, new Uint8Array(enc), info, aad, new Uint8Array(ct));
      expect(toHex(opened)).toBe(toHex(pt));
    }
  });

  it('derives the same key pair as the stock KEM from the same IKM, and imports its private keys', async () => {
    const ikm = deterministicRandomForTests(`interop-${suite.name}-3`)(32);
    const theirs = await stock.kem.deriveKeyPair(ikm);
    const theirSk = new Uint8Array(await stock.kem.serializePrivateKey(theirs.privateKey));
    const theirPk = new Uint8Array(await stock.kem.serializePublicKey(theirs.publicKey));
    const derived = await deriveKeyPair(suite, ikm);
    expect(toHex(derived.privateKey.exportBytes())).toBe(toHex(theirSk));
    expect(toHex(derived.publicKey.toBytes())).toBe(toHex(theirPk));
    const imported = await importPrivateKey(suite, theirSk);
    expect(toHex(imported.publicKey.toBytes())).toBe(toHex(theirPk));
  });
});
