/**
 * Per-station rate limits, applied after the station's signature verified, so a flood from
 * one desk cannot starve the others and nobody can spend a victim's budget with forged
 * requests. (The per-IP gate in front of parsing is @fastify/rate-limit.) A fixed window per
 * station key; the map is swept every window, so it is bounded by the stations seen in one.
 */
import { toHex } from '@backchannel/core';
import { RelayError } from '../errors.js';

export class StationRateLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #clock: () => number;
  #windowStart = 0;
  #counts = new Map<string, number>();

  constructor(max: number, windowMs: number, clock: () => number) {
    this.#max = max;
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  /** Counts one request of `station`; throws 429 rate_limited past the limit. */
  take(station: Uint8Array): void {
    const now = this.#clock();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#counts = new Map();
    }
    const k = toHex(station);
    const n = (this.#counts.get(k) ?? 0) + 1;
    this.#counts.set(k, n);
    if (n > this.#max) throw new RelayError('rate_limited', 'this station has sent too many requests; slow down');
  }
}
