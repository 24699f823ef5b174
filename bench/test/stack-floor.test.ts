/**
 * The stack's floor (support/stack-floor.ts) does the work its figure claims: every accepted
 * submission is verified and durably stored before its answer, and a forged or malformed one
 * is refused and stores nothing — so part 1's floor row is not a server that skips work.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { decodeCbor, encodeCbor, type CborMap } from '../../packages/core/src/index.js';
import { benchParties, benchRelay } from '../relay-accept-world.js';
import { createScratchDatabase } from '../support/postgres.js';
import { startStackFloor, type StackFloor } from '../support/stack-floor.js';
import { sealSubmission } from '../support/submission.js';

async function post(port: number, body: Uint8Array): Promise<{ status: number; body: Uint8Array }> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: Buffer.from(body) });
  return { status: r.status, body: new Uint8Array(await r.arrayBuffer()) };
}

describe.each([
  ['thread', 'fastify'],
  ['loop', 'fastify'],
  ['thread', 'node'],
] as const)("the stack's floor on SQLite, commits on the %s, served by %s", (commitOn, http) => {
  let dir: string;
  let floor: StackFloor;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bc-floor-'));
    floor = await startStackFloor({ db: `sqlite:${join(dir, 'floor.db')}`, bodyLimit: 1 << 20, commitOn, http });
  });
  afterEach(async () => {
    await floor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = (): { idx: number; bytes: Buffer }[] => {
    const db = new Database(join(dir, 'floor.db'), { readonly: true });
    try {
      return db.prepare('SELECT idx, bytes FROM envelopes ORDER BY idx').all() as { idx: number; bytes: Buffer }[];
    } finally {
      db.close();
    }
  };

  it('answers each submission with a new index once its envelope is stored, and refuses forged and malformed ones', async () => {
    const { us, ir } = await benchParties();
    const bodies = await Promise.all([0, 1, 2].map(() => sealSubmission(us, ir, benchRelay().origin, { subject: 'floor', body: 'a routine matter' })));
    const answers = await Promise.all(bodies.map((b) => post(floor.port, b)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const indices = answers.map((a) => (decodeCbor(a.body) as CborMap).index as number).sort();
    expect(indices).toEqual([0, 1, 2]);
    const stored = rows();
    expect(stored.map((r) => r.idx)).toEqual([0, 1, 2]);
    const envelopes = bodies.map((b) => Buffer.from((decodeCbor(b) as CborMap).envelope as Uint8Array).toString('hex')).sort();
    expect(stored.map((r) => r.bytes.toString('hex')).sort()).toEqual(envelopes);

    // A token whose signature does not verify: 403, nothing stored.
    const m = decodeCbor(bodies[0]!) as CborMap;
    const token = decodeCbor(m.token as Uint8Array) as CborMap;
    const sig = Uint8Array.from(token.s as Uint8Array);
    sig[0]! ^= 1;
    expect((await post(floor.port, encodeCbor({ envelope: m.envelope!, token: encodeCbor({ ...token, s: sig }) }))).status).toBe(403);
    // A key that is no Ed25519 point, a token that is not a signed structure, bytes that are not CBOR.
    expect((await post(floor.port, encodeCbor({ envelope: m.envelope!, token: encodeCbor({ ...token, k: new Uint8Array(32).fill(0xff) }) }))).status).toBe(403);
    expect((await post(floor.port, encodeCbor({ envelope: m.envelope!, token: encodeCbor({ b: new Uint8Array(1) }) }))).status).toBe(400);
    expect((await post(floor.port, Uint8Array.of(0xff, 0x00)))).toMatchObject({ status: 400 });
    // A body over the limit is refused before it is read whole.
    expect((await post(floor.port, new Uint8Array((1 << 20) + 1))).status).toBe(413);
    expect(rows()).toHaveLength(3);
  });
});

// PostgreSQL when the run has it (vitest's global setup announces a skip, or fails under BACKCHANNEL_REQUIRE_PG=1).
const pgAdminUrl = inject('pgAdminUrl');
describe.skipIf(pgAdminUrl === null)("the stack's floor on PostgreSQL", () => {
  it('stores every accepted envelope in one INSERT a batch and refuses a forged token', async () => {
    const admin = new pg.Client({ connectionString: pgAdminUrl! });
    await admin.connect();
    const scratch = await createScratchDatabase(admin, `bc_floor_test_${process.pid}`);
    const floor = await startStackFloor({ db: scratch.url, bodyLimit: 1 << 20, commitOn: 'thread' });
    try {
      const { us, ir } = await benchParties();
      const bodies = await Promise.all([0, 1, 2, 3].map(() => sealSubmission(us, ir, benchRelay().origin, { subject: 'floor', body: 'a routine matter' })));
      const answers = await Promise.all(bodies.map((b) => post(floor.port, b)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(answers.map((a) => (decodeCbor(a.body) as CborMap).index as number).sort()).toEqual([0, 1, 2, 3]);
      const m = decodeCbor(bodies[0]!) as CborMap;
      const token = decodeCbor(m.token as Uint8Array) as CborMap;
      expect((await post(floor.port, encodeCbor({ envelope: m.envelope!, token: encodeCbor({ ...token, b: Uint8Array.of(0) }) }))).status).toBe(403);
      const c = new pg.Client({ connectionString: scratch.url });
      await c.connect();
      try {
        const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM envelopes');
        expect(Number(rows[0]!.n)).toBe(4);
      } finally {
        await c.end();
      }
    } finally {
      await floor.close();
      await scratch.drop();
    }
  });
});
