import { BackchannelError, type ErrorCode } from '../errors.js';

/** Submission tokens stay valid for a day: the longest a station keeps resending (DESIGN.md). */
export const TOKEN_WINDOW_MS = 24 * 3_600_000;
/** Signed requests are for right now: a short window plus a nonce cache makes them unreplayable. */
export const REQUEST_WINDOW_MS = 5 * 60_000;

/** Accepts `time` within ±window of `now`. */
export function checkFreshness(time: number, now: number, windowMs: number, code: ErrorCode, what: string): void {
  if (Math.abs(now - time) > windowMs) {
    throw new BackchannelError(code, `${what} time ${new Date(time).toISOString()} is outside the ${Math.round(windowMs / 1000)} s window around ${new Date(now).toISOString()}`);
  }
}
