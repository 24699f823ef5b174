/**
 * Login attempts are limited per client address and overall, in a fixed window: a guessed
 * passphrase costs a window's wait after `max` tries. Only failures count, so a desk that logs
 * in and out all day is never locked out by its own successes.
 */
export interface LoginLimits {
  /** Failed attempts allowed per address per window. */
  max: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { max: 10, windowMs: 60_000 };

export class LoginLimiter {
  readonly #failures = new Map<string, { count: number; since: number }>();
  constructor(
    private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds to wait before this address may try again, or 0. */
  blockedFor(address: string): number {
    const t = this.now();
    for (const key of [address, '*']) {
      const f = this.#failures.get(key);
      if (f === undefined) continue;
      if (t - f.since >= this.limits.windowMs) {
        this.#failures.delete(key);
        continue;
      }
      // The overall bucket allows more (ten addresses' worth) so one address cannot lock out all.
      const max = key === '*' ? this.limits.max * 10 : this.limits.max;
      if (f.count >= max) return this.limits.windowMs - (t - f.since);
    }
    return 0;
  }

  fail(address: string): void {
    const t = this.now();
    for (const key of [address, '*']) {
      const f = this.#failures.get(key);
      if (f === undefined || t - f.since >= this.limits.windowMs) this.#failures.set(key, { count: 1, since: t });
      else f.count += 1;
    }
    // Bound memory under a flood from many addresses.
    if (this.#failures.size > 10_000) this.#failures.clear();
  }

  succeed(address: string): void {
    this.#failures.delete(address);
  }
}
