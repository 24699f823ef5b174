/**
 * Time, injected (STYLE.md §12; DESIGN.md "The station daemon and failover": all timers read
 * an injected clock). The station never calls Date.now or setTimeout directly, so a test can
 * drive a five-minute FLASH deadline, or the one-second receipt wait, without waiting.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Calls `fn` once `ms` of this clock's time have passed. Returns a function that cancels it.
   * Timers must not keep a process alive on their own: a one-shot CLI command exits when its
   * work is done, and the daemon keeps itself alive with its connections.
   */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => {
      clearTimeout(t);
    };
  },
};

/** Resolves after `ms` of `clock` time; rejects nothing. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(ms, resolve);
  });
}
