/**
 * The stack's floor for durable accept (issue 9, part 1's last rows): the least a server built on the
 * relay's own dependencies must do per submission, and nothing more, answered the way the
 * relay answers so the same load generator drives it.
 *
 * Per request: Fastify reads the CBOR body (the same route shape, body limit and
 * content type), cborg decodes it, one Ed25519 verification of the submission token's
 * signature (node:crypto's asynchronous one-shot, on libuv's thread pool, so the event loop
 * never waits for it), then the envelope joins a group commit: what arrived while the previous
 * batch was written is one transaction (better-sqlite3 in WAL mode with synchronous=FULL, the
 * relay's durability, or one PostgreSQL INSERT), and the answer leaves only after that COMMIT
 * returned. The answer is CBOR {index, duplicate,
 * receipt} with an empty receipt.
 *
 * Left out, on purpose, because they are the protocol's and not the stack's: the envelope's
 * and the token's semantic checks (mandate, pair, station, freshness, digest binding), the
 * rate limits, the log leaf and its commitment, the Merkle tree, the checkpoint signature,
 * the receipt, deduplication and the push. What the relay measures above this floor is the
 * price of those; what this floor measures is the price of Node, Fastify, cborg, SQLite's
 * fsync and one verification on this machine, which no relay on this stack can go below.
 */
import { createPublicKey, createHash, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { decode, encode } from 'cborg';
import Fastify from 'fastify';
import pg from 'pg';
import { LABELS } from '../../packages/core/src/index.js';

export interface StackFloor {
  port: number;
  close(): Promise<void>;
}

interface Pending {
  digest: Buffer;
  envelope: Uint8Array;
  token: Uint8Array;
  resolve(index: number): void;
  reject(e: unknown): void;
}

// The DER prefix of an Ed25519 SubjectPublicKeyInfo: a raw 32-byte key follows it.
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
// What a token's signature covers: the label, a zero byte, the body (core's ed25519.ts `labelled`).
const SUBMIT_LABEL = Buffer.concat([Buffer.from(LABELS.submit, 'utf8'), Buffer.of(0)]);

/** The body's two byte strings (the relay's SubmitBody), or an error. */
function submission(v: unknown): { envelope: Uint8Array; token: Uint8Array } {
  const m = v as { envelope?: unknown; token?: unknown } | null;
  if (m === null || typeof m !== 'object' || !(m.envelope instanceof Uint8Array) || !(m.token instanceof Uint8Array)) throw new Error('envelope and token must be byte strings');
  return { envelope: m.envelope, token: m.token };
}

/** A Signed wrapper's body, key and signature (core's signed.ts), or an error. */
function signedToken(v: unknown): { b: Uint8Array; k: Uint8Array; s: Uint8Array } {
  const m = v as { b?: unknown; k?: unknown; s?: unknown } | null;
  if (m === null || typeof m !== 'object' || !(m.b instanceof Uint8Array) || !(m.k instanceof Uint8Array) || m.k.length !== 32 || !(m.s instanceof Uint8Array) || m.s.length !== 64) {
    throw new Error('the token is not a signed structure {b, k (32 bytes), s (64 bytes)}');
  }
  return { b: m.b, k: m.k, s: m.s };
}

/**
 * The store: `sqlite:<path>` or a PostgreSQL URL. On SQLite, `commitOn` 'loop' runs each COMMIT
 * on the event loop (which waits out its fsync), 'thread' on a writer thread, one batch at a
 * time, as the relay's SQLite store does. On PostgreSQL each batch is one INSERT of all its
 * rows (one round trip, committed on its own), one batch at a time, as the relay's commit is.
 * `http` 'node' serves it on bare node:http instead of Fastify.
 */
export async function startStackFloor(o: { db: string; bodyLimit: number; commitOn: 'loop' | 'thread'; http?: 'fastify' | 'node' }): Promise<StackFloor> {
  const postgres = !o.db.startsWith('sqlite:');
  const dbPath = o.db.slice('sqlite:'.length);
  let pgClient: pg.Client | undefined;
  let db: Database.Database | undefined;
  if (postgres) {
    pgClient = new pg.Client({ connectionString: o.db });
    await pgClient.connect();
    const sync = (await pgClient.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]?.synchronous_commit;
    if (sync === 'off') throw new Error('the floor database is not durable: synchronous_commit is off');
    await pgClient.query('CREATE TABLE IF NOT EXISTS envelopes (idx bigint PRIMARY KEY, digest bytea NOT NULL UNIQUE, bytes bytea NOT NULL, token bytea NOT NULL)');
  } else {
    db = new Database(dbPath);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    if (Number(db.pragma('synchronous', { simple: true })) < 2) throw new Error('the floor database is not durable');
    db.exec('CREATE TABLE IF NOT EXISTS envelopes (idx INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, bytes BLOB NOT NULL, token BLOB NOT NULL)');
  }
  const insert = db?.prepare('INSERT INTO envelopes (idx, digest, bytes, token) VALUES (?, ?, ?, ?)');
  let size = 0;
  const commit = db?.transaction((batch: Pending[]) => {
    for (let i = 0; i < batch.length; i++) insert!.run(size + i, batch[i]!.digest, batch[i]!.envelope, batch[i]!.token);
  });

  let queue: Pending[] = [];
  let scheduled = false;
  const writer = !postgres && o.commitOn === 'thread' ? new Worker(new URL('./stack-floor-writer.js', import.meta.url), { workerData: { dbPath } }) : undefined;
  let writing = false;
  const written = (batch: Pending[], first: number, error?: unknown): void => {
    if (error !== undefined) {
      for (const p of batch) p.reject(error);
      return;
    }
    size = Math.max(size, first + batch.length);
    batch.forEach((p, i) => { p.resolve(first + i); });
  };
  const flush = (): void => {
    scheduled = false;
    if (writing || queue.length === 0) return;
    const batch = queue;
    queue = [];
    const first = size;
    if (pgClient !== undefined) {
      writing = true;
      pgClient
        .query('INSERT INTO envelopes (idx, digest, bytes, token) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[])', [
          batch.map((_, i) => first + i),
          batch.map((p) => p.digest),
          batch.map((p) => Buffer.from(p.envelope.buffer, p.envelope.byteOffset, p.envelope.byteLength)),
          batch.map((p) => Buffer.from(p.token.buffer, p.token.byteOffset, p.token.byteLength)),
        ])
        .then(
          () => { written(batch, first); },
          (e: unknown) => { written(batch, first, e); },
        )
        .finally(() => {
          writing = false;
          flush();
        });
      return;
    }
    if (writer === undefined) {
      try {
        commit!.immediate(batch);
      } catch (e) {
        written(batch, first, e);
        return;
      }
      written(batch, first);
      return;
    }
    // One batch at a time on the writer; what arrives meanwhile is the next batch.
    writing = true;
    writer.once('message', (m: { ok: boolean; message?: string }) => {
      writing = false;
      written(batch, first, m.ok ? undefined : new Error(m.message));
      flush();
    });
    writer.postMessage({ first, rows: batch.map((p) => [p.digest, p.envelope, p.token]) });
  };
  const enqueue = (p: Omit<Pending, 'resolve' | 'reject'>): Promise<number> =>
    new Promise((resolve, reject) => {
      queue.push({ ...p, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });

  // KeyObjects cached as the relay's verifiers cache them (an import costs more than a check).
  const keys = new Map<string, KeyObject>();
  const keyOf = (raw: Uint8Array): KeyObject => {
    const hex = Buffer.from(raw).toString('hex');
    let k = keys.get(hex);
    if (k === undefined) {
      if (keys.size >= 1024) keys.clear();
      keys.set(hex, (k = createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: 'der', type: 'spki' })));
    }
    return k;
  };
  /** The token's signature, checked on libuv's thread pool; false for a key that is not one. */
  const verified = (t: { b: Uint8Array; k: Uint8Array; s: Uint8Array }): Promise<boolean> =>
    new Promise((resolve) => {
      let key: KeyObject;
      try {
        key = keyOf(t.k);
      } catch {
        resolve(false);
        return;
      }
      nodeVerify(null, Buffer.concat([SUBMIT_LABEL, t.b]), key, t.s, (err, ok) => {
        resolve(err === null && ok);
      });
    });

  /** One submission, start to answer: the status and the body to send. */
  const accept = async (raw: Buffer): Promise<{ status: number; type: string; body: Buffer | string }> => {
    let envelope: Uint8Array;
    let token: Uint8Array;
    let signed: { b: Uint8Array; k: Uint8Array; s: Uint8Array };
    try {
      ({ envelope, token } = submission(decode(raw)));
      signed = signedToken(decode(token));
    } catch (e) {
      return { status: 400, type: 'text/plain', body: `bad submission: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (!(await verified(signed))) return { status: 403, type: 'text/plain', body: 'the token signature does not verify' };
    const digest = createHash('sha256').update(envelope).digest();
    const index = await enqueue({ digest, envelope, token });
    return { status: 200, type: 'application/cbor', body: Buffer.from(encode({ index, duplicate: false, receipt: '' })) };
  };

  const closeStore = async (): Promise<void> => {
    if (writer !== undefined) await writer.terminate();
    db?.close();
    await pgClient?.end();
  };
  return o.http === 'node' ? bareServer(o.bodyLimit, accept, closeStore) : fastifyServer(o.bodyLimit, accept, closeStore);
}

type Accept = (raw: Buffer) => Promise<{ status: number; type: string; body: Buffer | string }>;

/** The relay's arrangement: a Fastify route with a CBOR body parser. */
async function fastifyServer(bodyLimit: number, accept: Accept, closeStore: () => Promise<void>): Promise<StackFloor> {
  const app = Fastify({ logger: false, bodyLimit });
  app.addContentTypeParser('application/cbor', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    done(null, body);
  });
  app.post('/v1/submit', async (req, reply) => {
    const a = await accept(req.body as Buffer);
    return reply.code(a.status).type(a.type).send(a.body);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the floor server has no port');
  return {
    port: address.port,
    close: async () => {
      await app.close();
      await closeStore();
    },
  };
}

/**
 * node:http alone, no framework: what leaving Fastify would buy. Only POST /v1/submit with a
 * body within the limit; anything else is refused as Fastify would refuse it.
 */
async function bareServer(bodyLimit: number, accept: Accept, closeStore: () => Promise<void>): Promise<StackFloor> {
  const server = createServer((req, res) => {
    const answer = (status: number, type: string, body: Buffer | string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'POST' || req.url !== '/v1/submit') {
      answer(404, 'text/plain', 'not found');
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (c: Buffer) => {
      length += c.length;
      if (length > bodyLimit) {
        // Answered once; the rest of the body is read and dropped.
        if (!res.headersSent) answer(413, 'text/plain', 'body too large');
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      accept(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)).then(
        (a) => { answer(a.status, a.type, a.body); },
        (e: unknown) => { answer(500, 'text/plain', e instanceof Error ? e.message : String(e)); },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the floor server has no port');
  return {
    port: address.port,
    close: async () => {
      // Keep-alive connections would hold close() open: they are ended with it.
      const closed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
      server.closeAllConnections();
      await closed;
      await closeStore();
    },
  };
}
