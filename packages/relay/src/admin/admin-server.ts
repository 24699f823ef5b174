/**
 * The admin listener: a Fastify instance of its own, on its own address (127.0.0.1 by
 * default), serving the operator console and its `/api/…` routes. Nothing of it is ever
 * registered on the public listener. The login secret is a random token printed at start-up
 * (or one the caller passes), compared in constant time.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { consoleErrorHandler, mountConsole } from '@backchannel/console';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RelayContext } from '../app/context.js';
import { describeError, RelayError } from '../errors.js';
import { AdminSource } from './admin-data.js';
import { registerAdminRoutes } from './admin-routes.js';

export interface AdminListen {
  host: string;
  /** 0: a free port. */
  port: number;
  /** Listen on a non-loopback address. The console then faces the network: only behind TLS and a firewall. */
  allowNonLoopback?: boolean;
  /** The login token; a random one when absent. */
  token?: string;
}

export interface AdminServerOptions {
  ctx: RelayContext;
  name: string;
  url: string;
  startedAt: number;
  witnesses: readonly string[];
  listen: AdminListen;
  /** The public listener's address, which the admin listener must not share. */
  publicListen: { host: string; port: number };
  logger: Logger;
  /** Event stream cadence (tests shorten it). */
  refreshMs?: number;
  /** How long the delivery figures are shared between requests, ms (admin-data.ts; tests use 0). */
  reuseMs?: number;
}

export interface RunningAdmin {
  url: string;
  port: number;
  host: string;
  /** The login secret for the operator console. */
  token: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped?.[1] !== undefined && mapped[1].startsWith('127.');
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** Whether two listen addresses would take the same socket (a wildcard overlaps every host). */
export function sameAddress(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  if (a.port === 0 || b.port === 0 || a.port !== b.port) return false;
  const ha = a.host.toLowerCase();
  const hb = b.host.toLowerCase();
  return ha === hb || WILDCARDS.has(ha) || WILDCARDS.has(hb) || (isLoopback(ha) && isLoopback(hb) && (ha === 'localhost' || hb === 'localhost'));
}

/** Refuses an admin address that is not loopback (unless forced) or that is the public API's. */
export function checkAdminListen(admin: AdminListen, publicListen: { host: string; port: number }): void {
  const problems: string[] = [];
  if (!isLoopback(admin.host) && admin.allowNonLoopback !== true) {
    problems.push(`the admin listener must be on a loopback address (127.0.0.1, ::1, localhost), not ${admin.host}, unless explicitly forced`);
  }
  if (sameAddress(admin, publicListen)) problems.push('the admin listener must not share the public API’s address');
  if (!Number.isInteger(admin.port) || admin.port < 0 || admin.port > 65535) problems.push('the admin port must be 0 to 65535');
  if (admin.token !== undefined && admin.token.length < 16) problems.push('an admin token must have at least 16 characters');
  if (problems.length > 0) throw new RelayError('config_invalid', problems.join('; '), { details: { problems } });
}

/** A fresh login token: 32 random bytes, base64url. */
export function newAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of the secret a browser sent with the token (hashes first, so lengths do not leak). */
export function tokenMatches(given: string, token: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function urlHost(host: string): string {
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`;
  return host;
}

/** Builds the admin app (not listening): tests drive it with `inject`. */
export async function buildAdminApp(o: Omit<AdminServerOptions, 'listen' | 'publicListen'> & { token: string }): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = o.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: 16 * 1024,
    // Unknown query parameters are refused, not silently dropped: bad input gets a clear error.
    ajv: { customOptions: { removeAdditional: false } },
    requestTimeout: 30_000,
    return503OnClosing: true,
    // Event streams stay open: closing the listener must not wait for them.
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = describeError(err);
    if (known !== undefined) {
      if (known.status >= 500) req.log.warn({ code: known.code, msg: known.message }, 'admin request failed');
      return reply.code(known.status).send({ error: { code: known.code, message: known.message } });
    }
    return consoleErrorHandler(err, req, reply);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` } }));
  await mountConsole(app, {
    kind: 'operator',
    title: `${o.name} (${o.ctx.id}) — operator`,
    checkSecret: (secret) => tokenMatches(secret, o.token),
  });
  const source = new AdminSource({ ctx: o.ctx, name: o.name, url: o.url, startedAt: o.startedAt, witnesses: o.witnesses, ...(o.reuseMs === undefined ? {} : { reuseMs: o.reuseMs }) });
  const refreshMs = o.refreshMs ?? 5000;
  registerAdminRoutes(app, source, { refreshMs, commitPollMs: Math.min(1000, refreshMs) });
  return app;
}

export async function startAdminServer(o: AdminServerOptions): Promise<RunningAdmin> {
  checkAdminListen(o.listen, o.publicListen);
  const token = o.listen.token ?? newAdminToken();
  const app = await buildAdminApp({ ...o, token });
  try {
    await app.listen({ host: o.listen.host, port: o.listen.port });
  } catch (e) {
    // The system's error as it is (EADDRINUSE, EADDRNOTAVAIL): the CLI names those precisely.
    await app.close();
    throw e;
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${urlHost(o.listen.host)}:${port}`;
  let closing: Promise<void> | undefined;
  return { url, port, host: o.listen.host, token, app, close: () => (closing ??= app.close()) };
}
