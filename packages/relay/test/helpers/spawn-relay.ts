/** Starts test/fixtures/relay-process.ts as a real process and talks to it over loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { toHex, partyCardJson, type CborMap, type Ed25519Key } from '@backchannel/core';
import WebSocket from 'ws';
import type { RelayProcessOptions } from '../fixtures/relay-process.js';
import { decode, signedHeader, type Party, type RelayIdentity } from './world.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/relay-process.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export interface RelayProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  /** SIGTERM and wait for a clean exit (code 0). */
  stop(): Promise<number | null>;
  /** kill -9 and wait for the process to be gone. */
  kill9(): Promise<void>;
  /** Its memory right after a full garbage collection (bytes): live heap and buffers, and RSS. */
  liveMemory(): Promise<LiveMemory>;
}

export interface LiveMemory {
  rss: number;
  heapUsed: number;
  /** Memory outside V8's heap that JS objects hold, buffers included. */
  external: number;
  arrayBuffers: number;
}

export function processOptions(relay: RelayIdentity, db: string, parties: Party[], extra: Partial<RelayProcessOptions> = {}): RelayProcessOptions {
  return {
    id: relay.id,
    name: relay.name,
    url: relay.url,
    origin: relay.origin,
    logKeySeed: toHex(relay.logKey.exportSeed()),
    card: relay.card,
    db,
    listen: { host: '127.0.0.1', port: 0 },
    mandate: parties.map((p) => ({ card: partyCardJson(p.keys.bundle) })),
    ...extra,
  };
}

export async function spawnRelay(options: RelayProcessOptions): Promise<RelayProcess> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', FIXTURE], {
    cwd: REPO,
    env: { ...process.env, BACKCHANNEL_RELAY_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  // Lines after the first answer liveMemory(), in order.
  const memoryWaiters: ((m: LiveMemory) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let started = false;
    // Generous: on a loaded two-core machine tsx alone can take many seconds. A process that did not
    // start is killed, so it cannot hold the port (or the database) for the next attempt.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`relay process did not start: ${err}`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (!started) {
          started = true;
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        } else if (line.startsWith('{"memory":')) {
          memoryWaiters.shift()?.((JSON.parse(line) as { memory: LiveMemory }).memory);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`relay process exited (${String(code)}) before listening: ${err}`));
    });
  });
  return {
    url,
    child,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    liveMemory: async () =>
      new Promise<LiveMemory>((resolve, reject) => {
        const waiter = (m: LiveMemory): void => {
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => {
          memoryWaiters.splice(memoryWaiters.indexOf(waiter), 1);
          reject(new Error('relay process did not report its memory within 30 s'));
        }, 30_000);
        memoryWaiters.push(waiter);
        child.kill('SIGUSR2');
      }),
  };
}

export async function post(url: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; body: CborMap | { error: { code: string } } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/cbor', ...headers }, body: new Uint8Array(body) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: type.includes('cbor') ? decode(bytes) : (JSON.parse(Buffer.from(bytes).toString()) as { error: { code: string } }) };
}

/** A desk's push connection: authenticated, collecting CBOR frames. */
export async function pushClient(
  relayUrl: string,
  party: Party,
  station?: Ed25519Key,
): Promise<{ frames: CborMap[]; next(type: string, timeoutMs?: number): Promise<CborMap>; close(): void; closed: Promise<number> }> {
  const socket = new WebSocket(`${relayUrl.replace(/^http/, 'ws')}/v1/push`);
  const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => { resolve(code); }));
  const frames: CborMap[] = [];
  const waiters: { type: string; resolve: (f: CborMap) => void }[] = [];
  socket.on('message', (data: Buffer) => {
    const f = decode(data);
    const i = waiters.findIndex((w) => w.type === f.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(f);
    else frames.push(f);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => { resolve(); });
    socket.once('error', reject);
  });
  socket.send(signedHeader({ party, ...(station === undefined ? {} : { station }), method: 'GET', path: '/v1/push', body: new Uint8Array(0) }));
  return {
    frames,
    next: (type, timeoutMs = 5000) => {
      const i = frames.findIndex((f) => f.type === type);
      if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => { reject(new Error(`no ${type} frame within ${timeoutMs} ms`)); }, timeoutMs);
        waiters.push({ type, resolve: (f) => { clearTimeout(t); resolve(f); } });
      });
    },
    close: () => { socket.close(); },
    closed,
  };
}
