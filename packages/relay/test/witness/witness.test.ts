/**
 * The witness against every C2SP tlog-witness status case (200, 400, 403, 404, 409 with its
 * text/x.tlog.size body, 422), over HTTP on the stand-alone route and mounted in a relay,
 * with durable state across a restart, and the e2e-derived vector's real request body.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Ed25519Key,
  appendLeaves,
  consistencyNodes,
  EMPTY_FRONTIER,
  formatAddCheckpointRequest,
  fromHex,
  hashLeaf,
  parseVkey,
  rehashProof,
  rootOf,
  sha256,
  signCheckpoint,
  signNote,
  createNoteSigner,
  deriveVkey,
  verifyCosignature,
  type Frontier,
  type Vkey,
} from '@backchannel/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Witness, openWitnessStore, registerWitnessRoute, TLOG_SIZE_CONTENT_TYPE } from '../../src/index.js';

const VECTOR = JSON.parse(readFileSync(new URL('../../../../../shared/vectors/tlog/e2e-derived-example.json', import.meta.url), 'utf8')) as {
  logKey: { name: string; ed25519SeedHex: string; vkey: string };
  witnessKey: { name: string; ed25519SeedHex: string; vkey: string };
  checkpointSize4: string;
  checkpointSize7: string;
  addCheckpointRequestBody_4_to_7: string;
};

/** A toy log: leaves are 32 random-looking bytes, all hashes kept in memory for proofs. */
export class ToyLog {
  readonly key: Ed25519Key;
  readonly origin: string;
  readonly vkey: Vkey;
  leaves: Uint8Array[] = [];

  constructor(origin = 'example.com/toy-log', key = Ed25519Key.generate()) {
    this.key = key;
    this.origin = origin;
    this.vkey = deriveVkey(key, origin);
  }

  append(n: number, salt = 'a'): void {
    for (let i = 0; i < n; i++) this.leaves.push(sha256(new TextEncoder().encode(`${salt}-${this.leaves.length}`)));
  }

  frontier(size: number): { frontier: Frontier; nodes: Map<string, Uint8Array> } {
    const { frontier, completed } = appendLeaves(EMPTY_FRONTIER, this.leaves.slice(0, size).map(hashLeaf));
    const nodes = new Map<string, Uint8Array>();
    for (const c of completed) nodes.set(`${c.level}/${c.index}`, c.hash);
    return { frontier, nodes };
  }

  root(size = this.leaves.length): Uint8Array {
    return rootOf(this.frontier(size).frontier);
  }

  checkpoint(size = this.leaves.length, key = this.key): string {
    return signCheckpoint(key, this.origin, size, this.root(size));
  }

  proof(first: number, second: number): Uint8Array[] {
    if (first === 0 || first === second) return [];
    const ids = consistencyNodes(first, second);
    const { nodes } = this.frontier(second);
    return rehashProof(ids, ids.ids.map((id) => nodes.get(`${id.level}/${id.index}`)!));
  }

  body(old: number, size = this.leaves.length, proof?: Uint8Array[]): string {
    return formatAddCheckpointRequest({ oldSize: old, consistencyProof: proof ?? this.proof(old, size), checkpoint: this.checkpoint(size) });
  }
}

interface Served {
  app: FastifyInstance;
  witness: Witness;
  close(): Promise<void>;
}

async function serve(dir: string, logs: Vkey[], key: Ed25519Key, name = 'witness.example/w1', now = () => 1_700_000_000_000): Promise<Served> {
  const { store, close } = await openWitnessStore(join(dir, 'witness.db'));
  const witness = new Witness({ key, name, logs }, store, now);
  const app: FastifyInstance = Fastify();
  await registerWitnessRoute(app, witness, '');
  await app.ready();
  return {
    app,
    witness,
    close: async () => {
      await app.close();
      await close();
    },
  };
}

async function post(app: FastifyInstance, body: string, contentType = 'text/plain') {
  const r = await app.inject({ method: 'POST', url: '/add-checkpoint', payload: body, headers: { 'content-type': contentType } });
  return { status: r.statusCode, type: r.headers['content-type'] ?? '', body: r.body };
}

describe('C2SP tlog-witness add-checkpoint', () => {
  let dir: string;
  let log: ToyLog;
  let wkey: Ed25519Key;
  let s: Served;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bc-witness-'));
    log = new ToyLog();
    wkey = Ed25519Key.generate();
    s = await serve(dir, [log.vkey], wkey);
  });
  afterEach(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('200: cosigns a first checkpoint (old 0, empty proof) with one cosignature/v1 line under its own key', async () => {
    log.append(5);
    const r = await post(s.app, log.body(0));
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^— witness\.example\/w1 [A-Za-z0-9+/=]+\n$/);
    const cp = log.checkpoint();
    const cos = verifyCosignature(s.witness.vkey, cp.slice(0, cp.indexOf('\n\n') + 1), r.body);
    expect(cos.timestamp).toBe(1_700_000_000);
    expect(s.witness.vkey.type).toBe(0x04);
  });

  it('200 then 200: grows with a valid consistency proof; same checkpoint again is 200', async () => {
    log.append(5);
    expect((await post(s.app, log.body(0))).status).toBe(200);
    log.append(9);
    expect((await post(s.app, log.body(5))).status).toBe(200);
    expect((await post(s.app, log.body(14, 14))).status).toBe(200);
  });

  it('accepts any Content-Type, or none', async () => {
    log.append(3);
    expect((await post(s.app, log.body(0), 'application/octet-stream')).status).toBe(200);
    const r = await s.app.inject({ method: 'POST', url: '/add-checkpoint', payload: Buffer.from(log.body(3)) });
    expect(r.statusCode).toBe(200);
  });

  it('400: malformed bodies and old size above the checkpoint size', async () => {
    log.append(4);
    for (const bad of ['', 'old 01\n\n' + log.checkpoint(), 'old 0\n' + log.checkpoint(), 'old 0\nnot-base64\n\n' + log.checkpoint(), `old 0\n\n${signNote(`${log.origin}\nfour\nAAAA\n`, [createNoteSigner(log.key, log.origin)])}`]) {
      expect((await post(s.app, bad)).status, JSON.stringify(bad.slice(0, 30))).toBe(400);
    }
    expect((await post(s.app, formatAddCheckpointRequest({ oldSize: 9, consistencyProof: [new Uint8Array(32)], checkpoint: log.checkpoint() }))).status).toBe(400);
  });

  it('403: no signature by a trusted key for the origin (another key, or a bad signature)', async () => {
    log.append(4);
    const other = new ToyLog(log.origin);
    other.leaves = log.leaves;
    expect((await post(s.app, other.body(0))).status).toBe(403);
    const cp = log.checkpoint();
    const tampered = cp.replace(/ ([A-Za-z0-9+/]{8})([A-Za-z0-9+/])/, (_m, a: string, b: string) => ` ${a}${b === 'A' ? 'B' : 'A'}`);
    expect((await post(s.app, `old 0\n\n${tampered}`)).status).toBe(403);
  });

  it('404: unknown origin', async () => {
    const stranger = new ToyLog('example.net/unknown');
    stranger.append(2);
    expect((await post(s.app, stranger.body(0))).status).toBe(404);
  });

  it('409: old size is not the size last cosigned, with a text/x.tlog.size body', async () => {
    log.append(6);
    expect((await post(s.app, log.body(0))).status).toBe(200);
    log.append(2);
    const r = await post(s.app, log.body(0)); // the client forgot: old 0
    expect(r.status).toBe(409);
    expect(r.type).toBe(TLOG_SIZE_CONTENT_TYPE);
    expect(r.body).toBe('6\n');
    const r2 = await post(s.app, log.body(3));
    expect([r2.status, r2.body]).toEqual([409, '6\n']);
    // Resending from the size the witness named succeeds.
    expect((await post(s.app, log.body(6))).status).toBe(200);
  });

  it('409: the same size with another root (a fork)', async () => {
    log.append(4);
    expect((await post(s.app, log.body(0))).status).toBe(200);
    const fork = new ToyLog(log.origin, log.key);
    fork.append(4, 'forked');
    const r = await post(s.app, fork.body(4, 4));
    expect([r.status, r.type, r.body]).toEqual([409, TLOG_SIZE_CONTENT_TYPE, '4\n']);
  });

  it('422: a consistency proof that does not verify (including a forked history signed by the log key)', async () => {
    log.append(4);
    expect((await post(s.app, log.body(0))).status).toBe(200);
    log.append(3);
    const good = log.proof(4, 7);
    const bad = good.map((h, i) => (i === 0 ? sha256(h) : h));
    expect((await post(s.app, log.body(4, 7, bad))).status).toBe(422);
    expect((await post(s.app, log.body(4, 7, []))).status).toBe(422);
    // A second tree of the same origin, signed with the log key, whose prefix differs.
    const fork = new ToyLog(log.origin, log.key);
    fork.append(9, 'forked');
    expect((await post(s.app, formatAddCheckpointRequest({ oldSize: 4, consistencyProof: fork.proof(4, 9), checkpoint: fork.checkpoint() }))).status).toBe(422);
    // Nothing was recorded by the refusals.
    expect((await post(s.app, log.body(4))).status).toBe(200);
  });

  it('keeps the last cosigned size and root across a restart (durable, SQLite WAL)', async () => {
    log.append(5);
    expect((await post(s.app, log.body(0))).status).toBe(200);
    await s.close();
    s = await serve(dir, [log.vkey], wkey);
    const r = await post(s.app, log.body(0));
    expect([r.status, r.body]).toEqual([409, '5\n']);
    const fork = new ToyLog(log.origin, log.key);
    fork.append(5, 'forked');
    expect((await post(s.app, fork.body(5, 5))).status).toBe(409);
    log.append(1);
    expect((await post(s.app, log.body(5))).status).toBe(200);
  });

  it('concurrent requests for one origin never roll the size back', async () => {
    log.append(8);
    const bodies = [log.body(0, 3), log.body(0, 8), log.body(0, 5)];
    const rs = await Promise.all(bodies.map((b) => post(s.app, b)));
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
    const won = [3, 8, 5][rs.findIndex((r) => r.status === 200)]!;
    expect((await post(s.app, log.body(0))).body).toBe(`${won}\n`);
  });

  it('refuses a cosigning key that is a log key', () => {
    expect(() => new Witness({ key: log.key, name: 'w', logs: [log.vkey] }, { getLog: () => Promise.resolve(undefined), advance: () => Promise.resolve(undefined) })).toThrow(/must not be a log key/);
  });
});

describe('the e2e-derived example', () => {
  it('cosigns the real 4 → 7 request body after 4 was cosigned, and the line verifies like the vector', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bc-witness-'));
    const wkey = Ed25519Key.fromSeed(fromHex(VECTOR.witnessKey.ed25519SeedHex));
    const logVkey = parseVkey(VECTOR.logKey.vkey);
    const s = await serve(dir, [logVkey], wkey, VECTOR.witnessKey.name, () => 1_700_000_000_000);
    try {
      expect((await post(s.app, `old 0\n\n${VECTOR.checkpointSize4}`)).status).toBe(200);
      const r = await post(s.app, VECTOR.addCheckpointRequestBody_4_to_7);
      expect(r.status).toBe(200);
      const cp7 = VECTOR.checkpointSize7;
      verifyCosignature(parseVkey(VECTOR.witnessKey.vkey), cp7.slice(0, cp7.indexOf('\n\n') + 1), r.body);
      // Same key, same timestamp as the vector: the very same line (Ed25519 is deterministic).
      const line = (JSON.parse(readFileSync(new URL('../../../../../shared/vectors/tlog/e2e-derived-example.json', import.meta.url), 'utf8')) as { witnessCosignatureOnSize7: { line: string } }).witnessCosignatureOnSize7.line;
      expect(r.body).toBe(line);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
