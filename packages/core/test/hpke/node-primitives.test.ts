/**
 * The node:crypto modules plugged into @hpke/core, each against a known answer and, as a
 * property, against the stock module it replaces (the naive reference for the fast one).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HkdfSha256 } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { toHex, utf8 } from '../../src/bytes.js';
import { NodeChacha20Poly1305 } from '../../src/hpke/node-aead.js';
import { NodeHkdfSha256 } from '../../src/hpke/node-kdf.js';
import { hex } from './vectors.js';

const hexOf = (b: ArrayBuffer): string => toHex(new Uint8Array(b));

describe('NodeChacha20Poly1305', () => {
  // RFC 8439 §2.8.2
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = hex('070000004041424344454647');
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  const pt = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const ct =
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b' +
    '1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
    '3ff4def08e4b7a9de576d26586cec64b6116' +
    '1ae10b594f09e26a7e902ecbd0600691';

  it('seals and opens the RFC 8439 §2.8.2 AEAD vector', async () => {
    const ctx = new NodeChacha20Poly1305().createEncryptionContext(key);
    expect(hexOf(await ctx.seal(nonce, pt, aad))).toBe(ct);
    expect(hexOf(await ctx.open(nonce, hex(ct), aad))).toBe(toHex(pt));
  });

  it('rejects a wrong tag, a short ciphertext, and a nonce that is not 12 bytes', async () => {
    const ctx = new NodeChacha20Poly1305().createEncryptionContext(key);
    const bad = hex(ct);
    bad[bad.length - 1]! ^= 1;
    await expect(ctx.open(nonce, bad, aad)).rejects.toThrow();
    await expect(ctx.open(nonce, new Uint8Array(15), aad)).rejects.toThrow();
    await expect(ctx.seal(nonce.subarray(0, 8), pt, aad)).rejects.toThrow();
    await expect(ctx.open(new Uint8Array(16), hex(ct), aad)).rejects.toThrow();
  });

  it('agrees with @hpke/chacha20poly1305 both ways on any input', async () => {
    const ours = new NodeChacha20Poly1305();
    const stock = new Chacha20Poly1305();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 300 }),
        async (k, n, a, p) => {
          const mine = ours.createEncryptionContext(k);
          const theirs = stock.createEncryptionContext(k);
          const c = await mine.seal(n, p, a);
          expect(hexOf(c)).toBe(hexOf(await theirs.seal(n, p, a)));
          expect(hexOf(await theirs.open(n, c, a))).toBe(toHex(p));
          expect(hexOf(await mine.open(n, c, a))).toBe(toHex(p));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('NodeHkdfSha256', () => {
  it('agrees with the stock WebCrypto HkdfSha256 on labelled Extract and Expand, at every length class', async () => {
    const suiteId = Uint8Array.of(0x48, 0x50, 0x4b, 0x45, 0, 0x20, 0, 1, 0, 3);
    const ours = new NodeHkdfSha256();
    const stock = new HkdfSha256();
    ours.init(suiteId);
    stock.init(suiteId);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 80 }),
        // The stock module encodes L in one byte (its labels only need L < 256): compare there.
        fc.integer({ min: 1, max: 255 }),
        async (prk, label, info, len) => {
          expect(hexOf(await ours.labeledExtract(new Uint8Array(0), label, info))).toBe(
            hexOf(await stock.labeledExtract(new Uint8Array(0), label, info)),
          );
          expect(hexOf(await ours.labeledExtract(prk, label, info))).toBe(hexOf(await stock.labeledExtract(prk, label, info)));
          expect(hexOf(await ours.labeledExpand(prk, label, info, len))).toBe(hexOf(await stock.labeledExpand(prk, label, info, len)));
          const ikm = ours.buildLabeledIkm(label, info);
          const li = ours.buildLabeledInfo(label, info, 32);
          expect(hexOf(await ours.extractAndExpand(prk, ikm, li, 32))).toBe(hexOf(await stock.extractAndExpand(prk, ikm, li, 32)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('encodes the output length in two bytes, as RFC 9180 §4 says', () => {
    const kdf = new NodeHkdfSha256();
    kdf.init(Uint8Array.of(1));
    expect(toHex(kdf.buildLabeledInfo(new Uint8Array(0), new Uint8Array(0), 300).subarray(0, 2))).toBe('012c');
  });

  it('refuses to run before init and beyond 255 blocks', async () => {
    const kdf = new NodeHkdfSha256();
    await expect(kdf.labeledExtract(new Uint8Array(0), utf8('x'), utf8('y'))).rejects.toThrow();
    kdf.init(Uint8Array.of(1));
    await expect(kdf.expand(new Uint8Array(32), new Uint8Array(0), 255 * 32 + 1)).rejects.toThrow(RangeError);
  });
});
