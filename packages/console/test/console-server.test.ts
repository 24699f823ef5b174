/**
 * The console server's security model, at the HTTP level (no browser): every /api request
 * needs a session cookie (401), every state-changing one the session's CSRF token (403), the
 * cookie's flags, the CSP and the other headers on every answer, the login rate limit, and
 * the event stream behind the same check. Driven in process (`inject`), with one real socket
 * for the event stream.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, consoleErrorHandler, mountConsole, openEventStream } from '../src/index.js';

const SECRET = 'correct horse battery staple';
const TOKEN = 'printed-token-123';

async function makeApp(opts: { now?: () => number; max?: number } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.setErrorHandler(consoleErrorHandler);
  await mountConsole(app, {
    kind: 'station',
    title: 'Test desk',
    checkSecret: (s) => s === SECRET,
    token: TOKEN,
    loginLimits: { max: opts.max ?? 5, windowMs: 60_000 },
    ...(opts.now === undefined ? {} : { now: opts.now, sessionLimits: { idleMs: 1000, maxMs: 5000, maxSessions: 4 } }),
  });
  app.get('/api/thing', (_req, reply) => reply.send({ ok: true }));
  app.post('/api/thing', (_req, reply) => reply.send({ changed: true }));
  app.get('/api/events', (request, reply) => {
    const s = openEventStream(request, reply, { keepAliveMs: 60_000 });
    s.send('hello', { n: 1 });
  });
  return app;
}

async function login(app: FastifyInstance, secret = SECRET): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const r = await app.inject({ method: 'POST', url: '/session', payload: { secret } });
  expect(r.statusCode).toBe(200);
  const setCookie = String(r.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: (r.json<{ csrf: string }>()).csrf, setCookie };
}

describe('console server: authentication and headers', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await makeApp();
  }, 120_000);
  afterAll(async () => {
    await app.close();
  });

  it('refuses every /api request without a session cookie (401), whatever the spelling of the path', async () => {
    for (const url of ['/api/thing', '/api/nothing-here', '/%61pi/thing', '/API/thing', '//api/thing', '/api/thing?x=1']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(401);
      expect(r.json(), url).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) as string } });
    }
    const p = await app.inject({ method: 'POST', url: '/api/thing', payload: {} });
    expect(p.statusCode).toBe(401);
    const forged = await app.inject({ method: 'GET', url: '/api/thing', headers: { cookie: `bc_session=${'A'.repeat(43)}` } });
    expect(forged.statusCode).toBe(401);
  });

  it('a wrong secret is refused and sets no cookie; the passphrase and the printed token both log in', async () => {
    const bad = await app.inject({ method: 'POST', url: '/session', payload: { secret: 'wrong' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('bad_secret');
    expect(bad.headers['set-cookie']).toBeUndefined();
    const malformed = await app.inject({ method: 'POST', url: '/session', payload: {} });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json<{ error: { code: string } }>().error.code).toBe('bad_request');
    await login(app);
    await login(app, TOKEN);
  });

  it('sets the session cookie HttpOnly, SameSite=Strict, Path=/, with a random id', async () => {
    const a = await login(app);
    const b = await login(app);
    expect(a.setCookie).toMatch(/^bc_session=[A-Za-z0-9_-]{43}; /);
    expect(a.setCookie).toContain('HttpOnly');
    expect(a.setCookie).toContain('SameSite=Strict');
    expect(a.setCookie).toContain('Path=/');
    expect(a.cookie).not.toBe(b.cookie);
    expect(a.csrf).not.toBe(b.csrf);
    const who = await app.inject({ method: 'GET', url: '/session', headers: { cookie: a.cookie } });
    expect(who.json()).toMatchObject({ kind: 'station', title: 'Test desk', csrf: a.csrf });
  });

  it('reads with the cookie; a state-changing request needs the matching x-csrf-token (403 otherwise)', async () => {
    const s = await login(app);
    const other = await login(app);
    expect((await app.inject({ method: 'GET', url: '/api/thing', headers: { cookie: s.cookie } })).json()).toEqual({ ok: true });
    const cases: [string, Record<string, string>][] = [
      ['no token', { cookie: s.cookie }],
      ['wrong token', { cookie: s.cookie, 'x-csrf-token': 'nope' }],
      ['another session’s token', { cookie: s.cookie, 'x-csrf-token': other.csrf }],
      ['cross-site origin', { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: 'http://evil.example' }],
      ['cross-site fetch metadata', { cookie: s.cookie, 'x-csrf-token': s.csrf, 'sec-fetch-site': 'cross-site' }],
    ];
    for (const [what, headers] of cases) {
      const r = await app.inject({ method: 'POST', url: '/api/thing', headers, payload: {} });
      expect(r.statusCode, what).toBe(403);
      expect(r.json<{ error: { code: string } }>().error.code, what).toBe('csrf_mismatch');
    }
    const ok = await app.inject({ method: 'POST', url: '/api/thing', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, host: 'localhost:80', origin: 'http://localhost:80' }, payload: {} });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ changed: true });
  });

  it('logging out needs the CSRF token, then the session is gone', async () => {
    const s = await login(app);
    expect((await app.inject({ method: 'DELETE', url: '/session', headers: { cookie: s.cookie } })).statusCode).toBe(403);
    const out = await app.inject({ method: 'DELETE', url: '/session', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await app.inject({ method: 'GET', url: '/api/thing', headers: { cookie: s.cookie } })).statusCode).toBe(401);
  });

  it('puts the strict CSP and the other headers on every answer: page, asset, 401, 404, login', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    const html = page.body;
    // The build has no inline script or style: every script and stylesheet is a file of ours.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await app.inject({ method: 'GET', url: asset! });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toContain('text/javascript');
    for (const r of [page, js, await app.inject({ method: 'GET', url: '/api/thing' }), await app.inject({ method: 'GET', url: '/nowhere' }), await app.inject({ method: 'POST', url: '/session', payload: { secret: 'x' } })]) {
      expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(CONTENT_SECURITY_POLICY).toBe("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  });

  it('serves nothing outside the built assets', async () => {
    for (const url of ['/assets/..%2Fstation.html', '/assets/..%2F..%2Fpackage.json', '/assets/%2e%2e%2f.build-stamp', '/assets/x.html', '/src/station/main.tsx']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
  });

  it('streams events only to a session, as text/event-stream with the headers', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? String(addr.port) : ''}`;
    const denied = await fetch(`${base}/api/events`);
    expect(denied.status).toBe(401);
    const s = await login(app);
    const ac = new AbortController();
    const r = await fetch(`${base}/api/events`, { headers: { cookie: s.cookie }, signal: ac.signal });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const reader = r.body!.getReader();
    let text = '';
    while (!text.includes('event: hello')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('event: hello\ndata: {"n":1}\n\n');
    ac.abort();
  });
});

describe('console server: limits', () => {
  it('rate-limits failed logins per address: after the limit even the right secret waits', async () => {
    let t = 1_000_000;
    const app = await makeApp({ now: () => t, max: 3 });
    try {
      for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'POST', url: '/session', payload: { secret: `guess ${String(i)}` } })).statusCode).toBe(401);
      const blocked = await app.inject({ method: 'POST', url: '/session', payload: { secret: SECRET } });
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json<{ error: { code: string } }>().error.code).toBe('rate_limited');
      expect(blocked.headers['retry-after']).toBe('60');
      t += 60_000;
      expect((await app.inject({ method: 'POST', url: '/session', payload: { secret: SECRET } })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('expires an idle session', async () => {
    let t = 1_000_000;
    const app = await makeApp({ now: () => t });
    try {
      const s = await login(app);
      t += 500;
      expect((await app.inject({ method: 'GET', url: '/api/thing', headers: { cookie: s.cookie } })).statusCode).toBe(200);
      t += 1001;
      expect((await app.inject({ method: 'GET', url: '/api/thing', headers: { cookie: s.cookie } })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});
