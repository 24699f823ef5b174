/**
 * The key schedule's shortcuts (node-kdf.ts): psk_id_hash and info_hash remembered by their
 * exact public inputs, every other extract computed afresh, and Extract-then-Expand by HMAC
 * agreeing with node's own HKDF.
 */
import { hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toHex, utf8 } from '../../src/bytes.js';
import { hkdfExtractAndExpand, labeledExtract, labeledExtractPublic } from '../../src/hpke/node-kdf.js';

const SUITE = Uint8Array.of(0x48, 0x50, 0x4b, 0x45, 0, 0x20, 0, 1, 0, 3);
const OTHER_SUITE = Uint8Array.of(0x48, 0x50, 0x4b, 0x45, 0x64, 0x7a, 0, 1, 0, 3);
const EMPTY = new Uint8Array(0);

describe('labeledExtractPublic', () => {
  it('equals labeledExtract for any info, label and suite: a remembered value is never another input\'s', () => {
    fc.assert(
      fc.property(fc.constantFrom('info_hash', 'psk_id_hash', 'secret', 'eae_prk'), fc.uint8Array({ maxLength: 64 }), fc.boolean(), (label, ikm, other) => {
        const suite = other ? OTHER_SUITE : SUITE;
        // Twice: the second call is the one a cache would answer.
        for (let i = 0; i < 2; i++) expect(toHex(labeledExtractPublic(suite, EMPTY, utf8(label), ikm))).toBe(toHex(labeledExtract(suite, EMPTY, utf8(label), ikm)));
      }),
      { numRuns: 300 },
    );
  });

  it('hands out copies: a caller that overwrites its result does not change the next one', () => {
    const info = utf8('backchannel/v1/cek');
    const first = labeledExtractPublic(SUITE, EMPTY, utf8('info_hash'), info);
    const expected = toHex(first);
    first.fill(0);
    expect(toHex(labeledExtractPublic(SUITE, EMPTY, utf8('info_hash'), info))).toBe(expected);
  });

  it('computes afresh under a salt (where the input is secret), whatever the label', () => {
    const salt = new Uint8Array(32).fill(9);
    const a = labeledExtractPublic(SUITE, salt, utf8('info_hash'), utf8('x'));
    expect(toHex(a)).toBe(toHex(labeledExtract(SUITE, salt, utf8('info_hash'), utf8('x'))));
    expect(toHex(a)).not.toBe(toHex(labeledExtractPublic(SUITE, EMPTY, utf8('info_hash'), utf8('x'))));
  });
});

describe('hkdfExtractAndExpand', () => {
  it('agrees with node:crypto hkdfSync at the key schedule\'s lengths and beyond one block', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 96 }), fc.uint8Array({ maxLength: 96 }), fc.constantFrom(12, 32, 33, 64, 100), (salt, ikm, info, len) => {
        expect(toHex(hkdfExtractAndExpand(salt, ikm, info, len))).toBe(toHex(new Uint8Array(hkdfSync('sha256', ikm, salt, info, len))));
      }),
      { numRuns: 200 },
    );
  });
});
