import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeCbor, encodeCbor, type CborValue } from '../src/cbor.js';
import { codeOf } from '../testing/codes.js';

const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.maxSafeInteger(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 4 }),
  ),
})).v;

describe('deterministic CBOR', () => {
  it('round-trips every value of the profile, byte for byte', () => {
    fc.assert(
      fc.property(cborValue, (v) => {
        const bytes = encodeCbor(v);
        expect(decodeCbor(bytes)).toEqual(v);
        expect(encodeCbor(decodeCbor(bytes))).toEqual(bytes);
      }),
    );
  });

  it('sorts map keys bytewise (RFC 8949 §4.2.1)', () => {
    expect(Buffer.from(encodeCbor({ b: 1, a: 2, aa: 3 })).toString('hex')).toBe('a3616102616201626161' + '03');
  });

  it.each([
    ['unsorted keys', 'a2616201616101', 'cbor_non_canonical'],
    ['non-minimal integer', '1801', 'cbor_malformed'],
    ['trailing bytes', '0000', 'cbor_malformed'],
    ['half float', 'f93c00', 'cbor_non_canonical'],
    ['double float', 'fb3ff8000000000000', 'cbor_malformed'],
    ['tag', 'c11a5bbbbbbb', 'cbor_malformed'],
    ['indefinite array', '9f01ff', 'cbor_malformed'],
    ['duplicate key', 'a2616101616101', 'cbor_malformed'],
    ['integer map key', 'a10101', 'cbor_malformed'],
    ['undefined', 'f7', 'cbor_malformed'],
    ['bignum', 'c249010000000000000000', 'cbor_malformed'],
    ['truncated', '43010203'.slice(0, 6), 'cbor_malformed'],
    ['empty', '', 'cbor_malformed'],
    ['__proto__ key', 'a1695f5f70726f746f5f5f01', 'cbor_malformed'],
  ])('rejects %s', (_name, hex, code) => {
    expect(codeOf(() => decodeCbor(Buffer.from(hex, 'hex')))).toBe(code);
  });

  it('rejects input over the size limit before decoding', () => {
    expect(codeOf(() => decodeCbor(new Uint8Array(100), 99))).toBe('too_large');
  });

  it('rejects deep nesting without overflowing the stack', () => {
    const deep = new Uint8Array(100_000).fill(0x81);
    expect(['cbor_malformed']).toContain(codeOf(() => decodeCbor(deep)));
  });

  it('refuses to encode values outside the profile', () => {
    expect(codeOf(() => encodeCbor(1.5))).toBe('schema_invalid');
    expect(codeOf(() => encodeCbor({ a: undefined } as unknown as CborValue))).toBe('schema_invalid');
    expect(codeOf(() => encodeCbor(new Date() as unknown as CborValue))).toBe('schema_invalid');
  });

  it('never throws an untyped error on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const c = codeOf(() => decodeCbor(b));
        expect(c === undefined || c.startsWith('cbor_')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
