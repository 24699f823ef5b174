/**
 * POST <prefix>/add-checkpoint on a Fastify instance: the body is taken as raw bytes whatever
 * its Content-Type (the spec names none), in an encapsulated context so the relay's own
 * parsers are untouched. The answer is the Witness's, verbatim.
 */
import type { FastifyInstance } from 'fastify';
import type { Witness } from './witness.js';

/** The largest add-checkpoint body: 63 proof lines and a checkpoint with many signatures. */
export const ADD_CHECKPOINT_BODY_BYTES = 64 * 1024;

export async function registerWitnessRoute(app: FastifyInstance, witness: Witness, prefix: string): Promise<void> {
  await app.register((sub, _opts, done) => {
    sub.removeAllContentTypeParsers();
    sub.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ADD_CHECKPOINT_BODY_BYTES }, (_req, body, done) => {
      done(null, body);
    });
    sub.route({
      method: 'POST',
      url: `${prefix}/add-checkpoint`,
      bodyLimit: ADD_CHECKPOINT_BODY_BYTES,
      handler: async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength) : new Uint8Array(0);
        const r = await witness.addCheckpoint(body);
        return reply.code(r.status).type(r.contentType).header('cache-control', 'no-store').send(r.body);
      },
    });
    done();
  });
}
