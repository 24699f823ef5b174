/**
 * The command line's single error path: every failure becomes a stable code, one sentence and
 * an exit status (PRODUCT.md, "Stable command-line contract": 0 success, 1 the operation
 * failed, 2 bad usage, 3 misbehaviour found).
 *
 * Core failures keep the core's codes (packages/core/src/errors.ts); the codes below are the
 * command line's own. Both lists are stable and documented in docs/cli.md: add, never rename.
 */
import { isBackchannelError } from '@backchannel/core';

export const EXIT = { ok: 0, failed: 1, usage: 2, misbehaviour: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const CLI_ERROR_CODES = [
  // Bad usage (exit 2)
  'usage', // unknown command or option, missing or extra argument, invalid flag value
  'passphrase_required', // no passphrase in the environment and no terminal to ask on
  'passphrase_mismatch', // the two entries at an interactive prompt differ
  'passphrase_reused', // the root passphrase equals the station passphrase
  // The operation failed (exit 1)
  'home_missing', // no Backchannel home at the path
  'home_invalid', // the home is damaged, of an unknown version, or misses a file
  'home_not_empty', // `init` into a folder that already holds something
  'not_supported', // a verb that this kind of home does not (yet) support
  'card_wrong_kind', // a relay card where a party card is needed, or the reverse
  'file_not_found',
  'permission_denied',
  'disk_full',
  'io_failed',
  'address_in_use', // `serve`: the port is taken
  'address_unavailable', // `serve`: the host is not an address of this machine
  'cancelled', // the user cancelled a prompt
  'not_confirmed', // `trust`: the fingerprint was not confirmed at the prompt
  'fingerprint_required', // `trust` on a party home with no terminal and no --fingerprint (exit 2)
  'root_required', // a root operation on a home whose root key has been moved offline
  'body_required', // `send` with neither --body nor --body-file, or both
  'not_sent', // `send`: no relay gave a receipt (the result is still printed; the note stays stored)
  'sync_failed', // `sync`: no channel could be reached (the report is still printed)
  'verify_failed', // `verify`: a relay could not be checked (unreachable); no misbehaviour found
  'misbehaviour', // exit 3: an alert with evidence was found (sync, show, verify); the result is still printed
  'statement_invalid', // exit 3: `verify-statement`: the statement does not verify (the report is still printed)
  'internal', // a bug: run again with BACKCHANNEL_DEBUG=1 and report it
] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** Exit status 2: the command line itself was wrong, nothing was attempted. */
const USAGE_CODES: ReadonlySet<string> = new Set(['usage', 'passphrase_required', 'passphrase_mismatch', 'passphrase_reused', 'fingerprint_required', 'body_required']);
/** Exit status 3: misbehaviour found, or a proof that does not hold. */
const MISBEHAVIOUR_CODES: ReadonlySet<string> = new Set(['misbehaviour', 'statement_invalid']);

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  readonly exit: ExitCode;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown; exit?: ExitCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exit = options?.exit ?? (MISBEHAVIOUR_CODES.has(code) ? EXIT.misbehaviour : USAGE_CODES.has(code) ? EXIT.usage : EXIT.failed);
  }
}

/**
 * An error that keeps another component's stable code (the core's, the station's) with a
 * sentence and exit status of the command line's choosing: a changed party key is the core's
 * `root_mismatch`, and it exits 3 because it was raised as an alert with evidence.
 */
export class CodedError extends Error {
  override readonly name = 'CodedError';
  readonly code: string;
  readonly exit: ExitCode;

  constructor(code: string, message: string, exit: ExitCode, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exit = exit;
  }
}

export function usage(message: string): CliError {
  return new CliError('usage', message);
}

export interface ErrorReport {
  code: string;
  message: string;
  exit: ExitCode;
}

// Node's system errors (errno names) that a user can act on, mapped to stable codes.
const SYSTEM_CODES: Readonly<Record<string, CliErrorCode>> = {
  ENOENT: 'file_not_found',
  ENOTDIR: 'file_not_found',
  EACCES: 'permission_denied',
  EPERM: 'permission_denied',
  EROFS: 'permission_denied',
  ENOSPC: 'disk_full',
  EDQUOT: 'disk_full',
  EADDRINUSE: 'address_in_use',
  EADDRNOTAVAIL: 'address_unavailable',
};

/** Turns anything thrown into the code, sentence and exit status the user sees. */
export function describeError(e: unknown): ErrorReport {
  if (e instanceof CliError || e instanceof CodedError) return { code: e.code, message: sentence(e.message), exit: e.exit };
  // Core errors are failures of the operation: a bad card, a wrong passphrase, a damaged key
  // file. None of them is by itself evidence of misbehaviour, so none exits 3; the verbs that
  // find misbehaviour (verify, sync) raise it deliberately, with the evidence.
  if (isBackchannelError(e)) return { code: e.code, message: sentence(e.message), exit: EXIT.failed };
  if (e instanceof Error) {
    const errno = (e as { code?: unknown }).code;
    if (typeof errno === 'string') {
      const mapped = SYSTEM_CODES[errno];
      if (mapped !== undefined) return { code: mapped, message: sentence(systemMessage(e, errno)), exit: EXIT.failed };
      if (/^E[A-Z0-9]+$/.test(errno)) return { code: 'io_failed', message: sentence(systemMessage(e, errno)), exit: EXIT.failed };
      // The relay's typed errors carry the stable snake_case codes of docs/relay-api.md.
      if (/^[a-z][a-z0-9_]{0,63}$/.test(errno)) return { code: errno, message: sentence(e.message), exit: EXIT.failed };
    }
    return { code: 'internal', message: sentence(`internal error (${e.message}); run again with BACKCHANNEL_DEBUG=1 and report it`), exit: EXIT.failed };
  }
  return { code: 'internal', message: 'Internal error; run again with BACKCHANNEL_DEBUG=1 and report it.', exit: EXIT.failed };
}

function systemMessage(e: Error, errno: string): string {
  const err = e as { path?: unknown; address?: unknown; port?: unknown; syscall?: unknown };
  const path = typeof err.path === 'string' ? err.path : undefined;
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
      return path === undefined ? 'a file or folder does not exist' : `${path} does not exist`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return path === undefined ? 'permission denied' : `permission denied on ${path}`;
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk is full';
    case 'EADDRINUSE':
      return `the address ${addressOf(err)} is already in use`;
    case 'EADDRNOTAVAIL':
      return `the address ${addressOf(err)} is not an address of this machine`;
    default:
      return `${typeof err.syscall === 'string' ? err.syscall : 'a system call'} failed with ${errno}${path === undefined ? '' : ` on ${path}`}`;
  }
}

function addressOf(err: { address?: unknown; port?: unknown }): string {
  const host = typeof err.address === 'string' ? err.address : '?';
  const port = typeof err.port === 'number' ? String(err.port) : '?';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * One sentence on one line: whitespace (newlines included) collapsed, a capital first letter,
 * and a closing full stop unless the text already ends a sentence.
 */
export function sentence(text: string): string {
  let s = text.replace(/\s+/g, ' ').trim();
  if (s.length === 0) return 'Unknown error.';
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
