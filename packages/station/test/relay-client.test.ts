/**
 * The relay client's transport behaviour against real loopback HTTP servers that misbehave on
 * purpose: JSON errors become typed errors with the relay's code, a stalled relay times out, a
 * closed port is unreachable, malformed answers are refused, and signed requests bind method,
 * path with query, and body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
