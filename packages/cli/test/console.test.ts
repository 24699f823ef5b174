/**
 * `backchannel serve --home PARTY_HOME --listen 127.0.0.1:0`: the station daemon serves its web
 * console on a free loopback port, prints the address and a login token (--json), logs in with
 * the station passphrase or the token, answers the station's API behind the session, refuses a
 * non-loopback address, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, PASSPHRASES, REPO, cleanupTemp, cliEnv, initPartyHome, jsonError, runCli, tempDir } from './helpers/cli.js';
import { startTestRelay, stopTestRelays } from './helpers/relays.js';

afterAll(async () => {
  await stopTestRelays();
  await cleanupTemp();
});

describe('serve --listen on a station: the web console', () => {
  let home = '';

  beforeAll(async () => {
    process.env.BACKCHANNEL_LOG_LEVEL ??= 'silent';
    const us = await initPartyHome('us', 'United States');
    home = us.home;
    const r = await startTestRelay(await tempDir(), 'ch', [us.card as never]);
    const t = await runCli(['trust', r.cardPath, '--home', home, '--fingerprint', r.fingerprint, '--json'], { env: PASSPHRASES });
    expect(t.code, t.stderr).toBe(0);
  }, 90_000);

  it('refuses a non-loopback address', async () => {
    const r = await runCli(['serve', '--home', home, '--listen', '0.0.0.0:0', '--heartbeat', '0', '--json'], { env: PASSPHRASES });
    expect(r.code).toBe(2);
    expect(jsonError(r).code).toBe('usage');
  }, 60_000);

  it('serves the console on a free port with a printed token, behind login, CSRF and the CSP', async () => {
    // Node with tsx's loader, not the tsx CLI: the CLI relays SIGTERM and, when the child does not
    // answer within 30 ms (a loaded machine), kills it and exits 143, which is not what is tested.
    const daemon = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--home', home, '--listen', '127.0.0.1:0', '--heartbeat', '0', '--json'], { cwd: REPO, env: await cliEnv(PASSPHRASES), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    daemon.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    daemon.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    daemon.stdin.end();
    try {
      for (let i = 0; i < 900 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 100));
      const serving = (JSON.parse(out) as { serving: { party: string; relays: string[]; console: { url: string; port: number; token: string } } }).serving;
      expect(serving).toMatchObject({ party: 'us', relays: ['ch'], console: { url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/) as string } });
      const { url, token } = serving.console;
      expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);

      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await page.text()).toContain('<div id="root">');
      expect((await fetch(`${url}api/inbox`)).status).toBe(401);

      const login = async (secret: string): Promise<Response> => fetch(`${url}session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret }) });
      expect((await login('wrong passphrase')).status).toBe(401);
      expect((await login(token)).status).toBe(200);
      const ok = await login(PASSPHRASES.BACKCHANNEL_PASSPHRASE!);
      expect(ok.status).toBe(200);
      const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0]!;
      const { csrf } = (await ok.json()) as { csrf: string };

      const channels = (await (await fetch(`${url}api/channels`, { headers: { cookie } })).json()) as { channels: { relay: string }[] };
      expect(channels.channels.map((c) => c.relay)).toEqual(['ch']);
      expect(await (await fetch(`${url}api/inbox`, { headers: { cookie } })).json()).toEqual({ entries: [], threads: [] });
      const body = JSON.stringify({ to: 'us', precedence: 'FLASH', subject: 's', body: 'b' });
      const noCsrf = await fetch(`${url}api/send`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body });
      expect(noCsrf.status).toBe(403);
      const badInput = await fetch(`${url}api/send`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ to: 'us', precedence: 'URGENT', subject: 's', body: 'b' }) });
      expect(badInput.status).toBe(400);
      expect(((await badInput.json()) as { error: { code: string } }).error.code).toBe('bad_request');
      const unknown = await fetch(`${url}api/thread/0123456789abcdef`, { headers: { cookie } });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
    } finally {
      daemon.kill('SIGTERM');
    }
    const [code] = (await once(daemon, 'close')) as [number | null];
    expect(code, err).toBe(0);
  }, 120_000);
});
