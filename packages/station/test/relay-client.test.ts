/**
 * The relay client's transport behaviour against real loopback HTTP servers that misbehave on
 * purpose: JSON errors become typed errors with the relay's code, a stalled relay times out, a
 * closed port is unreachable, malformed answers are refused, and signed requests bind method,
 * path with query, and body. The transport section holds what the client owns since it left
 * fetch for node:http: the deadline over the whole exchange, the size caps while streaming, no
 * redirects, keep-alive, and a process that still exits with an idle connection open.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Ed25519Key, checkRequest, deterministicRandomForTests, encodeCbor, fromBase64Url, openRequest } from '@backchannel/core';
import { systemClock } from '../src/clock.js';
import { isStationError, type StationErrorCode } from '../src/errors.js';
import { HttpRelayClient } from '../src/relay-client.js';
import { freePort } from './fixtures/real-relays.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

let handler: Handler = (_req, _body, res) => res.end();
let server: Server;
let url = '';
const station = Ed25519Key.generate(deterministicRandomForTests('client'));
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handler(req, Buffer.concat(chunks), res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => {
    server.close(() => {
      r();
    });
  });
});

function client(timeoutMs = 2000, base = url): HttpRelayClient {
  return new HttpRelayClient({ id: 'ch', url: base, party: 'us', station, clock: systemClock, random: deterministicRandomForTests('req'), timeoutMs });
}

async function codeOf(p: Promise<unknown>): Promise<{ code: StationErrorCode; relayCode: string | undefined } | string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isStationError(e) ? { code: e.code, relayCode: e.relayCode } : `untyped: ${String(e)}`;
  }
}

describe('HttpRelayClient', () => {
  it('maps a JSON error to relay_refused with the relay code', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_in_mandate', message: 'party us is not in the mandate' } }));
    };
    expect(await codeOf(client().submit(new Uint8Array(4), new Uint8Array(4)))).toEqual({ code: 'relay_refused', relayCode: 'not_in_mandate' });
  });

  it('refuses an error without the documented shape, and a malformed answer', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(500);
      res.end('<html>oops</html>');
    };
    expect(await codeOf(client().checkpoint())).toMatchObject({ code: 'relay_response_invalid' });
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/cbor' });
      res.end(Buffer.from(encodeCbor({ index: 'one', receipt: 7, duplicate: false })));
    };
    const err = await client()
      .submit(new Uint8Array(4), new Uint8Array(4))
      .catch((e: unknown) => e);
    expect(isStationError(err, 'relay_response_invalid')).toBe(true);
    expect((err as Error).message).toMatch(/index.*receipt/);
  });

  it('times out on a relay that never answers', async () => {
    handler = () => undefined;
    const t0 = Date.now();
    expect(await codeOf(client(200).fetch(0, 10))).toMatchObject({ code: 'relay_timeout' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('reports a closed port as unreachable', async () => {
    const port = await freePort();
    expect(await codeOf(client(2000, `http://127.0.0.1:${port}`).checkpoint())).toMatchObject({ code: 'relay_unreachable' });
  });

  it('signs requests over method, path with query, and body', async () => {
    let seen: { header: string | undefined; method: string | undefined; path: string | undefined; body: Buffer } | undefined;
    handler = (req, body, res) => {
      const h = req.headers['backchannel-request'];
      seen = { header: typeof h === 'string' ? h : undefined, method: req.method, path: req.url, body };
      res.writeHead(200, { 'content-type': 'application/cbor' });
      res.end(Buffer.from(encodeCbor({ items: [], next: 5, more: false })));
    };
    const page = await client(2000, `${url}/relay`).fetch(5, 50);
    expect(page).toEqual({ items: [], next: 5, more: false });
    expect(seen?.path).toBe('/relay/v1/fetch');
    const q = openRequest(fromBase64Url(seen?.header ?? ''));
    expect(q.party).toBe('us');
    checkRequest(q, { method: seen?.method ?? '', path: seen?.path ?? '', body: new Uint8Array(seen?.body ?? []), now: Date.now() });
  });

  it('reads JSON proofs strictly', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ leaf_index: 3, tree_size: 9, inclusion_path: [Buffer.alloc(32, 1).toString('base64')] }));
    };
    expect(await client().inclusionProof(3, 9)).toHaveLength(1);
    expect(await codeOf(client().inclusionProof(4, 9))).toMatchObject({ code: 'relay_response_invalid' });
  });

  it('cuts off an answer larger than it announces it may be', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
    };
    expect(await codeOf(client().checkpoint())).toMatchObject({ code: 'relay_response_invalid' });
  });
});

const ONCE = fileURLToPath(new URL('./fixtures/relay-client-once.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;

async function errorOf(p: Promise<unknown>): Promise<{ code: StationErrorCode; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isStationError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('the request succeeded');
}

/** Writes 1 MiB chunks until the client hangs up; resolves with the bytes handed to the socket by then. */
function streamForever(res: ServerResponse): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 7);
  let written = 0;
  const pump = (): void => {
    while (!res.destroyed) {
      written += chunk.length;
      if (!res.write(chunk)) return;
    }
  };
  res.on('drain', pump);
  pump();
  return new Promise((resolve) => res.on('close', () => { resolve(written); }));
}

describe('HttpRelayClient transport', () => {
  it('times out on a relay that accepts the connection but never speaks HTTP', async () => {
    const held: Socket[] = [];
    const mute = createTcpServer((s) => held.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(mute.address() as AddressInfo).port}`;
      expect(await errorOf(client(200, base).checkpoint())).toEqual({ code: 'relay_timeout', message: 'relay ch did not answer GET /checkpoint within 200 ms' });
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((r) => mute.close(() => { r(); }));
    }
  });

  it('times out on an answer whose body stalls: the deadline covers the whole exchange', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('— 1\n');
    };
    expect(await errorOf(client(300).checkpoint())).toMatchObject({ code: 'relay_timeout' });
  });

  it('cuts off a 2xx answer that declares more than the cap, without waiting for it', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/cbor', 'content-length': String(MAX_ANSWER_BYTES + 1) });
      res.write(Buffer.alloc(1024));
    };
    // A client that ignored the declared length would wait for the rest and time out instead.
    expect(await errorOf(client(20_000).getBundle('ir'))).toEqual({
      code: 'relay_response_invalid',
      message: `the relay's answer of ${MAX_ANSWER_BYTES + 1} bytes exceeds ${MAX_ANSWER_BYTES}`,
    });
  });

  it('cuts off a chunked 2xx answer once it grows past the cap, and hangs up on the relay', async () => {
    let hungUp: Promise<number> | undefined;
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/cbor' });
      hungUp = streamForever(res);
    };
    expect(await errorOf(client(20_000).getBundle('ir'))).toEqual({ code: 'relay_response_invalid', message: `the relay's answer exceeds ${MAX_ANSWER_BYTES} bytes` });
    expect(await hungUp).toBeGreaterThan(MAX_ANSWER_BYTES);
  });

  it('cuts off a chunked error answer past the smaller cap for errors', async () => {
    let hungUp: Promise<number> | undefined;
    handler = (_req, _body, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      hungUp = streamForever(res);
    };
    expect(await errorOf(client(20_000).checkpoint())).toEqual({ code: 'relay_response_invalid', message: `the relay's answer exceeds ${MAX_ERROR_BYTES} bytes` });
    await hungUp;
  });

  it('does not follow redirects: a redirect is unreachable, another 3xx is refused, neither is success', async () => {
    const seen: string[] = [];
    let status = 302;
    handler = (req, _body, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/elsewhere/v1/submit' || req.url === '/elsewhere/checkpoint') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('a checkpoint');
        return;
      }
      res.writeHead(status, { location: `${url}/elsewhere${req.url ?? ''}` });
      res.end();
    };
    for (const s of [301, 302, 303, 307, 308]) {
      status = s;
      const err = await errorOf(client().checkpoint());
      expect(err.code).toBe('relay_unreachable');
      expect(err.message).toBe(`relay ch at ${url} cannot be reached (unexpected redirect, HTTP ${s})`);
      expect(await codeOf(client().submit(new Uint8Array(4), new Uint8Array(4)))).toMatchObject({ code: 'relay_unreachable' });
    }
    for (const s of [300, 304]) {
      status = s;
      expect(await codeOf(client().checkpoint())).toMatchObject({ code: 'relay_response_invalid' });
    }
    expect(seen.filter((p) => p.startsWith('/elsewhere'))).toEqual([]);
  });

  it('reports a refused connection as unreachable, with the reason', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    expect(await errorOf(client(2000, base).checkpoint())).toEqual({
      code: 'relay_unreachable',
      message: `relay ch at ${base} cannot be reached (connect ECONNREFUSED 127.0.0.1:${port})`,
    });
  });

  it('reports a relay that hangs up mid-answer as unreachable', async () => {
    handler = (req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('half', () => req.socket.destroy());
    };
    expect(await codeOf(client().checkpoint())).toMatchObject({ code: 'relay_unreachable' });
  });

  it('declares the length of a body and keeps the documented headers', async () => {
    let headers: IncomingMessage['headers'] = {};
    let length = -1;
    handler = (req, body, res) => {
      headers = req.headers;
      length = body.length;
      res.writeHead(200, { 'content-type': 'application/cbor' });
      res.end(Buffer.from(encodeCbor({ items: [], next: 0, more: false })));
    };
    await client().fetch(0, 10);
    expect(headers['content-length']).toBe(String(length));
    expect(headers['transfer-encoding']).toBeUndefined();
    expect(headers['content-type']).toBe('application/cbor');
    expect(headers.accept).toBe('application/cbor');
    expect(typeof headers['backchannel-request']).toBe('string');
  });

  it('keeps one connection for sequential requests, and close() ends it', async () => {
    const ports: number[] = [];
    handler = (req, _body, res) => {
      ports.push(req.socket.remotePort ?? -1);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('a checkpoint');
    };
    const c = client();
    for (let i = 0; i < 3; i++) expect(await c.checkpoint()).toBe('a checkpoint');
    expect(new Set(ports).size).toBe(1);
    const conn = [...sockets].find((s) => s.remotePort === ports[0]);
    expect(conn).toBeDefined();
    const closed = new Promise<void>((r) => conn?.once('close', () => { r(); }));
    c.close();
    await closed;
    expect(await c.checkpoint()).toBe('a checkpoint');
  });

  it('lets a process with an idle keep-alive connection exit', async () => {
    const ports: number[] = [];
    handler = (req, _body, res) => {
      ports.push(req.socket.remotePort ?? -1);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('a checkpoint');
    };
    const child = spawn(process.execPath, ['--import', 'tsx', ONCE, url], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    // Only for a failed run: a process still held when the test ends does not outlive it.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // No timer here: a process the idle connection held for long would fail the test by its timeout.
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, err }).toEqual({ code: 0, err: '' });
    const report = JSON.parse(out) as { answers: string[]; active: string[] };
    expect(report.answers).toEqual(['a checkpoint', 'a checkpoint']);
    // The connection was kept for reuse, and held nothing when the script returned.
    expect(ports).toHaveLength(2);
    expect(new Set(ports).size).toBe(1);
    expect(report.active.filter((r) => r === 'TCPSocketWrap' || r === 'Timeout')).toEqual([]);
  });
});
