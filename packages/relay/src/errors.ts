/**
 * The relay's errors: the core's stable codes plus the relay's own (docs/relay-api.md,
 * "Relay error codes"), each mapped to one HTTP status. Codes are added, never renamed or
 * reused: stations and scripts branch on them.
 */
import { isBackchannelError, type ErrorCode } from '@backchannel/core';

export const RELAY_ERROR_CODES = [
  'bad_request',
  'not_found',
  'not_in_mandate',
  'pair_not_allowed',
  'unknown_party',
  'equivocation',
  'rate_limited',
  'payload_too_large',
  'unsupported_media_type',
  'storage_full',
  'unavailable',
  'not_integrated',
  'beyond_head',
  'replayed_request',
  'request_missing',
  'upgrade_required',
  'internal',
  'statement_forbidden',
  // Configuration refused at start: not an attack, not a client error.
  'storage_not_durable',
  'store_inconsistent',
  'config_invalid',
  // The database is away (server restarting, connection lost) or its disk read-only or failing.
  'storage_unavailable',
] as const;

export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[number];
export type AnyErrorCode = RelayErrorCode | ErrorCode;

export class RelayError extends Error {
  override readonly name = 'RelayError';
  readonly code: RelayErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: RelayErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

export function isRelayError(e: unknown, code?: RelayErrorCode): e is RelayError {
  return e instanceof RelayError && (code === undefined || e.code === code);
}

const STATUS: Partial<Record<AnyErrorCode, number>> = {
  too_large: 413,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_in_mandate: 403,
  pair_not_allowed: 403,
  statement_forbidden: 403,
  key_unknown: 403,
  key_revoked: 403,
  root_mismatch: 403,
  request_missing: 401,
  upgrade_required: 426,
  request_invalid: 401,
  request_stale: 401,
  replayed_request: 401,
  bundle_stale: 409,
  equivocation: 409,
  not_found: 404,
  unknown_party: 404,
  not_integrated: 404,
  rate_limited: 429,
  storage_full: 507,
  storage_unavailable: 503,
  unavailable: 503,
  storage_not_durable: 503,
  store_inconsistent: 503,
  internal: 500,
  config_invalid: 500,
  // Programming errors that reach a handler are the relay's fault, not the client's.
  argument_invalid: 500,
};

/** The HTTP status for a stable code: 400 for every other refusal of bad input. */
export function statusForCode(code: AnyErrorCode): number {
  return STATUS[code] ?? 400;
}

// What the drivers and the OS say when the storage, not the request, is at fault. SQLite codes
// are better-sqlite3's (extended codes start with the primary: SQLITE_IOERR_WRITE); PostgreSQL's
// are SQLSTATEs: 53100 disk_full, class 08 connection exceptions, 57P01-57P03 the server shutting
// down, crashed or starting, 53300 too many connections, 25006 a read-only transaction, 58030 I/O.
const FULL_CODES = new Set(['SQLITE_FULL', '53100', 'ENOSPC', 'EDQUOT']);
const AWAY_CODES = new Set(['SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_BUSY', 'EROFS', 'EIO', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', '57P01', '57P02', '57P03', '53300', '25006', '58030']);
// pg reports a connection that dropped mid-query by message only, without a code.
const AWAY_MESSAGES = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/**
 * Classifies a driver error as a storage failure: 'storage_full' (507) for a full disk,
 * 'storage_unavailable' (503) for a database that is away, read-only or failing; undefined for
 * anything else (a constraint, a bug), which callers keep answering as they did.
 */
export function storageFailureCode(e: unknown): 'storage_full' | 'storage_unavailable' | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = 'code' in e ? String(e.code) : '';
  const primary = code.startsWith('SQLITE_') ? code.split('_', 2).join('_') : code;
  if (FULL_CODES.has(primary)) return 'storage_full';
  if (AWAY_CODES.has(primary) || code.startsWith('08')) return 'storage_unavailable';
  if (e instanceof Error && AWAY_MESSAGES.test(e.message)) return 'storage_unavailable';
  return undefined;
}

/** A typed error as `{ code, message }`, or undefined for an unexpected one (a bug: logged, answered 500). */
export function describeError(e: unknown): { code: AnyErrorCode; message: string; status: number } | undefined {
  if (isRelayError(e) || isBackchannelError(e)) return { code: e.code, message: e.message, status: statusForCode(e.code) };
  // A read that met a database away or a disk in trouble is the relay's storage, not a bug: 503/507, typed.
  const storage = storageFailureCode(e);
  if (storage === 'storage_full') return { code: storage, message: 'the relay is out of storage', status: statusForCode(storage) };
  if (storage !== undefined) return { code: storage, message: 'the relay database is unavailable; retry shortly', status: statusForCode(storage) };
  return undefined;
}
