/**
 * `mountConsole`: what every console shares, mounted on the owner's Fastify instance — the
 * station daemon's console and the relay's admin listener alike. It serves the built UI, the
 * login (`/session`), and adds root-level hooks so that every response carries the security
 * headers and every `/api/...` request needs a live session (401) and, when it changes state,
 * the session's CSRF token in `x-csrf-token` (403). The owner then registers its own `/api/...`
 * routes on the same instance; call this before registering them, on the root instance (not
 * inside an encapsulated plugin), so the hooks cover them.
 *
 * Why both a cookie and a token: the cookie (`HttpOnly`, `SameSite=Strict`) is what a script
 * cannot read and another site cannot send; the CSRF token is what another site cannot know.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ensureConsoleBuilt } from './build.js';
import { clearedSessionCookie, readSessionCookie, sessionCookie } from './cookies.js';
import { ConsoleError, errorBody, isConsoleError } from './errors.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './login-limiter.js';
import { SECURITY_HEADERS } from './security-headers.js';
import { DEFAULT_SESSION_LIMITS, SessionStore, safeEqual, type Session, type SessionLimits } from './sessions.js';
import { registerStaticRoutes } from './static-files.js';

export interface ConsoleServerOptions {
  kind: 'station' | 'operator';
  /** Shown in the page once logged in: the party's or the relay's name. */
  title: string;
  /** The login check: the station passphrase or a start-up token, compared in constant time. */
  checkSecret(secret: string): boolean | Promise<boolean>;
  /** A token printed at start-up that also logs in (compared in constant time). */
  token?: string;
  /** Failed logins allowed per client address per window (default 10 a minute). */
  loginLimits?: LoginLimits;
  sessionLimits?: SessionLimits;
  /** For tests: the clock sessions and the login limit read. */
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session, set by mountConsole's hook on authenticated requests. */
    consoleSession?: Session;
  }
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The request's path, percent-decoded and lower-cased, for the "is this under /api" test. */
function decodedPath(url: string): string {
  const raw = url.split('?')[0] ?? '';
  try {
    return decodeURIComponent(raw).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * Whether a request is an API request. Both the route the router matched and the decoded path
 * are checked, so no spelling of a path (`/%61pi/…`, `/API/…`) reaches an API route unauthenticated.
 */
function isApi(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route !== undefined && (route === '/api' || route.startsWith('/api/'))) return true;
  const p = decodedPath(request.url).replace(/\/{2,}/g, '/');
  return p === '/api' || p.startsWith('/api/');
}

/** A cross-site request carries an Origin (or a Sec-Fetch-Site) that names another site. */
function crossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return true;
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return origin === 'null';
  try {
    // Both through URL, so a default port written out on one side only still matches.
    const o = new URL(origin);
    return o.host !== new URL(`${o.protocol}//${request.headers.host ?? ''}`).host;
  } catch {
    return true;
  }
}

export async function mountConsole(app: FastifyInstance, opts: ConsoleServerOptions): Promise<void> {
  await ensureConsoleBuilt();
  const now = opts.now ?? Date.now;
  const sessions = new SessionStore(opts.sessionLimits ?? DEFAULT_SESSION_LIMITS, now);
  const limiter = new LoginLimiter(opts.loginLimits ?? DEFAULT_LOGIN_LIMITS, now);
  const token = opts.token;

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    const session = sessions.get(readSessionCookie(request.headers.cookie));
    if (session !== undefined) request.consoleSession = session;
    const api = isApi(request);
    const logout = request.method === 'DELETE' && decodedPath(request.url) === '/session';
    if (!api && !logout) return;
    if (session === undefined) {
      await reply.code(401).send(errorBody('unauthenticated', 'log in first: this needs a console session'));
      return reply;
    }
    if (STATE_CHANGING.has(request.method)) {
      const given = request.headers['x-csrf-token'];
      if (typeof given !== 'string' || !safeEqual(given, session.csrf) || crossSite(request)) {
        await reply.code(403).send(errorBody('csrf_mismatch', 'this request needs the session’s x-csrf-token header and must come from the console’s own page'));
        return reply;
      }
    }
    return undefined;
  });

  registerStaticRoutes(app, opts.kind);

  const secure = (request: FastifyRequest): boolean => request.protocol === 'https';
  const whoami = (s: Session): { kind: string; title: string; csrf: string; expiresAt: string } => ({
    kind: opts.kind,
    title: opts.title,
    csrf: s.csrf,
    expiresAt: new Date(s.createdAt + sessions.maxAgeS * 1000).toISOString(),
  });

  app.post(
    '/session',
    {
      bodyLimit: 4096,
      schema: {
        body: { type: 'object', required: ['secret'], additionalProperties: false, properties: { secret: { type: 'string', minLength: 1, maxLength: 1024 } } },
      },
    },
    async (request, reply) => {
      const address = request.ip;
      if (crossSite(request)) return reply.code(403).send(errorBody('csrf_mismatch', 'a login must come from the console’s own page'));
      const wait = limiter.blockedFor(address);
      if (wait > 0) {
        return reply
          .code(429)
          .header('retry-after', String(Math.ceil(wait / 1000)))
          .send(errorBody('rate_limited', `too many failed logins: try again in ${String(Math.ceil(wait / 1000))} seconds`));
      }
      const { secret } = request.body as { secret: string };
      const byToken = token !== undefined && safeEqual(secret, token);
      const ok = byToken || (await opts.checkSecret(secret));
      if (!ok) {
        limiter.fail(address);
        return reply.code(401).send(errorBody('bad_secret', 'that passphrase or token is not right'));
      }
      limiter.succeed(address);
      // A fresh id on every login: a session id planted before login is never promoted.
      const old = request.consoleSession;
      if (old !== undefined) sessions.delete(old.id);
      const s = sessions.create();
      return reply
        .header('set-cookie', sessionCookie(s.id, { secure: secure(request), maxAgeS: sessions.maxAgeS }))
        .header('cache-control', 'no-store')
        .send(whoami(s));
    },
  );

  app.get('/session', async (request, reply) => {
    const s = request.consoleSession;
    if (s === undefined) return reply.code(401).send(errorBody('unauthenticated', 'no console session: log in'));
    return reply.header('cache-control', 'no-store').send(whoami(s));
  });

  app.delete('/session', async (request, reply) => {
    const s = request.consoleSession;
    if (s !== undefined) sessions.delete(s.id);
    return reply.header('set-cookie', clearedSessionCookie(secure(request))).code(204).send();
  });
}

/**
 * An error handler the owner may install (`app.setErrorHandler(consoleErrorHandler)`): console
 * errors and Fastify's validation errors become the `{"error": {code, message}}` shape with one
 * sentence; anything else is a bare 500, logged.
 */
export function consoleErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isConsoleError(error)) return reply.code(error.status).send(errorBody(error.code, error.message));
  const fe = error as FastifyError;
  if (fe.validation !== undefined) return reply.code(400).send(errorBody('bad_request', `the request is not valid: ${fe.message}`));
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return reply.code(fe.statusCode).send(errorBody('bad_request', fe.message));
  request.log.error({ err: error }, 'console request failed');
  return reply.code(500).send(errorBody('internal', 'the console failed to answer; see its log'));
}

export { ConsoleError };
