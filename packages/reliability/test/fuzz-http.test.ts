/**
 * Fuzzing every relay route in process (app.inject), as a complement to the relay's own
 * station-endpoint fuzz test (packages/relay/test/app/fuzz.test.ts, which covers bodies and
 * signed headers of the POST routes): here every route of the API catalog — log API, tiles,
 * operations, push, statements, bundles — with arbitrary path parameters, query strings,
 * content types, headers and bodies. No answer is a 5xx, every refusal is JSON with a known
 * code, and the relay keeps answering and its log does not move.
 */
import { REQUEST_HEADER } from '@backchannel/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessRelay, type InProcessRelay } from '../../relay/test/helpers/in-process.js';
import { snapshot } from '../../relay/test/helpers/snapshot.js';
import { makeWorld, seal, submitBody, token, type World } from '../../relay/test/helpers/world.js';
import { KNOWN_HTTP_CODES } from '../src/fuzz/typed.js';

const RUNS = process.env.BACKCHANNEL_LONG === '1' ? 20_000 : 1000;

const segment = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9._~-]{0,12}$/),
  fc.constantFrom('', '..', '.', '%00', '%2F', '%ff', 'x'.repeat(300), '-1', '0', '00', '1e3', '9007199254740993', 'NaN'),
  fc.integer({ min: -5, max: 2 ** 40 }).map(String),
);
const queryValue = fc.oneof(segment, fc.string({ maxLength: 30 }).map((s) => encodeURIComponent(s)));
const queryKey = fc.constantFrom('index', 'size', 'old', 'new', 'from', 'to', 'start', 'end', 'count', 'after', 'limit', 'since', 'until', 'party', 'x', 'index[]');
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((kv) => (kv.length === 0 ? '' : `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}`));
const contentType = fc.constantFrom('application/cbor', 'application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/cbor; charset=utf-8', '', 'application/x-www-form-urlencoded');
const body = fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)), fc.json().map((j) => Buffer.from(j)));
const headerValue = fc.oneof(fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s)), fc.constantFrom('', 'A'.repeat(8000), 'Bearer x', '0', '-1'));
const extraHeaders = fc.dictionary(fc.constantFrom(REQUEST_HEADER.toLowerCase(), 'accept', 'accept-encoding', 'if-none-match', 'range', 'x-forwarded-for', 'origin', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version'), headerValue, { maxKeys: 4 });

/** The route patterns of the catalog, with their parameters filled by the fuzzer. */
function path(pattern: string, params: string[]): string {
  let i = 0;
  return pattern
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) return params[i++ % params.length] ?? '';
      if (seg === '*') return params.slice(0, 1 + (i++ % 4)).join('/');
      return seg;
    })
    .join('/');
}

describe('fuzzing every relay route in process', () => {
  let r: InProcessRelay;
  let w: World;
  let routes: { method: 'GET' | 'POST'; url: string }[];

  beforeAll(async () => {
    w = await makeWorld();
    r = await inProcessRelay(w, 'sqlite', { limits: { ipRequestsPerWindow: 1e9, stationRequestsPerWindow: 1e9 } });
    // A log that is not empty, so log and tile routes have something to serve or refuse.
    for (let i = 0; i < 3; i++) {
      const env = await seal(w.us, w.ir);
      const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(env, token(w.us, w.relay.origin, env)) });
      expect(res.statusCode).toBe(200);
    }
    routes = r.relay.catalog.routes.map((s) => ({ method: s.method, url: s.url }));
  }, 60_000);

  afterAll(async () => {
    await r.close();
  });

  it('the catalog names every route family', () => {
    const urls = routes.map((x) => x.url);
    for (const u of ['/checkpoint', '/tile/*', '/v1/log/entries', '/v1/submit', '/v1/fetch', '/v1/statement', '/v1/bundles/:party', '/healthz']) expect(urls).toContain(u);
  });

  it('regression: a path Fastify cannot decode is a typed bad_request (found by this fuzzer)', async () => {
    for (const url of ['/v1/bundles/%ff', '/tile/%ff', '/checkpoint%ff', '/v1/fetch%c3']) {
      const res = await r.relay.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('bad_request');
    }
  });

  it('no route answers a 5xx to anything, and every refusal is typed', async () => {
    const before = await snapshot(r.raw);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        query,
        fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE'),
        contentType,
        body,
        extraHeaders,
        async (ri, params, q, methodOverride, ct, payload, headers) => {
          const route = routes[ri % routes.length]!;
          // Mostly the route's own method; sometimes another, which must be a typed 404/405.
          const method = ri % 5 === 0 ? methodOverride : route.method;
          const url = path(route.url, params) + q;
          const res = await r.relay.app.inject({
            method: method as 'GET',
            url,
            headers: { ...(ct === '' ? {} : { 'content-type': ct }), ...headers },
            ...(payload === undefined || method === 'GET' || method === 'HEAD' ? {} : { payload }),
          });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          expect(res.statusCode, `${method} ${url}`).toBeLessThan(500);
          if (res.statusCode >= 400 && method !== 'HEAD') {
            const code = (JSON.parse(res.body) as { error?: { code?: string } }).error?.code ?? '(none)';
            expect(KNOWN_HTTP_CODES.has(code), `${method} ${url}: code ${code}`).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
    // The fuzzer reached both answers and refusals, not only one kind.
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    expect(await snapshot(r.raw)).toEqual(before);
    expect((await r.relay.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  }, process.env.BACKCHANNEL_LONG === '1' ? 1_800_000 : 120_000);
});
