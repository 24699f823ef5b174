/**
 * Signed station requests (fetch, acknowledge, console API): the station's signature over
 * method, path (with query), body hash, time and nonce. The relay checks a short window and a
 * nonce cache, so a captured request cannot be replayed. Sent as the HTTP header
 * `Backchannel-Request: <base64url of the signed structure>`.
 */
import { BackchannelError } from '../errors.js';
import { equalBytes } from '../bytes.js';
import type { Ed25519Key } from '../ed25519.js';
import { sha256 } from '../hash.js';
import { LABELS } from '../labels.js';
import { systemRandom, type Random } from '../random.js';
import { MapReader } from '../schema.js';
import { openSigned, signStructure } from '../signed.js';
import { PARTY_ID_RE } from '../identity/ids.js';
import { checkFreshness, REQUEST_WINDOW_MS } from './freshness.js';

export const REQUEST_HEADER = 'backchannel-request';
const METHOD_RE = /^(?:GET|POST|PUT|DELETE|PATCH)$/;

export interface SignedRequest {
  party: string;
  method: string;
  path: string;
  bodyHash: Uint8Array;
  time: number;
  nonce: Uint8Array;
  station: Uint8Array;
}

export function signRequest(
  station: Ed25519Key,
  p: { party: string; method: string; path: string; body: Uint8Array; time: number; random?: Random },
): Uint8Array {
  return signStructure(station, LABELS.request, {
    v: 1,
    party: p.party,
    method: p.method,
    path: p.path,
    body: sha256(p.body),
    time: p.time,
    nonce: (p.random ?? systemRandom)(16),
  });
}

export function openRequest(bytes: Uint8Array): SignedRequest {
  const o = openSigned(bytes, LABELS.request, 'request_invalid', 4096);
  const r = new MapReader(o.body, 'request');
  const v = r.uint('v');
  const q: SignedRequest = {
    party: r.text('party', { pattern: PARTY_ID_RE }),
    method: r.text('method', { pattern: METHOD_RE }),
    path: r.text('path', { max: 2048 }),
    bodyHash: r.bytes('body', { len: 32 }),
    time: r.uint('time'),
    nonce: r.bytes('nonce', { len: 16 }),
    station: o.key,
  };
  if (v !== 1) r.problems.push('request.v must be 1');
  r.done('request_invalid');
  return q;
}

/** Checks that a signed request matches the HTTP request it came with and is fresh. The nonce cache is the caller's. */
export function checkRequest(q: SignedRequest, actual: { method: string; path: string; body: Uint8Array; now: number }): void {
  if (q.method !== actual.method || q.path !== actual.path) {
    throw new BackchannelError('request_invalid', `request was signed for ${q.method} ${q.path}, not ${actual.method} ${actual.path}`);
  }
  if (!equalBytes(q.bodyHash, sha256(actual.body))) throw new BackchannelError('request_invalid', 'request body does not match its signature');
  checkFreshness(q.time, actual.now, REQUEST_WINDOW_MS, 'request_stale', 'request');
}
