/**
 * The signed receiving routes (docs/relay-api.md, "Receiving"): fetch with a per-desk cursor,
 * acknowledge copies (answered with relay-signed, logged delivery records), and the sender's
 * view of those records. Each route verifies the signed request, then its body, and only then
 * consumes the request's nonce and acts.
 */
import {
  BackchannelError,
  LABELS,
  REQUEST_HEADER,
  equalBytes,
  isBackchannelError,
  openVerifiedCopyAck,
  readCopyAckWrapper,
  signatureInvalid,
  toHex,
  type CopyAck,
  type SignedWrapper,
} from '@backchannel/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RelayError } from '../../errors.js';
import type { ApiCatalog } from '../api-catalog.js';
import { CBOR, sendCbor } from '../cbor-body.js';
import type { RelayContext } from '../context.js';
import { deliveryItem, fetchItem } from '../items.js';
import { addRoute } from '../route.js';
import { AckBody, AckResponse, DeliveriesResponse, FetchResponse, PageBody } from '../schemas.js';
import { consumeNonce, verifyStationRequest, type VerifiedRequest } from '../signed-request.js';
import { sharedVerifyPool, type VerifyJob } from '../../verify/ed25519-pool.js';
import { wrapperSignatureJob } from '../../verify/submission-checks.js';

const EMPTY = new Uint8Array(0);

function verify(ctx: RelayContext, req: FastifyRequest): Promise<VerifiedRequest> {
  return verifyStationRequest(ctx, { header: req.headers[REQUEST_HEADER], method: req.method, path: req.url, body: req.rawBody ?? EMPTY });
}

const SIGNED_ERRORS = {
  401: { description: 'request_missing, request_invalid, request_stale, replayed_request' },
  403: { description: 'not_in_mandate, key_unknown, key_revoked' },
};

export function registerReceiveRoutes(app: FastifyInstance, catalog: ApiCatalog, ctx: RelayContext): void {
  addRoute(
    app,
    catalog,
    {
      method: 'POST',
      url: '/v1/fetch',
      operationId: 'fetch',
      summary: "Envelopes for the requesting desk: its party's, and its party's sent ones from other desks. FLASH first; items after `after` are confirmed",
      tag: 'receive',
      signed: true,
      body: { contentType: CBOR, schema: PageBody },
      responses: { 200: { description: 'A page of items', contentType: CBOR, schema: FetchResponse }, ...SIGNED_ERRORS },
    },
    async (req, reply) => {
      const body = req.body as PageBody;
      const v = await verify(ctx, req);
      await consumeNonce(ctx, v);
      const r = await ctx.store.fetchForDesk({ desk: v.station, party: v.party.party, after: body.after, limit: body.limit, maxBytes: ctx.limits.fetchPageBytes, now: ctx.clock() });
      ctx.metrics.delivered.inc(r.items.length);
      const next = r.items.reduce((m, it) => Math.max(m, it.seq), r.items.length === 0 ? body.after : 0);
      return sendCbor(reply, { items: r.items.map(fetchItem), next, more: r.more });
    },
  );

  addRoute(
    app,
    catalog,
    {
      method: 'POST',
      url: '/v1/ack',
      operationId: 'ack',
      summary: "Acknowledge fetched copies with the desk's signed copy acknowledgements; answered with logged delivery records",
      tag: 'receive',
      signed: true,
      body: { contentType: CBOR, schema: AckBody },
      responses: {
        200: { description: 'One delivery record (with its receipt) per acknowledgement, same order', contentType: CBOR, schema: AckResponse },
        404: { description: 'not_found: a copy this desk was never handed' },
        ...SIGNED_ERRORS,
      },
    },
    async (req, reply) => {
      const body = req.body as AckBody;
      const v = await verify(ctx, req);
      // The signatures go to the verification pool together, off the event loop (a sync
      // acknowledges 200 copies a request); a single acknowledgement is checked here when the
      // pool is idle. Each acknowledgement is then judged in order, as openCopyAck would.
      const wrappers = body.acks.map((bytes): SignedWrapper | Error => {
        try {
          return readCopyAckWrapper(bytes);
        } catch (cause) {
          return cause instanceof Error ? cause : new Error(String(cause));
        }
      });
      const jobs = wrappers.flatMap((w): VerifyJob[] => (w instanceof Error ? [] : [wrapperSignatureJob(w, LABELS.ack)]));
      const results = jobs.length === 0 ? [] : await sharedVerifyPool().verify(jobs, { inlineWhenIdle: jobs.length === 1 });
      let next = 0;
      const acks: CopyAck[] = wrappers.map((w, i) => {
        let a: CopyAck;
        try {
          if (w instanceof Error) throw w;
          const r = results[next++];
          if (r === 'key_invalid') throw new BackchannelError('schema_invalid', 'signed structure names an invalid key');
          if (r !== 'valid') throw signatureInvalid(LABELS.ack);
          a = openVerifiedCopyAck(w);
        } catch (cause) {
          if (isBackchannelError(cause)) throw new BackchannelError(cause.code, `acknowledgement ${i}: ${cause.message}`, { cause });
          throw cause;
        }
        if (!equalBytes(a.station, v.station)) throw new BackchannelError('signature_invalid', `acknowledgement ${i} is signed by another desk than the request`);
        if (a.party !== v.party.party) throw new BackchannelError('schema_invalid', `acknowledgement ${i} is for party ${a.party}, not ${v.party.party}`);
        if (a.origin !== ctx.origin) throw new BackchannelError('schema_invalid', `acknowledgement ${i} is for log ${a.origin}, not this relay's`);
        return a;
      });
      const copies = await ctx.store.findDeliveredCopies(
        v.station,
        acks.map((a) => ({ from: a.from, id: a.id })),
      );
      const byKey = new Map(copies.map((c) => [`${c.from}/${toHex(c.id)}`, c]));
      const targets = acks.map((a, i) => {
        const c = byKey.get(`${a.from}/${toHex(a.id)}`);
        if (c === undefined) throw new RelayError('not_found', `acknowledgement ${i} names a copy this desk was not handed (or no longer held)`);
        if (!equalBytes(c.digest, a.digest)) throw new BackchannelError('commitment_mismatch', `acknowledgement ${i} names another digest than the copy handed over`);
        return c;
      });
      await consumeNonce(ctx, v);
      const records = await Promise.all(targets.map((c) => ctx.log.deliver(c)));
      ctx.metrics.acked.inc(records.length);
      return sendCbor(reply, { records: records.map((r) => ({ record: r.record, receipt: r.receipt })) });
    },
  );

  addRoute(
    app,
    catalog,
    {
      method: 'POST',
      url: '/v1/deliveries',
      operationId: 'deliveries',
      summary: "Delivery records of envelopes the requesting desk's party sent",
      tag: 'receive',
      signed: true,
      body: { contentType: CBOR, schema: PageBody },
      responses: { 200: { description: 'A page of delivery records', contentType: CBOR, schema: DeliveriesResponse }, ...SIGNED_ERRORS },
    },
    async (req, reply) => {
      const body = req.body as PageBody;
      const v = await verify(ctx, req);
      await consumeNonce(ctx, v);
      const r = await ctx.store.listDeliveries(v.party.party, body.after, body.limit);
      const next = r.items.reduce((m, d) => Math.max(m, d.index), body.after);
      return sendCbor(reply, { items: r.items.map(deliveryItem), next, more: r.more });
    },
  );
}
