import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeCbor } from '../src/cbor.js';
import { concatBytes } from '../src/bytes.js';
import { cborBytes, cborHead, cborText } from '../src/cbor-direct.js';
import { encodeOpening, RECORD_TYPES, type LeafOpening } from '../src/messages/commitment.js';

const bytes = (len: number) => fc.uint8Array({ minLength: len, maxLength: len });
const party = fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/);
// Around every boundary of the head's five lengths, and anywhere up to 2^53 - 1.
const argument = fc.oneof(
  fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: 300 }),
  fc.maxSafeNat(),
);

describe('deterministic CBOR written directly', () => {
  it('writes heads, texts and byte strings as encodeCbor does', () => {
    fc.assert(
      fc.property(argument, fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (n, s, b) => {
        expect(cborHead(0, n)).toEqual(encodeCbor(n));
        expect(concatBytes(...cborText(s))).toEqual(encodeCbor(s));
        expect(concatBytes(...cborBytes(b))).toEqual(encodeCbor(b));
      }),
      { numRuns: 500 },
    );
  });

  it('writes a leaf opening byte for byte as the general encoder does', () => {
    const opening = fc.record<LeafOpening>({
      salt: bytes(32),
      type: fc.constantFrom(...RECORD_TYPES),
      from: party,
      to: party,
      prec: fc.integer({ min: 0, max: 3 }),
      time: argument,
      digest: bytes(32),
      ref: bytes(32),
    });
    fc.assert(
      fc.property(opening, (o) => {
        expect(Buffer.from(encodeOpening(o)).toString("hex")).toEqual(Buffer.from(encodeCbor({ v: 1, salt: o.salt, type: o.type, from: o.from, to: o.to, prec: o.prec, time: o.time, digest: o.digest, ref: o.ref })).toString("hex"));
      }),
      { numRuns: 500 },
    );
  });
});
