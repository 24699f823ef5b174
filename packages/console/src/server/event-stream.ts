/**
 * Server-Sent Events for live updates. The route owner calls `openEventStream` inside an
 * authenticated `/api/...` GET route (the session hook has already run); the stream takes the
 * socket over, so it writes the security headers itself. A comment line every `keepAliveMs`
 * keeps proxies and the browser from timing the stream out and finds dead clients.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SECURITY_HEADERS } from './security-headers.js';

export interface EventStream {
  /** Sends one event; false once the client has gone. */
  send(event: string, data: unknown): boolean;
  close(): void;
  /** Resolves when the client disconnects or `close` is called. */
  readonly closed: Promise<void>;
}

export function openEventStream(request: FastifyRequest, reply: FastifyReply, opts: { keepAliveMs?: number } = {}): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': open\n\n');
  let open = true;
  let done: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    done = resolve;
  });
  const timer = setInterval(() => {
    if (open) res.write(': keep-alive\n\n');
  }, opts.keepAliveMs ?? 15_000);
  const finish = (): void => {
    if (!open) return;
    open = false;
    clearInterval(timer);
    done();
  };
  request.raw.on('close', finish);
  res.on('close', finish);
  return {
    send(event, data) {
      if (!open) return false;
      // JSON never contains a raw newline, so one `data:` line carries the whole event.
      res.write(`event: ${event.replace(/[^A-Za-z0-9_.-]/g, '')}\ndata: ${JSON.stringify(data)}\n\n`);
      return true;
    },
    close() {
      if (!open) return;
      finish();
      res.end();
    },
    closed,
  };
}
