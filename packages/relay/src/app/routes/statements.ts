/**
 * GET /v1/statement?pair=us,ir&since=MS&until=MS (signed): a transmission statement about the
 * pair (statements/produce.ts). Who may ask is part of the mandate: a desk of one of the two
 * parties (its signed request), since the statement reveals the pair's traffic volume; the
 * relay's operator produces statements with the CLI (`produceStatement`) instead.
 * The body is the Signed statement itself, `application/cbor`.
 */
import { REQUEST_HEADER } from '@backchannel/core';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { RelayError } from '../../errors.js';
import { statementFromStore } from '../../statements/produce.js';
import type { ApiCatalog } from '../api-catalog.js';
import { CBOR } from '../cbor-body.js';
import type { RelayContext } from '../context.js';
import { addRoute } from '../route.js';
import { DECIMAL_PATTERN } from '../schemas.js';
import { consumeNonce, verifyStationRequest } from '../signed-request.js';

const Decimal = Type.String({ pattern: DECIMAL_PATTERN, maxLength: 16 });
const StatementQuery = Type.Object(
  { pair: Type.String({ pattern: '^[^,]{1,64},[^,]{1,64}$', maxLength: 129 }), since: Decimal, until: Decimal },
  { additionalProperties: false },
);
type StatementQuery = Static<typeof StatementQuery>;

export function registerStatementRoutes(app: FastifyInstance, catalog: ApiCatalog, ctx: RelayContext): void {
  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/v1/statement',
      operationId: 'statement',
      summary: 'A signed transmission statement about a pair in [since, until) (protocol §7); asked by a desk of one of the two parties',
      tag: 'statements',
      signed: true,
      querystring: StatementQuery,
      responses: {
        200: { description: 'The Signed statement (backchannel/v1/statement)', contentType: CBOR },
        403: { description: 'statement_forbidden (a party of the pair forbids statements), not_in_mandate, or the requester is not of the pair' },
      },
    },
    async (req, reply) => {
      const q = req.query as StatementQuery;
      const [a = '', b = ''] = q.pair.split(',');
      const v = await verifyStationRequest(ctx, { header: req.headers[REQUEST_HEADER], method: 'GET', path: req.url, body: new Uint8Array(0) });
      if (v.party.party !== a && v.party.party !== b) throw new RelayError('statement_forbidden', `party ${v.party.party} may not ask for statements about ${a} and ${b}`);
      const s = await statementFromStore(ctx.store, ctx.logKey, ctx.origin, { pair: [a, b], since: Number(q.since), until: Number(q.until), requestedBy: v.party.party }, ctx.clock());
      await consumeNonce(ctx, v);
      return reply.type(CBOR).header('cache-control', 'no-store').send(Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength));
    },
  );
}
