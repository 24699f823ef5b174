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

/** A typed error as `{ code, message }`, or undefined for an unexpected one (a bug: logged, answered 500). */
export function describeError(e: unknown): { code: AnyErrorCode; message: string; status: number } | undefined {
  if (isRelayError(e) || isBackchannelError(e)) return { code: e.code, message: e.message, status: statusForCode(e.code) };
  return undefined;
}
