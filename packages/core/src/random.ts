import { randomBytes } from 'node:crypto';

/** A source of random bytes. Injected wherever nonces and keys are drawn, so vectors and tests are exact. */
export type Random = (length: number) => Uint8Array;

export const systemRandom: Random = (n) => new Uint8Array(randomBytes(n));

/**
 * A deterministic generator for vectors and tests only: SHA-256 in counter mode over a seed.
 * Never used for real keys; the name says so.
 */
export { deterministicRandomForTests } from './random-testing.js';
