/**
 * The console's typed errors. Every refusal the console server makes (login, session, CSRF,
 * rate limit, bad input, build) has a stable code; the HTTP answer is the relay's error shape,
 * `{"error": {"code", "message"}}` (docs/relay-api.md), so one client helper reads both.
 */
export const CONSOLE_ERROR_CODES = {
  unauthenticated: 401,
  bad_secret: 401,
  csrf_mismatch: 403,
  rate_limited: 429,
  bad_request: 400,
  not_found: 404,
  build_failed: 500,
} as const;

export type ConsoleErrorCode = keyof typeof CONSOLE_ERROR_CODES;

export class ConsoleError extends Error {
  override readonly name = 'ConsoleError';
  readonly code: ConsoleErrorCode;
  constructor(code: ConsoleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  get status(): number {
    return CONSOLE_ERROR_CODES[this.code];
  }
}

export function isConsoleError(e: unknown): e is ConsoleError {
  return e instanceof ConsoleError;
}

/** The JSON body of an error answer. */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
