/** Registers a route with Fastify and in the API catalog at once (api-catalog.ts). */
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiCatalog, RouteSpec } from './api-catalog.js';

export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export function addRoute(app: FastifyInstance, catalog: ApiCatalog, spec: RouteSpec, handler: Handler, options: { bodyLimit?: number } = {}): void {
  catalog.add(spec);
  // Fastify serializes JSON responses with their schema; CBOR and text bodies are sent as bytes.
  const response: Record<number, TSchema> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    if (r.schema !== undefined && (r.contentType ?? 'application/json') === 'application/json') response[Number(status)] = r.schema;
  }
  const schema: Record<string, unknown> = { response };
  if (spec.body !== undefined) schema.body = spec.body.schema;
  if (spec.querystring !== undefined) schema.querystring = spec.querystring;
  if (spec.params !== undefined) schema.params = spec.params;
  app.route({
    method: spec.method,
    url: spec.url,
    schema,
    handler,
    ...(options.bodyLimit === undefined ? {} : { bodyLimit: options.bodyLimit }),
  });
}
