/**
 * The relay as a request→response handler (app.inject), on SQLite and PostgreSQL: submit,
 * dedupe, equivocation, fetch with per-desk cursors (FLASH first), acknowledge, delivery
 * records for the sender, bundles, and the log API — every receipt checked with the core's
 * verifier, as a station would.
 */
import {
  commitLeaf,
  decodeOpening,
  equalBytes,
  fromBase64,
  hashLeaf,
  openCheckpoint,
  openDeliveryRecord,
  parseEnvelope,
  parseTlogProof,
  parseVkey,
  sha256,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
  type CborMap,
} from '@backchannel/core';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/databases.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { copyAck, decode, makeWorld, otherDesks, seal, signedRequest, submitBody, token, type World } from '../helpers/world.js';

describe.each(backends())('relay app on %s', (backend) => {
  let w: World;
  let r: InProcessRelay;
  const vkey = () => parseVkey(w.relay.card.vkey);

  beforeAll(async () => {
    w = await makeWorld({ stations: 2 });
    r = await inProcessRelay(w, backend);
  });
  afterAll(async () => {
    await r.close();
  });

  const inject = (o: InjectOptions) => r.relay.app.inject(o);

  async function submit(env: Awaited<ReturnType<typeof seal>>, tok = token(w.us, w.relay.origin, env)) {
    return inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(env, tok) });
  }

  it('accepts a submission and answers with a receipt that verifies offline', async () => {
    const env = await seal(w.us, w.ir, { precedence: 'FLASH' });
    const tok = token(w.us, w.relay.origin, env);
    const res = await submit(env, tok);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('application/cbor');
    const body = decode(res.rawPayload);
    expect(body.duplicate).toBe(false);
    const v = verifyReceipt(body.receipt as string, vkey(), { type: 'submit', digest: env.digest, ref: sha256(tok) });
    expect(v.index).toBe(body.index);
    // The same bytes again: the original receipt.
    const again = decode((await submit(env)).rawPayload);
    expect(again).toEqual({ ...body, duplicate: true });
  });

  it('keeps both copies of an equivocation and answers 409', async () => {
    const first = await seal(w.us, w.ir, { body: 'first version' });
    const second = await seal(w.us, w.ir, { body: 'second version', id: first.header.id });
    expect((await submit(first)).statusCode).toBe(200);
    const res = await submit(second);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: { code: 'equivocation' } });
    const kept = await r.store.listEquivocations({ from: 'us', id: first.header.id });
    expect(kept.map((k) => k.digest)).toEqual([second.digest]);
    const held = await r.store.findKnown([{ from: 'us', id: first.header.id }]);
    expect(held[0]?.digest).toEqual(first.digest);
  });

  it('delivers by pull, FLASH first, with a per-desk cursor; acks become logged delivery records', async () => {
    const routine = await seal(w.us, w.ir, { precedence: 'ROUTINE' });
    const flash = await seal(w.us, w.ir, { precedence: 'FLASH' });
    expect((await submit(routine)).statusCode).toBe(200);
    expect((await submit(flash)).statusCode).toBe(200);

    // ir's first desk: everything pending, FLASH first.
    const page = async (after: number, limit = 500) => {
      const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after, limit } });
      const res = await inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload });
      expect(res.statusCode, res.body).toBe(200);
      return decode(res.rawPayload) as { items: CborMap[]; next: number; more: boolean };
    };
    const p1 = await page(0, 1);
    expect(p1.items).toHaveLength(1);
    expect(p1.more).toBe(true);
    const firstEnv = p1.items[0]!.envelope as Uint8Array;
    expect(parseEnvelope(firstEnv).header.precedence).toBe('FLASH');
    // Not confirmed yet: asking again from 0 hands the same item again, under the same seq.
    const p1again = await page(0, 1);
    expect(p1again.items[0]!.seq).toBe(p1.items[0]!.seq);
    const rest = await page(p1.next);
    const all = [...p1.items, ...rest.items];
    expect(rest.more).toBe(false);
    const digests = all.map((it) => sha256(it.envelope as Uint8Array));
    expect(digests.some((d) => equalBytes(d, flash.digest))).toBe(true);
    expect(digests.some((d) => equalBytes(d, routine.digest))).toBe(true);
    // FLASH before ROUTINE among what was pending.
    const fi = digests.findIndex((d) => equalBytes(d, flash.digest));
    const ri = digests.findIndex((d) => equalBytes(d, routine.digest));
    expect(fi).toBeLessThan(ri);
    // Every item travels with its token and receipt.
    for (const it of all) {
      const d = sha256(it.envelope as Uint8Array);
      verifyReceipt(it.receipt as string, vkey(), { type: 'submit', digest: d, ref: sha256(it.token as Uint8Array) });
    }
    // Cursor past everything: nothing more.
    expect((await page(rest.next)).items).toHaveLength(0);

    // Acknowledge the FLASH copy.
    const ack = copyAck({ party: w.ir, origin: w.relay.origin, from: 'us', id: flash.header.id, digest: flash.digest });
    const areq = signedRequest({ party: w.ir, path: '/v1/ack', body: { acks: [ack] } });
    const ares = await inject({ method: 'POST', url: '/v1/ack', headers: areq.headers, payload: areq.payload });
    expect(ares.statusCode, ares.body).toBe(200);
    const rec = (decode(ares.rawPayload).records as CborMap[])[0]!;
    const dr = openDeliveryRecord(rec.record as Uint8Array, w.relay.logKey.publicKey);
    expect(dr.digest).toEqual(flash.digest);
    expect(dr.desk).toEqual(w.ir.keys.station.key.publicKey);
    verifyReceipt(rec.receipt as string, vkey(), { type: 'delivery', digest: flash.digest, ref: sha256(rec.record as Uint8Array) });

    // The sender fetches it, from any of its desks.
    const dreq = signedRequest({ party: w.us, station: otherDesks(w.us)[0]!, path: '/v1/deliveries', body: { after: 0, limit: 100 } });
    const dres = await inject({ method: 'POST', url: '/v1/deliveries', headers: dreq.headers, payload: dreq.payload });
    expect(dres.statusCode, dres.body).toBe(200);
    const ditems = decode(dres.rawPayload).items as CborMap[];
    expect(ditems.some((d) => equalBytes(d.record as Uint8Array, rec.record as Uint8Array))).toBe(true);

    // The sender's other desk receives the note its colleague sent; the sending desk does not.
    const sreq = signedRequest({ party: w.us, station: otherDesks(w.us)[0]!, path: '/v1/fetch', body: { after: 0, limit: 500 } });
    const sres = decode((await inject({ method: 'POST', url: '/v1/fetch', headers: sreq.headers, payload: sreq.payload })).rawPayload);
    expect((sres.items as CborMap[]).some((it) => equalBytes(sha256(it.envelope as Uint8Array), flash.digest))).toBe(true);
    const oreq = signedRequest({ party: w.us, path: '/v1/fetch', body: { after: 0, limit: 500 } });
    const ores = decode((await inject({ method: 'POST', url: '/v1/fetch', headers: oreq.headers, payload: oreq.payload })).rawPayload);
    expect((ores.items as CborMap[]).some((it) => equalBytes(sha256(it.envelope as Uint8Array), flash.digest))).toBe(false);
  });

  it('refuses a replayed signed request', async () => {
    const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 1 } });
    expect((await inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload })).statusCode).toBe(200);
    const again = await inject({ method: 'POST', url: '/v1/fetch', headers: req.headers, payload: req.payload });
    expect(again.statusCode).toBe(401);
    expect(again.json()).toMatchObject({ error: { code: 'replayed_request' } });
  });

  it('serves the log API: checkpoint, inclusion, consistency, entries, tiles', async () => {
    const cpRes = await inject({ method: 'GET', url: '/checkpoint' });
    expect(cpRes.headers['content-type']).toContain('text/plain');
    const { checkpoint } = openCheckpoint(cpRes.body, vkey());
    expect(checkpoint.size).toBeGreaterThan(3);
    const entries = (await inject({ method: 'GET', url: `/v1/log/entries?start=0&end=${checkpoint.size}` })).json<{ entries: string[] }>().entries;
    expect(entries).toHaveLength(checkpoint.size);
    for (let i = 0; i < checkpoint.size; i++) {
      const p = (await inject({ method: 'GET', url: `/v1/log/proof/inclusion?leaf_index=${i}&tree_size=${checkpoint.size}` })).json<{ inclusion_path: string[] }>();
      verifyInclusion(hashLeaf(fromBase64(entries[i]!)), i, checkpoint.size, p.inclusion_path.map(fromBase64), checkpoint.rootHash);
    }
    // Consistency with an earlier receipt's checkpoint.
    const env = await seal(w.us, w.ir);
    const res = decode((await submit(env)).rawPayload);
    const older = openCheckpoint(parseTlogProof(res.receipt as string).checkpoint, vkey()).checkpoint;
    const opening = decodeOpening(parseTlogProof(res.receipt as string).extra!);
    expect(fromBase64((await inject({ method: 'GET', url: `/v1/log/entries?start=${res.index as number}&end=${(res.index as number) + 1}` })).json<{ entries: string[] }>().entries[0]!)).toEqual(commitLeaf(opening));
    const c = (await inject({ method: 'GET', url: `/v1/log/proof/consistency?first=${checkpoint.size}&second=${older.size}` })).json<{ consistency_path: string[] }>();
    verifyConsistency(checkpoint.size, older.size, c.consistency_path.map(fromBase64), checkpoint.rootHash, older.rootHash);
    // Errors of the log API.
    expect((await inject({ method: 'GET', url: `/v1/log/proof/inclusion?leaf_index=${older.size}&tree_size=${older.size}` })).json()).toMatchObject({ error: { code: 'not_integrated' } });
    const beyond = await inject({ method: 'GET', url: `/v1/log/proof/consistency?first=1&second=${older.size + 1}` });
    expect(beyond.statusCode).toBe(400);
    expect(beyond.json()).toMatchObject({ error: { code: 'beyond_head' } });
    const bad = await inject({ method: 'GET', url: '/v1/log/entries?start=01&end=2' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'bad_request' } });
    // A partial entry tile.
    const tile = await inject({ method: 'GET', url: `/tile/entries/000.p/${older.size}` });
    expect(tile.statusCode).toBe(200);
    expect(tile.rawPayload.length).toBe(older.size * 34);
    expect((await inject({ method: 'GET', url: '/tile/entries/001' })).statusCode).toBe(404);
  });

  it('takes a newer bundle and serves the newest one', async () => {
    const got = await inject({ method: 'GET', url: '/v1/bundles/us' });
    expect(got.statusCode).toBe(200);
    expect(decode(got.rawPayload).bundle).toEqual(w.us.keys.bundle.bytes);
    const same = await inject({ method: 'POST', url: '/v1/bundles', headers: { 'content-type': 'application/cbor' }, payload: Buffer.from(got.rawPayload) });
    expect(same.statusCode).toBe(200);
    expect(decode(same.rawPayload)).toEqual({ party: 'us', seq: w.us.keys.bundle.bundle.seq });
    expect((await inject({ method: 'GET', url: '/v1/bundles/zz' })).json()).toMatchObject({ error: { code: 'unknown_party' } });
  });

  it('serves its card, health, readiness, metrics and a complete OpenAPI document', async () => {
    expect((await inject({ method: 'GET', url: '/card' })).json()).toEqual(w.relay.card);
    expect((await inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready' });
    const m = (await inject({ method: 'GET', url: '/metrics' })).body;
    expect(m).toContain('backchannel_relay_envelopes_accepted_total');
    expect(m).toContain('backchannel_relay_rejected_total{reason="equivocation"}');
    expect(m).toMatch(/backchannel_relay_log_size \d+/);
    const doc = (await inject({ method: 'GET', url: '/openapi.json' })).json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toBe('3.1.0');
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m2) => `${m2.toUpperCase()} ${p}`)));
    // Every route Fastify serves is in the document, and nothing else.
    const served = r.relay.registered.map((x) => x.replace(/:([a-z_]+)/g, '{$1}').replace('*', '{path}'));
    expect(new Set(served)).toEqual(documented);
    expect(documented.size).toBe(18); // + GET /v1/statement (the witness route is added only on a relay configured as a witness)
  });
});
