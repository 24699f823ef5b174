/**
 * What a fuzzer counts as a correct refusal: an error of one of our typed classes, carrying a
 * code from its closed list. Anything else thrown from a parser (a TypeError, a RangeError, a
 * bare Error, a string) is a crash: the parser let attacker-controlled bytes reach code that
 * did not expect them.
 */
import { BackchannelError, ERROR_CODES } from '@backchannel/core';
import { RELAY_ERROR_CODES, RelayError } from '@backchannel/relay';
import { STATION_ERROR_CODES, StationError } from '@backchannel/station';

const CORE = new Set<string>(ERROR_CODES);
const RELAY = new Set<string>([...ERROR_CODES, ...RELAY_ERROR_CODES]);
const STATION = new Set<string>([...ERROR_CODES, ...STATION_ERROR_CODES]);

/** Every code a client can see in a relay's error answer. */
export const KNOWN_HTTP_CODES: ReadonlySet<string> = RELAY;

export function isTypedRejection(e: unknown): boolean {
  if (e instanceof BackchannelError) return CORE.has(e.code);
  if (e instanceof RelayError) return RELAY.has(e.code);
  if (e instanceof StationError) return STATION.has(e.code);
  return false;
}

/** One line naming what was thrown, for a crash report. */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `non-error thrown: ${String(e)}`;
}
