/** The fast hasher against plain SHA-256 over the RFC 9162 §2.1.1 prefixed inputs. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha256 } from '../../src/hash.js';
import { EMPTY_ROOT, emptyRoot, hashChildren, hashLeaf } from '../../src/merkle/hasher.js';

describe('hasher', () => {
  it('hashLeaf is SHA-256(0x00 || leaf) for any leaf, including the 32-byte fast path', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 32, maxLength: 32 })), (leaf) => {
        expect(hashLeaf(leaf)).toEqual(sha256(new Uint8Array([0]), leaf));
      }),
    );
  });

  it('hashChildren is SHA-256(0x01 || left || right) for any children, including the 32-byte fast path', () => {
    const child = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 32, maxLength: 32 }));
    fc.assert(
      fc.property(child, child, (l, r) => {
        expect(hashChildren(l, r)).toEqual(sha256(new Uint8Array([1]), l, r));
      }),
    );
  });

  it('returns fresh plain Uint8Arrays that later calls do not overwrite', () => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    const first = hashChildren(a, b);
    const copy = first.slice();
    hashChildren(b, a);
    hashLeaf(a);
    expect(first).toEqual(copy);
    expect(Object.getPrototypeOf(first)).toBe(Uint8Array.prototype);
    expect(first.byteLength).toBe(first.buffer.byteLength);
    expect(Object.getPrototypeOf(hashLeaf(a))).toBe(Uint8Array.prototype);
  });

  it('has the empty-tree root SHA-256("")', () => {
    expect(EMPTY_ROOT).toEqual(sha256());
    expect(emptyRoot()).not.toBe(emptyRoot());
  });
});
