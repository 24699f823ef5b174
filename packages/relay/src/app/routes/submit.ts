/**
 * POST /v1/submit and the bundle routes (docs/relay-api.md, "Submitting").
 *
 * Submission checks run in the documented order, cheapest and least trusting first; the
 * Ed25519 verification comes after every check that needs no signature, and the per-station
 * rate limit after it, so forged traffic cannot spend a real station's budget. Nothing is
 * written before the log manager's group commit.
 *
 * One signature is verified per submission: the token's. It is the envelope's own station
 * signing this relay's origin and the SHA-256 of these exact bytes, so a copy the relay hands
 * out can only be the sender's bytes, and a recipient that finds the envelope's own signature
 * broken under a valid token blames the sender, with the token as proof (protocol §4.7). The
 * envelope's station signature is verified too when the operator asks for it
 * (`verifyEnvelopeSignature`), before the token, as a second job in the same pool call.
 * Verification runs in the worker pool (verify/ed25519-pool.ts), so the event loop parses and
 * commits while other cores verify; a submission alone, with the pool idle, is verified here
 * instead, since at low load the thread hand-offs cost more latency than the check.
 */
import {
  BackchannelError,
  checkSubmissionToken,
  findStation,
  isBackchannelError,
  openVerifiedSubmissionToken,
  parseEnvelope,
  readSubmissionTokenWrapper,
  type SignedWrapper,
  type SubmissionToken,
} from '@backchannel/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { RelayError } from '../../errors.js';
import type { ApiCatalog } from '../api-catalog.js';
import { CBOR, encodeSubmitResponse, sendCbor } from '../cbor-body.js';
import type { RelayContext } from '../context.js';
import { addRoute } from '../route.js';
import { BundleBody, BundleGetResponse, BundlePostResponse, PartyParams, SubmitBody, SubmitResponse } from '../schemas.js';
import { sharedVerifyPool, type VerifyJob } from '../../verify/ed25519-pool.js';
import { stationSignatureJob, tokenSignatureJob } from '../../verify/submission-checks.js';

/** A token problem becomes token_invalid with its reason (a CBOR error inside the token included). */
function tokenInvalid(cause: unknown): unknown {
  if (isBackchannelError(cause)) return new BackchannelError('token_invalid', `the submission token is invalid: ${cause.message}`, { cause });
  return cause;
}

export function registerSubmitRoutes(app: FastifyInstance, catalog: ApiCatalog, ctx: RelayContext): void {
  // Submissions between their first check and their answer. A submission alone verifies on
  // this thread when the pool is idle: at low load the hand-offs to a worker and back cost
  // more latency than the check itself; under load the pool keeps this thread free.
  let inProgress = 0;
  addRoute(
    app,
    catalog,
    {
      method: 'POST',
      url: '/v1/submit',
      operationId: 'submit',
      summary: 'Submit a sealed envelope with its submission token; answered with a receipt once the batch is committed',
      tag: 'submit',
      body: { contentType: CBOR, schema: SubmitBody },
      responses: {
        200: { description: 'Accepted (or a duplicate): the receipt, a C2SP tlog-proof with the leaf opening', contentType: CBOR, schema: SubmitResponse },
        403: { description: 'not_in_mandate, pair_not_allowed, key_unknown, key_revoked' },
        409: { description: 'bundle_stale (post the bundle first) or equivocation (both copies kept)' },
        507: { description: 'storage_full' },
      },
    },
    async (req, reply) => {
      inProgress++;
      try {
        return await submit(req.body as SubmitBody, reply);
      } finally {
        inProgress--;
      }
    },
    { bodyLimit: ctx.limits.submitBodyBytes },
  );

  async function submit(body: SubmitBody, reply: FastifyReply): Promise<FastifyReply> {
    const now = ctx.clock();
    // 1. Structure and header (attacker bytes are parsed here, nothing verified yet).
    const env = parseEnvelope(body.envelope);
    const h = env.header;
    // 2. The mandate and the pair.
    const { sender } = await ctx.mandate.requirePair(h.from, h.to);
    const bundle = sender.signed.bundle;
    // 3. The station under the newest bundle held, judged now.
    findStation(bundle, h.station, now);
    // 4. The bundle the envelope names must not be newer than ours.
    if (h.bundleSeq > bundle.seq) {
      throw new BackchannelError('bundle_stale', `the envelope names ${h.from}'s bundle ${h.bundleSeq}; this relay holds ${bundle.seq}: post the newer bundle first`);
    }
    if (bundle.party !== h.from) throw new BackchannelError('key_unknown', `bundle is for ${bundle.party}, not ${h.from}`);
    // 5 and 6: the signatures, at once in the pool; the token's structure is read first.
    let wrapper: SignedWrapper | undefined;
    let wrapperError: unknown;
    try {
      wrapper = readSubmissionTokenWrapper(body.token);
    } catch (cause) {
      wrapperError = cause;
    }
    const jobs: VerifyJob[] = [];
    if (ctx.verifyEnvelopeSignature) jobs.push(stationSignatureJob(env));
    if (wrapper !== undefined) jobs.push(tokenSignatureJob(wrapper));
    const results = jobs.length === 0 ? [] : await sharedVerifyPool().verify(jobs, { inlineWhenIdle: inProgress === 1 });
    // 5. The station signature, when the operator has it checked here too.
    if (ctx.verifyEnvelopeSignature) {
      const station = results.shift();
      if (station === 'key_invalid') throw new BackchannelError('key_invalid', 'the station key is not an Ed25519 public key');
      if (station !== 'valid') throw new BackchannelError('signature_invalid', 'the station signature on the envelope does not verify');
    }
    // 6. The token: signed by the key it names, then this relay's origin, this envelope, this party, this station, fresh.
    const tokenSig = results.shift();
    let token: SubmissionToken;
    try {
      if (wrapper === undefined) throw wrapperError;
      if (tokenSig === 'key_invalid') throw new BackchannelError('key_invalid', 'not an Ed25519 public key');
      if (tokenSig !== 'valid') throw new BackchannelError('signature_invalid', 'signature does not verify (backchannel/v1/submit)');
      token = openVerifiedSubmissionToken(wrapper);
    } catch (cause) {
      throw tokenInvalid(cause);
    }
    checkSubmissionToken(token, { origin: ctx.origin, digest: env.digest, party: h.from, station: h.station, now });
    // 7. Per-station rate limit.
    ctx.stationLimiter.take(h.station);
    // 8. The group commit; the receipt exists only once it has returned.
    const out = await ctx.log.submit({ envelope: env, token, received: now });
    if (out.duplicate) ctx.metrics.duplicates.inc();
    else ctx.metrics.accepted.inc();
    return reply.type(CBOR).send(encodeSubmitResponse(out.index, out.receipt, out.duplicate));
  }

  addRoute(
    app,
    catalog,
    {
      method: 'POST',
      url: '/v1/bundles',
      operationId: 'postBundle',
      summary: "A party's newer key bundle, signed by its pinned root",
      tag: 'submit',
      body: { contentType: CBOR, schema: BundleBody },
      responses: {
        200: { description: 'The bundle now held', contentType: CBOR, schema: BundlePostResponse },
        403: { description: 'root_mismatch, not_in_mandate' },
        409: { description: 'bundle_stale' },
      },
    },
    async (req, reply) => {
      const body = req.body as BundleBody;
      const r = await ctx.mandate.acceptBundle(body.bundle);
      return sendCbor(reply, { party: r.party, seq: r.seq });
    },
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/v1/bundles/:party',
      operationId: 'getBundle',
      summary: 'The newest bundle held for a party of the mandate',
      tag: 'submit',
      params: PartyParams,
      responses: {
        200: { description: 'The Signed bundle', contentType: CBOR, schema: BundleGetResponse },
        404: { description: 'unknown_party' },
      },
    },
    async (req, reply) => {
      const { party } = req.params as PartyParams;
      const p = await ctx.mandate.lookup(party);
      if (p === undefined) throw new RelayError('unknown_party', `party ${party} is not in this relay's mandate`);
      return sendCbor(reply, { bundle: p.signed.bytes });
    },
  );
}
