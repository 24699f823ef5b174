/**
 * Every class of bad input gets its clear, typed error and changes nothing (PRODUCT.md, threat
 * model): oversized and malformed bodies, wrong signatures, unknown and revoked stations,
 * parties outside the mandate, stale tokens and requests, replays, unknown routes, floods,
 * slow clients. After each refusal the store's tables and the log head are as they were.
 */
import { connect } from 'node:net';
import {
  Ed25519Key,
  REQUEST_HEADER,
  createParty,
  encodeCbor,
  parsePartyCard,
  partyCardJson,
  sha256,
  signBundle,
  toBase64Url,
  type SealedEnvelope,
} from '@backchannel/core';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addParty } from '../../src/mandate/mandate.js';
import { backends } from '../helpers/databases.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { snapshot } from '../helpers/snapshot.js';
import { cbor, copyAck, makeWorld, seal, signedHeader, signedRequest, submitBody, token, type Party, type World } from '../helpers/world.js';

describe.each(backends())('bad input on %s', (backend) => {
  let w: World;
  let r: InProcessRelay;
  let qa: Party;

  beforeAll(async () => {
    w = await makeWorld();
    r = await inProcessRelay(w, backend, { limits: { stationRequestsPerWindow: 1000 } });
    // A third party that may talk with us only.
    const keys = await createParty({ id: 'qa', name: 'Qatar', now: Date.now() - 1000 });
    qa = { id: 'qa', keys, card: parsePartyCard(partyCardJson(keys.bundle)) };
    await addParty(r.store, qa.card, { allow: ['us'] }, Date.now());
    await r.relay.ctx.mandate.load();
  });
  afterAll(async () => {
    await r.close();
  });

  const inject = (o: InjectOptions) => r.relay.app.inject(o);
  const submit = (payload: Buffer | string, contentType = 'application/cbor') => inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': contentType }, payload });

  /** Runs the request, expects the status and code, and that nothing in the store changed. */
  async function refused(status: number, code: string, run: () => Promise<LightMyRequestResponse>): Promise<void> {
    const before = await snapshot(r.raw);
    const res = await run();
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toContain('application/json');
    const body = res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(await snapshot(r.raw)).toEqual(before);
  }

  let good: SealedEnvelope;
  beforeAll(async () => {
    good = await seal(w.us, w.ir);
  });

  it('oversized bodies: 413', async () => {
    await refused(413, 'too_large', () => submit(Buffer.alloc(r.relay.ctx.limits.submitBodyBytes + 1)));
    const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 1 } });
    await refused(413, 'payload_too_large', () => inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: Buffer.alloc(r.relay.ctx.limits.bodyBytes + 1) }));
  });

  it('malformed, non-canonical and mistyped CBOR, and other media types', async () => {
    await refused(400, 'cbor_malformed', () => submit(Buffer.from([0xa2, 0x61])));
    await refused(400, 'cbor_malformed', () => submit(Buffer.from([0xf9, 0x3e, 0x00]))); // a float (1.5)
    // A map with keys out of canonical order.
    await refused(400, 'cbor_non_canonical', () => submit(Buffer.from([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02])));
    await refused(400, 'schema_invalid', () => submit(cbor({ envelope: good.bytes })));
    await refused(400, 'schema_invalid', () => submit(cbor({ envelope: good.bytes, token: new Uint8Array(3), extra: 1 })));
    await refused(400, 'schema_invalid', () => submit(cbor({ envelope: 'text', token: new Uint8Array(3) })));
    await refused(415, 'unsupported_media_type', () => submit(JSON.stringify({ envelope: 'x', token: 'y' }), 'application/json'));
    await refused(400, 'envelope_invalid', () => submit(cbor({ envelope: new Uint8Array(100), token: new Uint8Array(10) })));
    await refused(400, 'cbor_malformed', () => submit(Buffer.alloc(0)));
  });

  it('wrong signatures and tokens', async () => {
    // One changed byte in the ciphertext: the token, over the original bytes, no longer matches.
    const flipped = Uint8Array.from(good.bytes);
    flipped[flipped.length - 100]! ^= 1;
    await refused(400, 'token_invalid', () => submit(submitBody(flipped, token(w.us, w.relay.origin, good))));
    // Tokens: another envelope's, another relay's, another station's, garbage, stale.
    const other = await seal(w.us, w.ir);
    await refused(400, 'token_invalid', () => submit(submitBody(good, token(w.us, w.relay.origin, other))));
    await refused(400, 'token_invalid', () => submit(submitBody(good, token(w.us, 'elsewhere.example/om/00000000', good))));
    await refused(400, 'token_invalid', () => submit(submitBody(good, token(w.us, w.relay.origin, good, { station: Ed25519Key.generate() }))));
    await refused(400, 'token_invalid', () => submit(submitBody(good, new Uint8Array(encodeCbor({ b: new Uint8Array(3), k: new Uint8Array(32), s: new Uint8Array(64) })))));
    await refused(400, 'token_stale', () => submit(submitBody(good, token(w.us, w.relay.origin, good, { time: Date.now() - 25 * 3_600_000 }))));
  });

  it('a broken envelope signature under a valid token is the station\'s own word: taken, unless the operator checks it too', async () => {
    // The station signed these exact bytes' digest in the token, so a recipient blames the
    // sender for them (station receive-copy.ts); the relay needs only the token's check.
    const broken = await seal(w.us, w.ir);
    const bytes = Uint8Array.from(broken.bytes);
    bytes[bytes.length - 100]! ^= 1;
    const altered = { ...broken, bytes, digest: sha256(bytes) };
    const strict = await inProcessRelay(w, backend, { verifyEnvelopeSignature: true });
    try {
      const before = await snapshot(strict.raw);
      const res = await strict.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(altered, token(w.us, w.relay.origin, altered)) });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('signature_invalid');
      expect(await snapshot(strict.raw)).toEqual(before);
      // The strict relay takes a good envelope as ever.
      const ok = await strict.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(good, token(w.us, w.relay.origin, good)) });
      expect(ok.statusCode, ok.body).toBe(200);
    } finally {
      await strict.close();
    }
    const res = await submit(submitBody(altered, token(w.us, w.relay.origin, altered)));
    expect(res.statusCode, res.body).toBe(200);
  });

  it('parties outside the mandate, pairs not allowed, unknown and revoked stations, stale bundles', async () => {
    // A party the relay does not serve.
    const xx = await createParty({ id: 'xx', name: 'Nobody', now: Date.now() - 1000 });
    const xxParty: Party = { id: 'xx', keys: xx, card: parsePartyCard(partyCardJson(xx.bundle)) };
    const toXx = await seal(w.us, xxParty);
    await refused(403, 'not_in_mandate', () => submit(submitBody(toXx, token(w.us, w.relay.origin, toXx))));
    // qa may talk with us only.
    const irToQa = await seal(w.ir, qa);
    await refused(403, 'pair_not_allowed', () => submit(submitBody(irToQa, token(w.ir, w.relay.origin, irToQa))));
    // An impostor "us" (another root): its station is not in the bundle the relay holds.
    const fake = await createParty({ id: 'us', name: 'United States', now: Date.now() - 1000 });
    const fakeUs: Party = { id: 'us', keys: fake, card: parsePartyCard(partyCardJson(fake.bundle)) };
    const forged = await seal(fakeUs, w.ir);
    await refused(403, 'key_unknown', () => submit(submitBody(forged, token(fakeUs, w.relay.origin, forged))));
    // ... nor can it replace the pinned bundle.
    await refused(403, 'root_mismatch', () => inject({ method: 'POST', url: '/v1/bundles', headers: { 'content-type': 'application/cbor' }, payload: cbor({ bundle: fake.bundle.bytes }) }));

    // A bundle 2 the relay has not seen yet: envelopes made under it are bundle_stale until it is posted.
    const b1 = w.ir.keys.bundle;
    const b2 = signBundle(w.ir.keys.root, { ...b1.bundle, seq: 2, issued: Date.now(), prev: b1.hash });
    const irB2 = { ...w.ir, keys: { ...w.ir.keys, bundle: b2 } };
    const underB2 = await seal(irB2, w.us);
    await refused(409, 'bundle_stale', () => submit(submitBody(underB2, token(w.ir, w.relay.origin, underB2))));
    const postBundle = (bytes: Uint8Array) => inject({ method: 'POST', url: '/v1/bundles', headers: { 'content-type': 'application/cbor' }, payload: cbor({ bundle: bytes }) });
    // The bundle held, again: accepted, nothing changes. Bundle 2: accepted. Bundle 1 after it: stale.
    expect((await postBundle(b1.bytes)).statusCode).toBe(200);
    expect((await postBundle(b2.bytes)).statusCode).toBe(200);
    await refused(409, 'bundle_stale', () => postBundle(b1.bytes));
    expect((await submit(submitBody(underB2, token(w.ir, w.relay.origin, underB2)))).statusCode).toBe(200);

    // Bundle 3 revokes ir's station: its envelopes and requests are refused from then on.
    const station = w.ir.keys.station.key.publicKey;
    const b3 = signBundle(w.ir.keys.root, { ...b2.bundle, seq: 3, issued: Date.now(), prev: b2.hash, revoked: [{ pub: station, compromisedSince: Date.now() - 1000, reason: 'desk compromised' }] });
    expect((await postBundle(b3.bytes)).statusCode).toBe(200);
    const afterRevocation = await seal(irB2, w.us);
    await refused(403, 'key_revoked', () => submit(submitBody(afterRevocation, token(w.ir, w.relay.origin, afterRevocation))));
    const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 1 } });
    await refused(403, 'key_revoked', () => inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload }));
  });

  it('signed requests: missing, forged, for another route, stale, replayed', async () => {
    const body = cbor({ after: 0, limit: 10 });
    await refused(401, 'request_missing', () => inject({ method: 'POST', url: '/v1/fetch', headers: { 'content-type': 'application/cbor' }, payload: body }));
    await refused(401, 'request_invalid', () => inject({ method: 'POST', url: '/v1/fetch', headers: { 'content-type': 'application/cbor', [REQUEST_HEADER]: 'not base64!' }, payload: body }));
    await refused(401, 'request_invalid', () => inject({ method: 'POST', url: '/v1/fetch', headers: { 'content-type': 'application/cbor', [REQUEST_HEADER]: toBase64Url(new Uint8Array(40)) }, payload: body }));
    const forOther = signedHeader({ party: w.us, method: 'POST', path: '/v1/deliveries', body });
    await refused(401, 'request_invalid', () => inject({ method: 'POST', url: '/v1/fetch', headers: { 'content-type': 'application/cbor', [REQUEST_HEADER]: forOther }, payload: body }));
    const otherBody = signedHeader({ party: w.us, method: 'POST', path: '/v1/fetch', body: cbor({ after: 1, limit: 10 }) });
    await refused(401, 'request_invalid', () => inject({ method: 'POST', url: '/v1/fetch', headers: { 'content-type': 'application/cbor', [REQUEST_HEADER]: otherBody }, payload: body }));
    const stale = signedHeader({ party: w.us, method: 'POST', path: '/v1/fetch', body, time: Date.now() - 6 * 60_000 });
    await refused(401, 'request_stale', () => inject({ method: 'POST', url: '/v1/fetch', headers: { 'content-type': 'application/cbor', [REQUEST_HEADER]: stale }, payload: body }));
    const stranger = signedHeader({ party: w.us, station: Ed25519Key.generate(), method: 'POST', path: '/v1/fetch', body });
    await refused(403, 'key_unknown', () => inject({ method: 'POST', url: '/v1/fetch', headers: { 'content-type': 'application/cbor', [REQUEST_HEADER]: stranger }, payload: body }));
    const ok = signedRequest({ party: w.us, path: '/v1/fetch', body: { after: 0, limit: 10 } });
    expect((await inject({ method: 'POST', url: '/v1/fetch', headers: ok.headers, payload: ok.payload })).statusCode).toBe(200);
    await refused(401, 'replayed_request', () => inject({ method: 'POST', url: '/v1/fetch', headers: ok.headers, payload: ok.payload }));
    // A bad body is refused before the nonce is spent: the same signed header still works after.
    const limitZero = signedRequest({ party: w.us, path: '/v1/fetch', body: { after: 0, limit: 0 } });
    await refused(400, 'schema_invalid', () => inject({ method: 'POST', url: '/v1/fetch', headers: limitZero.headers, payload: limitZero.payload }));
  });

  it('acknowledgements of copies never handed over, or signed by another desk', async () => {
    const env = await seal(w.us, w.ir);
    expect((await submit(submitBody(env, token(w.us, w.relay.origin, env)))).statusCode).toBe(200);
    const never = copyAck({ party: w.us, origin: w.relay.origin, from: 'us', id: env.header.id, digest: env.digest });
    const req = signedRequest({ party: w.us, path: '/v1/ack', body: { acks: [never] } });
    await refused(404, 'not_found', () => inject({ method: 'POST', url: '/v1/ack', headers: req.headers, payload: req.payload }));
    const byOther = copyAck({ party: w.us, station: Ed25519Key.generate(), origin: w.relay.origin, from: 'us', id: env.header.id, digest: env.digest });
    const req2 = signedRequest({ party: w.us, path: '/v1/ack', body: { acks: [byOther] } });
    await refused(400, 'signature_invalid', () => inject({ method: 'POST', url: '/v1/ack', headers: req2.headers, payload: req2.payload }));
    const req3 = signedRequest({ party: w.us, path: '/v1/ack', body: { acks: [new Uint8Array([1, 2, 3])] } });
    await refused(400, 'cbor_malformed', () => inject({ method: 'POST', url: '/v1/ack', headers: req3.headers, payload: req3.payload }));
    // Several at once go to the verification pool; the first bad one, in order, is the answer.
    const broken = Uint8Array.from(never);
    broken[broken.length - 1] = broken[broken.length - 1]! ^ 1; // the last byte of the signature
    const refusedAt = async (acks: Uint8Array[], code: string, index: number): Promise<void> => {
      const q = signedRequest({ party: w.us, path: '/v1/ack', body: { acks } });
      await refused(400, code, () => inject({ method: 'POST', url: '/v1/ack', headers: q.headers, payload: q.payload }));
      const again = signedRequest({ party: w.us, path: '/v1/ack', body: { acks } });
      const res = await inject({ method: 'POST', url: '/v1/ack', headers: again.headers, payload: again.payload });
      expect(res.json<{ error: { message: string } }>().error.message).toMatch(new RegExp(`^acknowledgement ${index}: `));
    };
    await refusedAt([never, never, broken, never], 'signature_invalid', 2);
    await refusedAt([never, broken, new Uint8Array([1, 2, 3])], 'signature_invalid', 1);
    await refusedAt([never, new Uint8Array([1, 2, 3]), broken], 'cbor_malformed', 1);
  });

  it('unknown routes and methods: 404 JSON; bad log queries: 400', async () => {
    await refused(404, 'not_found', () => inject({ method: 'GET', url: '/v2/nothing' }));
    await refused(404, 'not_found', () => inject({ method: 'DELETE', url: '/v1/submit' }));
    await refused(426, 'upgrade_required', () => inject({ method: 'GET', url: '/v1/push' }));
    await refused(400, 'bad_request', () => inject({ method: 'GET', url: '/v1/log/entries?start=-1&end=2' }));
    await refused(400, 'bad_request', () => inject({ method: 'GET', url: '/v1/log/entries?start=0&end=2&start=1' }));
    await refused(400, 'bad_request', () => inject({ method: 'GET', url: '/v1/log/proof/inclusion?leaf_index=1e3&tree_size=2' }));
    await refused(400, 'tile_invalid', () => inject({ method: 'GET', url: '/tile/0/x000/001' }));
    await refused(400, 'bad_request', () => inject({ method: 'GET', url: '/v1/bundles/NOT_A_PARTY' }));
  });
});

describe('floods and slow clients', () => {
  let w: World;
  let r: InProcessRelay;

  beforeAll(async () => {
    w = await makeWorld();
    r = await inProcessRelay(w, 'sqlite', { limits: { ipRequestsPerWindow: 40, stationRequestsPerWindow: 3, requestTimeoutMs: 600 } });
  });
  afterAll(async () => {
    await r.close();
  });

  it('per station: the fourth submission in the window is 429, and nothing is logged for it', async () => {
    const envs = await Promise.all([1, 2, 3, 4].map(() => seal(w.us, w.ir)));
    const codes = [];
    for (const e of envs) codes.push((await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(e, token(w.us, w.relay.origin, e)) })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    expect(r.relay.ctx.log.size).toBe(3);
  });

  it('a client that never finishes its request is cut off', async () => {
    await r.relay.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (r.relay.app.server.address() as { port: number }).port;
    const t0 = Date.now();
    const closed = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write('POST /v1/submit HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\nContent-Length: 1000\r\n\r\nabc');
      });
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => { resolve(got); });
      s.on('error', () => { resolve(got); });
    });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(closed === '' || closed.startsWith('HTTP/1.1 408'), closed).toBe(true);
  });
  it('per address: a flood gets 429 rate_limited, and the relay stays up', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, () => r.relay.app.inject({ method: 'GET', url: '/healthz' })));
    const limited = results.filter((x) => x.statusCode === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(limited[0]!.headers['retry-after']).toBeDefined();
  });

});
