/**
 * @backchannel/console — the web consoles' server side: `mountConsole` (login, sessions, CSRF,
 * security headers, the built UI) for the station daemon and the relay's admin listener, the
 * event-stream helper for live updates, and `ensureConsoleBuilt` for tests and tools.
 *
 * Explicit named exports only: this list is the public API.
 */
export { mountConsole, consoleErrorHandler, type ConsoleServerOptions } from './server/mount-console.js';
export { openEventStream, type EventStream } from './server/event-stream.js';
export { ensureConsoleBuilt, CONSOLE_DIST, CONSOLE_ROOT } from './server/build.js';
export { CONSOLE_ERROR_CODES, ConsoleError, isConsoleError, errorBody, type ConsoleErrorCode } from './server/errors.js';
export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from './server/security-headers.js';
export { SESSION_COOKIE } from './server/cookies.js';
export type { LoginLimits } from './server/login-limiter.js';
export type { SessionLimits } from './server/sessions.js';
