import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash, createHmac } from 'node:crypto';
import { LEAF_FIELDS, commitLeaf, leafFromPartial, openFields, WINDOW_MS, type LeafField, type LeafOpening } from '../../src/messages/commitment.js';

/** The leaf as the header of commitment.ts writes it, field by field, with nothing precomputed. */
function referenceLeaf(o: LeafOpening): string {
  const u64 = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  const value: Record<LeafField, Uint8Array> = {
    type: Buffer.from(o.type),
    pair: Buffer.from(`${o.from}>${o.to}`),
    prec: u64(o.prec),
    time: u64(o.time),
    window: u64(Math.floor(o.time / WINDOW_MS) * WINDOW_MS),
    digest: o.digest,
    ref: o.ref,
  };
  const leaf = createHash('sha256').update('backchannel/v1/leaf').update(Uint8Array.of(0));
  for (const f of LEAF_FIELDS) {
    const salt = createHmac('sha256', o.salt).update(f).digest();
    leaf.update(createHash('sha256').update(`backchannel/v1/leaf/${f}`).update(Uint8Array.of(0)).update(salt).update(value[f]).digest());
  }
  return leaf.digest('hex');
}

const opening: fc.Arbitrary<LeafOpening> = fc.record({
  salt: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  type: fc.constantFrom('submit' as const, 'delivery' as const),
  from: fc.constantFrom('us', 'ir', 'fr'),
  to: fc.constantFrom('us', 'ir', 'cn'),
  prec: fc.integer({ min: 0, max: 3 }),
  time: fc.integer({ min: 0, max: 2 ** 45 }),
  digest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  ref: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('leaf commitment', () => {
  it('matches the formula computed from scratch, fully and partially opened', () => {
    fc.assert(
      fc.property(opening, fc.subarray([...LEAF_FIELDS]), (o, reveal) => {
        const leaf = referenceLeaf(o);
        expect(hex(commitLeaf(o))).toBe(leaf);
        expect(hex(leafFromPartial(openFields(o, reveal)))).toBe(leaf);
      }),
      { numRuns: 200 },
    );
  });

  it('is unchanged from the value pinned before the label prefixes were precomputed', () => {
    const o: LeafOpening = { salt: new Uint8Array(32).map((_, i) => i), type: 'submit', from: 'us', to: 'ir', prec: 2, time: 1767441600123, digest: new Uint8Array(32).fill(0xaa), ref: new Uint8Array(32).fill(0xbb) };
    expect(hex(commitLeaf(o))).toBe('0d84f41417a07e4a6669c569163dc90b829032c1af6476036ca9f90e2ca51e16');
    expect(hex(commitLeaf({ ...o, type: 'delivery', prec: 0, time: 0 }))).toBe('9f2daa68873ca07937888cd79225ce1e84eb3b60fd46a9e95316dac12b85a7ba');
  });
});
