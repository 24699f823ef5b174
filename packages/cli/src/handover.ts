/**
 * Handing a verb over to the station daemon (DESIGN.md, "The station daemon and failover": the
 * other verbs work alone when no daemon runs and hand over to it when one does).
 *
 * `serve` on a party home listens on a Unix socket in the home, `station.sock` (mode 0600, in
 * the 0700 home). `sync`, `send` and `verify` first look for it: when a daemon answers, the verb
 * runs inside the daemon, on its one open station (so a sync beside the daemon cannot fetch and
 * acknowledge the same copies twice, and its mutexes serialize the work); when none does (no
 * socket, or a stale one), the verb opens the store itself as before.
 *
 * The socket is the same user's, but the daemon still asks for proof that the caller holds the
 * desk's station key (the station passphrase), so a daemon does not lower what it takes to send:
 * it sends a random challenge; the client answers with the station key's signature over
 * `backchannel/v1/local-handover`, the challenge and the request. One request per connection,
 * newline-delimited JSON: `{"challenge"}` → `{"sig","request"}` → `{"progress"}`* then
 * `{"result"}` or `{"error":{"code","message"}}`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Ed25519Key, verifyRaw } from '@backchannel/core';
import { CliError, CodedError, EXIT, describeError } from './errors.js';
import { LAYOUT, readHomeFile, type Home, type PartyHomeJson } from './home.js';
import { KEY_LABELS, openKeyFile } from './keyfiles.js';
import { getPassphrase } from './passphrase.js';
import type { Context } from './context.js';

export const SOCKET_FILE = 'station.sock';
const LABEL = Buffer.from('backchannel/v1/local-handover\0');

/**
 * `reload`: a root operation (`rotate`, `signer add/revoke`, `station add`) changed the home's
 * keys or bundle; the daemon re-reads them into its running station (reloadDaemon).
 */
export type HandoverRequest = { verb: 'sync' } | { verb: 'verify' } | { verb: 'send'; request: Record<string, unknown>; replyTo: string | null } | { verb: 'reload' };

export function socketPath(home: Home): string {
  return join(home.dir, SOCKET_FILE);
}

function signedMessage(challenge: Buffer, request: HandoverRequest): Uint8Array {
  return new Uint8Array(Buffer.concat([LABEL, challenge, Buffer.from(JSON.stringify(request))]));
}

function lines(socket: Socket): AsyncIterator<string> {
  return createInterface({ input: socket, crlfDelay: Infinity })[Symbol.asyncIterator]();
}

/** Connects to the daemon's socket; undefined when no daemon listens (no socket, or a stale one). */
async function connect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    s.once('connect', () => {
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK') resolve(undefined);
      else reject(e);
    });
  });
}

/** Whether a daemon answers on the home's socket. */
export async function daemonRunning(home: Home): Promise<boolean> {
  const s = await connect(socketPath(home));
  s?.destroy();
  return s !== undefined;
}

/**
 * Runs `request` in the home's daemon if one runs: resolves with its result (`handed: true`),
 * or `{ handed: false }` when there is no daemon. The daemon's failure is thrown with its code.
 */
export async function handOver(ctx: Context, home: Home<PartyHomeJson>, request: HandoverRequest, onProgress?: (p: unknown) => void): Promise<{ handed: true; result: unknown } | { handed: false }> {
  const socket = await connect(socketPath(home));
  if (socket === undefined) return { handed: false };
  try {
    const pass = await getPassphrase(ctx.io, 'station', { confirm: false });
    const seed = openKeyFile(pass, KEY_LABELS.station(home.json.id, home.json.station), await readHomeFile(home, LAYOUT.stationKey));
    let key: Ed25519Key;
    try {
      key = Ed25519Key.fromSeed(seed);
    } finally {
      seed.fill(0);
    }
    ctx.out.progress('A station daemon runs on this home: handing over to it…');
    const it = lines(socket);
    const first = await it.next();
    if (first.done === true) throw new CliError('io_failed', 'the station daemon closed the connection');
    const challenge = Buffer.from((JSON.parse(first.value) as { challenge: string }).challenge, 'hex');
    socket.write(`${JSON.stringify({ sig: Buffer.from(key.signRaw(signedMessage(challenge, request))).toString('hex'), request })}\n`);
    for (;;) {
      const n = await it.next();
      if (n.done === true) throw new CliError('io_failed', 'the station daemon closed the connection before answering');
      const m = JSON.parse(n.value) as { progress?: unknown; result?: unknown; error?: { code: string; message: string; exit?: number } };
      if (m.progress !== undefined) onProgress?.(m.progress);
      else if (m.error !== undefined) throw new CodedError(m.error.code, m.error.message, m.error.exit === EXIT.usage ? EXIT.usage : m.error.exit === EXIT.misbehaviour ? EXIT.misbehaviour : EXIT.failed);
      else return { handed: true, result: m.result };
    }
  } finally {
    socket.destroy();
  }
}

/**
 * After a root operation changed the home's keys or bundle: tells a running daemon to re-read
 * them. Resolves `false` when no daemon runs (the next `serve` reads them anyway); a daemon's
 * failure to reload is thrown with its code.
 */
export async function reloadDaemon(ctx: Context, home: Home<PartyHomeJson>): Promise<boolean> {
  const r = await handOver(ctx, home, { verb: 'reload' });
  return r.handed;
}

export type HandoverHandler = (request: HandoverRequest, progress: (p: unknown) => void) => Promise<unknown>;

/**
 * The daemon's side: listens on the home's socket (refusing to start when another daemon answers
 * there; a stale socket file is replaced), checks each caller's signature with the desk's
 * station key, and runs its request with `handler`. Returns a function that stops listening.
 */
export async function serveHandover(home: Home<PartyHomeJson>, stationPub: Uint8Array, handler: HandoverHandler, onError: (e: unknown) => void): Promise<() => Promise<void>> {
  const path = socketPath(home);
  if (await daemonRunning(home)) throw new CliError('address_in_use', `a station daemon already runs on ${home.dir} (its socket ${path} answers)`);
  await unlink(path).catch(() => undefined);
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    void (async () => {
      const challenge = randomBytes(32);
      socket.write(`${JSON.stringify({ challenge: challenge.toString('hex') })}\n`);
      const n = await lines(socket).next();
      if (n.done === true) return;
      let msg: { sig: string; request: HandoverRequest };
      try {
        msg = JSON.parse(n.value) as { sig: string; request: HandoverRequest };
        if (!verifyRaw(stationPub, signedMessage(challenge, msg.request), new Uint8Array(Buffer.from(msg.sig, 'hex')))) throw new Error('bad signature');
      } catch {
        socket.end(`${JSON.stringify({ error: { code: 'permission_denied', message: 'the request is not signed with this desk’s station key' } })}\n`);
        return;
      }
      try {
        const result = await handler(msg.request, (p) => {
          socket.write(`${JSON.stringify({ progress: p })}\n`);
        });
        socket.end(`${JSON.stringify({ result })}\n`);
      } catch (e) {
        const r = describeError(e);
        socket.end(`${JSON.stringify({ error: { code: r.code, message: r.message, exit: r.exit } })}\n`);
      }
    })().catch(onError);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    await unlink(path).catch(() => undefined);
  };
}
