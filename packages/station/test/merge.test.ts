/** The merge rules on their own: the first valid copy is delivered; every later copy must be byte-identical. */
import { describe, expect, it } from 'vitest';
import { utf8, sha256 } from '@backchannel/core';
import { decideMerge, isConsistent } from '../src/merge.js';

const a = sha256(utf8('a'));
const b = sha256(utf8('b'));

describe('decideMerge', () => {
  it.each([
    ['first valid copy', { valid: true, digest: a, delivered: undefined, previous: undefined }, { kind: 'deliver' }],
    ['same bytes from another relay', { valid: true, digest: a, delivered: a, previous: undefined }, { kind: 'duplicate' }],
    ['other validly signed bytes', { valid: true, digest: b, delivered: a, previous: undefined }, { kind: 'equivocation' }],
    ['invalid before any valid copy', { valid: false, digest: b, delivered: undefined, previous: undefined }, { kind: 'invalid' }],
    ['invalid after a valid copy', { valid: false, digest: b, delivered: a, previous: undefined }, { kind: 'invalid' }],
    ['the same relay again, not yet acknowledged', { valid: true, digest: a, delivered: a, previous: { acknowledged: false } }, { kind: 'redelivery', replay: false }],
    ['the same relay again, after our acknowledged ack', { valid: true, digest: a, delivered: a, previous: { acknowledged: true } }, { kind: 'redelivery', replay: true }],
  ] as const)('%s', (_name, input, expected) => {
    expect(decideMerge(input)).toEqual(expected);
  });
});

describe('isConsistent', () => {
  it('holds when every copy is valid and identical', () => {
    expect(isConsistent([])).toBe(true);
    expect(isConsistent([{ valid: true, digest: a }, { valid: true, digest: a }])).toBe(true);
  });
  it('fails on any invalid copy or any other bytes', () => {
    expect(isConsistent([{ valid: true, digest: a }, { valid: false, digest: a }])).toBe(false);
    expect(isConsistent([{ valid: true, digest: a }, { valid: true, digest: b }])).toBe(false);
  });
});
