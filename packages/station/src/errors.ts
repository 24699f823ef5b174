/**
 * The station's errors: the core's stable codes (BackchannelError) for everything the protocol
 * decides, plus the station's own codes below for what only a desk can get wrong — an unknown
 * party or relay, a relay that cannot be reached, a store opened with the wrong key.
 *
 * Codes are a contract (the CLI prints them in `--json` errors and chooses exit statuses from
 * them): added, never renamed or reused. A relay's refusal keeps the relay's own code (for
 * example `not_in_mandate`) in `relayCode`, so a misconfiguration never reads as an attack.
 */
import { isBackchannelError, type ErrorCode } from '@backchannel/core';

export const STATION_ERROR_CODES = [
  // Configuration and usage
  'unknown_party', // no party pinned under this id
  'unknown_relay', // no relay added under this id
  'unknown_signer', // the party has no signer with this id
  'no_channel', // no relay to send through
  'not_found', // no note with this id
  'ambiguous_id', // an id prefix or id that names several notes
  'witness_policy_invalid', // a witness key that is not a cosignature/v1 vkey, or a quorum out of range
  // Relays
  'relay_unreachable', // connection refused, reset, DNS, or no answer within the timeout
  'relay_timeout', // the relay accepted the connection but did not answer in time
  'relay_refused', // the relay answered with an error (its code is in relayCode)
  'relay_response_invalid', // the relay's answer is not what docs/relay-api.md says
  // Storage
  'storage_key_wrong', // the store was written under another storage key
  'store_invalid', // the store's contents are not what this version wrote
  'store_failed', // the store could not make a commit durable (the disk refused an fsync)
] as const;

export type StationErrorCode = (typeof STATION_ERROR_CODES)[number];
export type AnyStationCode = StationErrorCode | ErrorCode;

export class StationError extends Error {
  override readonly name = 'StationError';
  readonly code: StationErrorCode;
  /** For `relay_refused`: the code the relay answered with (docs/relay-api.md). */
  readonly relayCode: string | undefined;
  /** HTTP status for relay answers, when there was one. */
  readonly status: number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: StationErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown>; relayCode?: string; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.relayCode = options?.relayCode;
    this.status = options?.status;
    this.details = options?.details;
  }
}

export function isStationError(e: unknown, code?: StationErrorCode): e is StationError {
  return e instanceof StationError && (code === undefined || e.code === code);
}

/** The stable code of any typed error, for reports and alerts; undefined for an untyped one (a bug). */
export function codeOf(e: unknown): AnyStationCode | undefined {
  if (isStationError(e) || isBackchannelError(e)) return e.code;
  return undefined;
}

/** `{ code, message }` for reports: typed errors keep their code; anything else is `internal`. */
export function describeFailure(e: unknown): { code: string; message: string } {
  if (isStationError(e)) return { code: e.relayCode ?? e.code, message: e.message };
  if (isBackchannelError(e)) return { code: e.code, message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}
