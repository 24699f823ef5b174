/**
 * Station bodies are deterministic CBOR (docs/relay-api.md, "Conventions"). The parser keeps
 * the exact bytes (signed requests hash them) and decodes strictly: malformed or non-canonical
 * CBOR is refused here, before any handler runs. It is the only body parser the relay has:
 * anything else is 415.
 */
import { decodeCbor, encodeCbor, type CborMap } from '@backchannel/core';
import type { FastifyInstance, FastifyReply } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact body bytes, for signed requests' body hash; empty when there was no body. */
    rawBody: Uint8Array | undefined;
  }
}

export const CBOR = 'application/cbor';

export function registerCborBody(app: FastifyInstance): void {
  app.decorateRequest('rawBody', undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(CBOR, { parseAs: 'buffer' }, (req, body, done) => {
    const bytes = new Uint8Array((body as Buffer).buffer, (body as Buffer).byteOffset, (body as Buffer).byteLength);
    req.rawBody = bytes;
    try {
      done(null, decodeCbor(bytes, bytes.length));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
}

export function sendCbor(reply: FastifyReply, value: CborMap): FastifyReply {
  const b = encodeCbor(value);
  return reply.type(CBOR).send(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
