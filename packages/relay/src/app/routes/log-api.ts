/**
 * The stable log API (PRODUCT.md, "Stable log API"; protocol §6.6): the latest checkpoint,
 * inclusion and consistency proofs generated in O(log n) from stored nodes, the leaves, and
 * C2SP tlog-tiles. Query values are strict decimals (schemas.ts); an index not yet integrated
 * is 404 not_integrated, a size beyond the head 400 beyond_head.
 */
import {
  consistencyNodes,
  encodeEntryBundle,
  encodeTile,
  entryBundleRange,
  inclusionNodes,
  parseTilePath,
  rehashProof,
  tileInTree,
  tileNodeRange,
  toBase64,
} from '@backchannel/core';
import type { FastifyInstance } from 'fastify';
import { RelayError } from '../../errors.js';
import type { ApiCatalog } from '../api-catalog.js';
import type { RelayContext } from '../context.js';
import { addRoute } from '../route.js';
import {
  ConsistencyQuery,
  ConsistencyResponse,
  EntriesQuery,
  EntriesResponse,
  InclusionQuery,
  InclusionResponse,
  TileParams,
  type ConsistencyQuery as ConsistencyQueryT,
  type EntriesQuery as EntriesQueryT,
  type InclusionQuery as InclusionQueryT,
  type TileParams as TileParamsT,
} from '../schemas.js';

const MAX_ENTRIES = 1000;

export function registerLogRoutes(app: FastifyInstance, catalog: ApiCatalog, ctx: RelayContext): void {
  /** The size every answer is relative to: the latest checkpoint, which is committed. */
  const head = (): number => ctx.log.checkpoint.size;

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/checkpoint',
      operationId: 'checkpoint',
      summary: 'The latest checkpoint: a C2SP signed note with any witness cosignatures',
      tag: 'log',
      responses: { 200: { description: 'tlog-checkpoint signed note', contentType: 'text/plain; charset=utf-8' } },
    },
    async (_req, reply) => reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(ctx.publisher.note()),
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/v1/log/proof/inclusion',
      operationId: 'inclusionProof',
      summary: 'RFC 9162 inclusion proof of a leaf in the tree of a given size',
      tag: 'log',
      querystring: InclusionQuery,
      responses: { 200: { description: 'The inclusion path', schema: InclusionResponse }, 404: { description: 'not_integrated' } },
    },
    async (req) => {
      const q = req.query as InclusionQueryT;
      const index = Number(q.leaf_index);
      const size = Number(q.tree_size);
      const h = head();
      if (index >= h) throw new RelayError('not_integrated', `leaf ${index} is not integrated yet (log size ${h})`);
      if (size > h) throw new RelayError('beyond_head', `tree size ${size} is beyond the head (${h})`);
      if (index >= size) throw new RelayError('bad_request', `leaf ${index} is not below tree size ${size}`);
      const ids = inclusionNodes(index, size);
      const path = rehashProof(ids, await ctx.store.getNodes(ids.ids));
      return { leaf_index: index, tree_size: size, inclusion_path: path.map(toBase64) };
    },
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/v1/log/proof/consistency',
      operationId: 'consistencyProof',
      summary: 'RFC 9162 consistency proof between two tree sizes',
      tag: 'log',
      querystring: ConsistencyQuery,
      responses: { 200: { description: 'The consistency path', schema: ConsistencyResponse } },
    },
    async (req) => {
      const q = req.query as ConsistencyQueryT;
      const first = Number(q.first);
      const second = Number(q.second);
      const h = head();
      if (second > h) throw new RelayError('beyond_head', `tree size ${second} is beyond the head (${h})`);
      if (first > second) throw new RelayError('bad_request', `first (${first}) is beyond second (${second})`);
      const ids = consistencyNodes(first, second);
      const path = rehashProof(ids, await ctx.store.getNodes(ids.ids));
      return { consistency_path: path.map(toBase64) };
    },
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/v1/log/entries',
      operationId: 'entries',
      summary: 'The leaves [start, end): 32-byte commitments; may return fewer than asked (at most 1000)',
      tag: 'log',
      querystring: EntriesQuery,
      responses: { 200: { description: 'The leaves', schema: EntriesResponse }, 404: { description: 'not_integrated' } },
    },
    async (req) => {
      const q = req.query as EntriesQueryT;
      const start = Number(q.start);
      const end = Number(q.end);
      const h = head();
      if (end <= start) throw new RelayError('bad_request', `end (${end}) must be above start (${start})`);
      if (start >= h) throw new RelayError('not_integrated', `leaf ${start} is not integrated yet (log size ${h})`);
      const leaves = await ctx.store.getLeaves(start, Math.min(end, h, start + MAX_ENTRIES));
      return { entries: leaves.map(toBase64) };
    },
  );

  addRoute(
    app,
    catalog,
    {
      method: 'GET',
      url: '/tile/*',
      operationId: 'tile',
      summary: 'C2SP tlog-tiles: tile/<L>/<N>[.p/<W>] (hashes) and tile/entries/<N>[.p/<W>] (leaves, uint16-length-prefixed)',
      tag: 'log',
      params: TileParams,
      responses: { 200: { description: 'The tile bytes', contentType: 'application/octet-stream' }, 404: { description: 'not_found: not in the tree yet' } },
    },
    async (req, reply) => {
      const { '*': rest } = req.params as TileParamsT;
      const tile = parseTilePath(`tile/${rest}`);
      const h = head();
      if (!tileInTree(tile, h)) throw new RelayError('not_found', 'that tile is not in the tree yet');
      let bytes: Uint8Array;
      if (tile.kind === 'entries') {
        const r = entryBundleRange(tile);
        bytes = encodeEntryBundle(await ctx.store.getLeaves(r.begin, r.end));
      } else {
        const r = tileNodeRange(tile);
        const ids = [];
        for (let i = r.begin; i < r.end; i++) ids.push({ level: r.level, index: i });
        bytes = encodeTile(await ctx.store.getNodes(ids));
      }
      // Full tiles never change; partial ones are replaced by wider ones.
      const immutable = tile.width === 256;
      return reply
        .type('application/octet-stream')
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-store')
        .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    },
  );
}
