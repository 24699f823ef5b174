/**
 * Fuzzing the station endpoints in process (fast-check): arbitrary bytes, arbitrary CBOR of
 * the right shape, single-byte mutations of valid bodies, and arbitrary or mutated
 * Backchannel-Request headers. Every answer is a typed refusal (a known code, never a 500),
 * the relay keeps answering, and the log does not move. The long campaign runs with
 * BACKCHANNEL_LONG=1.
 */
import { ERROR_CODES, REQUEST_HEADER, encodeCbor, type CborValue } from '@backchannel/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_ERROR_CODES } from '../../src/errors.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { snapshot } from '../helpers/snapshot.js';
import { cbor, copyAck, makeWorld, seal, signedHeader, signedRequest, submitBody, token, type World } from '../helpers/world.js';

const RUNS = process.env.BACKCHANNEL_LONG === '1' ? 3000 : 150;
const KNOWN = new Set<string>([...ERROR_CODES, ...RELAY_ERROR_CODES]);
const ROUTES = ['/v1/submit', '/v1/fetch', '/v1/ack', '/v1/deliveries', '/v1/bundles'] as const;

const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.string({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('envelope', 'token', 'after', 'limit', 'acks', 'bundle', 'x'), tie('v'), { maxKeys: 4 }),
  ),
})).v;

describe('fuzzing the station endpoints', () => {
  let w: World;
  let r: InProcessRelay;
  let validSubmit: Buffer;
  let validAck: { headers: Record<string, string>; payload: Buffer };

  beforeAll(async () => {
    w = await makeWorld();
    r = await inProcessRelay(w, 'sqlite', { limits: { ipRequestsPerWindow: 1e9, stationRequestsPerWindow: 1e9 } });
    const env = await seal(w.us, w.ir);
    validSubmit = submitBody(env, token(w.us, w.relay.origin, env));
    validAck = signedRequest({ party: w.ir, path: '/v1/ack', body: { acks: [copyAck({ party: w.ir, origin: w.relay.origin, from: 'us', id: env.header.id, digest: env.digest })] } });
  });
  afterAll(async () => {
    await r.close();
  });

  async function expectTypedRefusal(route: string, payload: Buffer, headers: Record<string, string> = {}): Promise<void> {
    const res = await r.relay.app.inject({ method: 'POST', url: route, headers: { 'content-type': 'application/cbor', ...headers }, payload });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    const code = res.json<{ error: { code: string } }>().error.code;
    expect(KNOWN.has(code), code).toBe(true);
  }

  it('refuses arbitrary bytes and arbitrary CBOR with typed errors, and the log does not move', async () => {
    const before = await snapshot(r.raw);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.oneof(fc.uint8Array({ maxLength: 600 }), cborValue.map((v) => encodeCbor(v))), async (route, body) => {
        await expectTypedRefusal(route, Buffer.from(body));
      }),
      { numRuns: RUNS },
    );
    expect(await snapshot(r.raw)).toEqual(before);
  });

  it('refuses every single-byte change of a valid submission', async () => {
    const before = await snapshot(r.raw);
    await fc.assert(
      fc.asyncProperty(fc.nat(validSubmit.length - 1), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const m = Buffer.from(validSubmit);
        m[i] = m[i]! ^ x;
        await expectTypedRefusal('/v1/submit', m);
      }),
      { numRuns: RUNS },
    );
    expect(await snapshot(r.raw)).toEqual(before);
  });

  it('refuses arbitrary and mutated signed-request headers', async () => {
    const header = validAck.headers[REQUEST_HEADER]!;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64url')),
          fc.tuple(fc.nat(header.length - 1), fc.constantFrom(...'ABCDEFabcdef0123456789-_'.split(''))).map(([i, c]) => header.slice(0, i) + (header[i] === c ? 'Z' : c) + header.slice(i + 1)),
        ),
        fc.constantFrom('/v1/fetch', '/v1/ack', '/v1/deliveries'),
        async (h, route) => {
          const payload = route === '/v1/ack' ? validAck.payload : cbor({ after: 0, limit: 10 });
          await expectTypedRefusal(route, payload, { [REQUEST_HEADER]: h });
        },
      ),
      { numRuns: RUNS },
    );
    // A fresh valid header still works: nothing broke.
    const ok = signedHeader({ party: w.ir, method: 'POST', path: '/v1/fetch', body: cbor({ after: 0, limit: 1 }) });
    const res = await r.relay.app.inject({ method: 'POST', url: '/v1/fetch', headers: { 'content-type': 'application/cbor', [REQUEST_HEADER]: ok }, payload: cbor({ after: 0, limit: 1 }) });
    expect(res.statusCode).toBe(200);
    expect((await r.relay.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
