/**
 * The relay's push path (docs/relay-api.md `GET /v1/push`, the FLASH path): a WebSocket whose
 * first client message is the desk's signed request for `GET /v1/push`; the relay then sends
 * CBOR frames — envelopes as they arrive (FLASH first), delivery records as they are logged,
 * and a ping every 15 s. Items are still acknowledged with `/v1/ack`, and a reconnecting desk
 * catches up by fetching with its cursor: push only makes delivery prompt.
 *
 * Every frame is attacker-controlled and read strictly (relay-wire.ts); a malformed frame
 * closes the connection rather than being guessed at.
 */
import WebSocket from 'ws';
import { signRequest, toBase64Url, type Ed25519Key, type Random } from '@backchannel/core';
import type { Clock } from './clock.js';
import { StationError } from './errors.js';
import { readPushFrame, type DeliveryItem, type FetchItem } from './relay-wire.js';

export interface PushHandlers {
  /** The connection is open and the signed request sent. */
  opened(): void;
  envelope(item: FetchItem): void;
  delivery(item: DeliveryItem): void;
  /** The connection ended (by either side, or a failure); `error` says why when it was not asked for. */
  closed(error: StationError | undefined): void;
}

export interface PushOptions {
  id: string;
  /** The relay's base URL (http or https; the WebSocket scheme follows it). */
  url: string;
  party: string;
  station: Ed25519Key;
  clock: Clock;
  random: Random;
  /** A connection with no frame for this long (the relay pings every 15 s) is considered dead. */
  idleMs?: number;
}

export interface PushConnection {
  close(): void;
}

/** Largest push frame accepted: one envelope item (4 MiB) and its framing. */
const MAX_FRAME = 5 * 1024 * 1024;

export function openPush(o: PushOptions, h: PushHandlers): PushConnection {
  const base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
  const url = new URL('v1/push', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url, { maxPayload: MAX_FRAME, handshakeTimeout: 10_000 });
  let closedByUs = false;
  let failure: StationError | undefined;
  let idle: (() => void) | undefined;
  const idleMs = o.idleMs ?? 45_000;
  const touch = (): void => {
    idle?.();
    idle = o.clock.setTimer(idleMs, () => {
      failure ??= new StationError('relay_timeout', `relay ${o.id}'s push connection was silent for ${idleMs} ms`);
      socket.terminate();
    });
  };

  socket.on('open', () => {
    const req = signRequest(o.station, { party: o.party, method: 'GET', path: url.pathname, body: new Uint8Array(0), time: o.clock.now(), random: o.random });
    socket.send(toBase64Url(req));
    touch();
    h.opened();
  });
  socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
    touch();
    try {
      if (!isBinary) throw new StationError('relay_response_invalid', `relay ${o.id} sent a text push frame`);
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const frame = readPushFrame(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      switch (frame.type) {
        case 'envelope':
          h.envelope(frame.item);
          break;
        case 'delivery':
          h.delivery(frame.item);
          break;
        case 'ping':
          break;
        case 'error':
          failure = new StationError('relay_refused', `relay ${o.id} refused the push connection: ${frame.message} (${frame.code})`, { relayCode: frame.code });
          break;
      }
    } catch (e) {
      failure = e instanceof StationError ? e : new StationError('relay_response_invalid', `relay ${o.id} sent a malformed push frame`, { cause: e });
      socket.terminate();
    }
  });
  socket.on('error', (e: Error) => {
    failure ??= new StationError('relay_unreachable', `relay ${o.id}'s push connection failed (${e.message})`, { cause: e });
  });
  socket.on('close', () => {
    idle?.();
    h.closed(closedByUs ? undefined : (failure ?? new StationError('relay_unreachable', `relay ${o.id} closed the push connection`)));
  });
  return {
    close() {
      closedByUs = true;
      socket.close();
    },
  };
}
