import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../src/bounded-cache.js';

describe('BoundedCache', () => {
  it('holds at most its bound and drops the least recently used', () => {
    const c = new BoundedCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now the most recently used
    c.set('c', 3);
    expect(c.size).toBe(2);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
  });

  it('replacing a key does not evict another', () => {
    const c = new BoundedCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.set('a', 10);
    expect(c.size).toBe(2);
    expect([c.get('a'), c.get('b')]).toEqual([10, 2]);
  });

  it('refuses a bound under one, and clears', () => {
    expect(() => new BoundedCache(0)).toThrow(RangeError);
    const c = new BoundedCache<number, number>(3);
    c.set(1, 1);
    c.clear();
    expect(c.size).toBe(0);
  });
});
