/**
 * Station requests (fetch, ack, deliveries, push) are signed over method, path with query,
 * body hash, time and nonce (protocol §5.2). The header is attacker-controlled: it is decoded
 * strictly, its signature verified before its body is parsed (openRequest), and the nonce is
 * consumed only once everything else about the request has been checked, so a refused
 * request changes nothing.
 */
import {
  BackchannelError,
  REQUEST_WINDOW_MS,
  checkRequest,
  concatBytes,
  findStation,
  fromBase64Url,
  isBackchannelError,
  openRequest,
} from '@backchannel/core';
import { RelayError } from '../errors.js';
import type { MandateParty } from '../mandate/mandate.js';
import type { RelayContext } from './context.js';

export interface VerifiedRequest {
  party: MandateParty;
  /** The desk: the station key that signed. */
  station: Uint8Array;
  nonceKey: Uint8Array;
  expires: number;
}

// A Signed request is under 4 KiB of CBOR (openRequest's limit); its base64url is 4/3 of that.
const MAX_HEADER_CHARS = 6000;

export async function verifyStationRequest(
  ctx: RelayContext,
  p: { header: unknown; method: string; path: string; body: Uint8Array },
): Promise<VerifiedRequest> {
  if (p.header === undefined) throw new RelayError('request_missing', 'this route needs a signed Backchannel-Request header');
  if (typeof p.header !== 'string' || p.header.length > MAX_HEADER_CHARS) throw new BackchannelError('request_invalid', 'the Backchannel-Request header is malformed');
  let q;
  try {
    q = openRequest(fromBase64Url(p.header));
  } catch (cause) {
    // A forged or mangled request header is one class of refusal for the client: 401.
    if (isBackchannelError(cause)) throw new BackchannelError('request_invalid', `the signed request is invalid: ${cause.message}`, { cause });
    throw cause;
  }
  const now = ctx.clock();
  checkRequest(q, { method: p.method, path: p.path, body: p.body, now });
  const party = await ctx.mandate.require(q.party);
  findStation(party.signed.bundle, q.station, now);
  ctx.stationLimiter.take(q.station);
  return { party, station: q.station, nonceKey: concatBytes(q.station, q.nonce), expires: q.time + REQUEST_WINDOW_MS + 1 };
}

/** Records the nonce; a second use within the window is a replay (401 replayed_request). */
export async function consumeNonce(ctx: RelayContext, v: VerifiedRequest): Promise<void> {
  if (!(await ctx.store.useNonce(v.nonceKey, v.expires))) throw new RelayError('replayed_request', 'this signed request was already used');
}
