/**
 * GET /v1/push: the WebSocket FLASH path. The client's first message is its signed request for
 * `GET /v1/push` (the header value, as text); until it verifies, nothing is sent, and a client
 * that does not send it in time is disconnected.
 */
import { encodeCbor } from '@backchannel/core';
import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { RelayError, describeError } from '../../errors.js';
import { CLOSE_POLICY, CLOSE_TRY_LATER } from '../../push/push-hub.js';
import type { ApiCatalog } from '../api-catalog.js';
import type { RelayContext } from '../context.js';
import { PushFrame } from '../schemas.js';
import { consumeNonce, verifyStationRequest } from '../signed-request.js';

const AUTH_TIMEOUT_MS = 5000;

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

export function registerPushRoute(app: FastifyInstance, catalog: ApiCatalog, ctx: RelayContext): void {
  catalog.add({
    method: 'GET',
    url: '/v1/push',
    operationId: 'push',
    summary:
      'WebSocket. First client message: the signed request for GET /v1/push (base64url). Then binary CBOR frames: {type: "envelope", item}, {type: "delivery", item}, {type: "ping", time}. Slow consumers are disconnected.',
    tag: 'receive',
    responses: {
      101: { description: 'Switching to WebSocket; frames are CBOR', contentType: 'application/cbor', schema: PushFrame },
      426: { description: 'Upgrade required' },
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/push',
    // A plain GET (no WebSocket upgrade) gets a typed error like every other refusal.
    handler: () => Promise.reject(new RelayError('upgrade_required', 'GET /v1/push is a WebSocket: send an upgrade request')),
    wsHandler: (socket: WebSocket) => {
      if (ctx.push.full) {
        socket.close(CLOSE_TRY_LATER, 'too many push connections');
        return;
      }
      const timer = setTimeout(() => {
        socket.close(CLOSE_POLICY, 'no signed request');
      }, AUTH_TIMEOUT_MS);
      socket.once('message', (data: RawData) => {
        clearTimeout(timer);
        void (async () => {
          try {
            const v = await verifyStationRequest(ctx, { header: rawText(data).trim(), method: 'GET', path: '/v1/push', body: new Uint8Array(0) });
            await consumeNonce(ctx, v);
            ctx.push.add({ socket, party: v.party.party, desk: v.station });
          } catch (e) {
            const d = describeError(e);
            ctx.metrics.rejected.inc({ reason: d?.code ?? 'internal' });
            if (socket.readyState === socket.OPEN) {
              socket.send(encodeCbor({ type: 'error', code: d?.code ?? 'internal', message: d?.message ?? 'the relay failed' }));
              socket.close(CLOSE_POLICY, d?.code ?? 'internal');
            }
          }
        })();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
      });
    },
  });
}
