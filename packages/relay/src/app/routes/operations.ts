/** Identity and operations: the card, liveness, readiness, metrics, the OpenAPI document. */
import type { FastifyInstance } from 'fastify';
import { RelayError } from '../../errors.js';
import type { ApiCatalog } from '../api-catalog.js';
import type { RelayContext } from '../context.js';
import { addRoute } from '../route.js';
import { CardResponse, HealthResponse, ReadyResponse } from '../schemas.js';

export function registerOperationRoutes(app: FastifyInstance, catalog: ApiCatalog, ctx: RelayContext): void {
  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/card',
      operationId: 'card',
      summary: "The relay's self-signed card",
      tag: 'operations',
      responses: { 200: { description: 'The relay card', schema: CardResponse } },
    },
    async () => Promise.resolve(ctx.card),
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/healthz',
      operationId: 'healthz',
      summary: 'Liveness: 200 while the process runs',
      tag: 'operations',
      responses: { 200: { description: 'Alive', schema: HealthResponse } },
    },
    async () => Promise.resolve({ status: 'ok' }),
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness: the store answers and the log head is the one last committed',
      tag: 'operations',
      responses: { 200: { description: 'Ready', schema: ReadyResponse }, 503: { description: 'unavailable' } },
    },
    async () => {
      try {
        await ctx.store.ping();
        const size = await ctx.store.logSize();
        if (size !== ctx.log.size) throw new RelayError('store_inconsistent', 'the store and the log head disagree');
        return { status: 'ready', size };
      } catch (cause) {
        throw new RelayError('unavailable', 'the relay is not ready', { cause });
      }
    },
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tag: 'operations',
      responses: { 200: { description: 'Prometheus text exposition', contentType: 'text/plain; version=0.0.4' } },
    },
    async (_req, reply) => {
      ctx.metrics.logSize.set(ctx.log.size);
      ctx.metrics.queueDepth.set(ctx.log.queueDepth);
      const text = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    },
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/openapi.json',
      operationId: 'openapi',
      summary: 'This API, as OpenAPI 3.1',
      tag: 'operations',
      responses: { 200: { description: 'The OpenAPI document', contentType: 'application/json' } },
    },
    async () =>
      Promise.resolve(
        catalog.openapi({
          title: `Backchannel relay ${ctx.id}`,
          version: '1',
          description: 'The relay HTTP API v1 (docs/relay-api.md). Station bodies are deterministic CBOR; errors are JSON {"error": {"code", "message"}}.',
        }),
      ),
  );
}
