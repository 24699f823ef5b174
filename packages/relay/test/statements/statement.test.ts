/**
 * Statements: produced from the relay's stored submissions, verified with nothing but the
 * relay card and the parties' bundles, revealing no subject or body, refused (403) when a
 * party forbids them, opening precedence only when both parties consent; and fork evidence:
 * two checkpoints of one origin that are not consistent fail verifyConsistency, and the
 * witness refuses the second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Ed25519Key,
  REQUEST_HEADER,
  appendLeaves,
  EMPTY_FRONTIER,
  formatAddCheckpointRequest,
  hashLeaf,
  openCheckpoint,
  parseVkey,
  rootOf,
  sha256,
  signCheckpoint,
  verifyConsistency,
  verifyStatement,
} from '@backchannel/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Witness, openWitnessStore, produceStatement } from '../../src/index.js';
import type { StatementConsent } from '../../src/mandate/mandate.js';
import type { TestDb } from '../helpers/databases.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { makeWorld, marker, seal, signedHeader, submitBody, token, type World } from '../helpers/world.js';

const HOUR = 3_600_000;

describe('transmission statements', () => {
  let w: World;
  let r: InProcessRelay | undefined;
  let db: TestDb;

  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  async function setup(statements: Record<string, StatementConsent> = {}): Promise<{ subject: string; body: string }> {
    w = await makeWorld();

    r = await inProcessRelay(w, 'sqlite', { statements });
    db = r.db;
    const body = marker();
    for (const [from, to, prec] of [[w.us, w.ir, 'FLASH'], [w.ir, w.us, 'ROUTINE'], [w.us, w.ir, 'PRIORITY']] as const) {
      const env = await seal(from, to, { precedence: prec, body });
      const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(env, token(from, w.relay.origin, env)) });
      expect(res.statusCode, res.body).toBe(200);
    }
    return { subject: 'Test note', body };
  }

  const bundles = () => ({ us: w.us.card.signed.bundle, ir: w.ir.card.signed.bundle });

  async function ask(path: string, party = w.us) {
    return r!.relay.app.inject({ method: 'GET', url: path, headers: { [REQUEST_HEADER]: signedHeader({ party, method: 'GET', path, body: new Uint8Array(0) }) } });
  }

  it('GET /v1/statement verifies with only the relay card and the bundles, and carries no subject or body', async () => {
    const { subject, body } = await setup();
    const now = Date.now();
    const path = `/v1/statement?pair=us,ir&since=${now - HOUR}&until=${now + HOUR}`;
    const res = await ask(path, w.ir);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('application/cbor');
    const bytes = new Uint8Array(res.rawPayload);
    const v = verifyStatement(bytes, parseVkey(w.relay.card.vkey), bundles());
    expect(v.count).toBe(3);
    expect(v.byDirection).toEqual({ 'ir>us': 1, 'us>ir': 2 });
    expect(v.precedences).toEqual([]); // nobody consented to opening precedence
    const text = Buffer.from(bytes).toString('latin1');
    expect(text).not.toContain(body);
    expect(text).not.toContain(subject);
    // Any changed byte fails.
    const bad = Uint8Array.from(bytes);
    bad[bad.length - 70] = bad[bad.length - 70]! ^ 1;
    expect(() => verifyStatement(bad, parseVkey(w.relay.card.vkey), bundles())).toThrow();
  });

  it('produceStatement (the CLI library call) opens precedence only when both parties consent', async () => {
    await setup({ us: true, ir: true });
    await r!.relay.close();
    const now = Date.now();
    const s = await produceStatement(db.url, w.relay.logKey, { origin: w.relay.origin, pair: ['ir', 'us'], since: now - HOUR, until: now + HOUR });
    expect(s).toMatchObject({ count: 3, opened: { precedence: true, digest: true } });
    const v = verifyStatement(s.bytes, parseVkey(w.relay.card.vkey), bundles());
    expect(v.precedences).toHaveLength(3);
    await r!.raw.putParty({ ...(await r!.raw.getParty('ir'))!, statements: false });
    const s2 = await produceStatement(db.url, w.relay.logKey, { origin: w.relay.origin, pair: ['us', 'ir'], since: now - HOUR, until: now + HOUR });
    expect(s2.opened).toEqual({ precedence: false, digest: false });
    // A window with nothing in it: a valid statement of zero.
    const s3 = await produceStatement(db.url, w.relay.logKey, { origin: w.relay.origin, pair: ['us', 'ir'], since: 1000, until: 2000 });
    expect(verifyStatement(s3.bytes, parseVkey(w.relay.card.vkey), bundles()).count).toBe(0);
  });

  it('403 when a party of the pair forbids statements, or the requester is not of the pair', async () => {
    await setup({ ir: 'forbid' });
    const now = Date.now();
    const path = `/v1/statement?pair=us,ir&since=${now - HOUR}&until=${now + HOUR}`;
    const res = await ask(path);
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'statement_forbidden' } });
    await expect(produceStatement(r!.db.url, w.relay.logKey, { origin: w.relay.origin, pair: ['us', 'ir'], since: now - HOUR, until: now + HOUR })).rejects.toMatchObject({ code: 'statement_forbidden' });
    const unsigned = await r!.relay.app.inject({ method: 'GET', url: path });
    expect(unsigned.statusCode).toBe(401);
  });
});

describe('fork evidence', () => {
  it('two checkpoints of one origin signed by the relay key over different trees fail verifyConsistency, and the witness refuses the second', async () => {
    const w = await makeWorld();
    const r = await inProcessRelay(w, 'sqlite');
    const dir = mkdtempSync(join(tmpdir(), 'bc-fork-'));
    const { store, close } = await openWitnessStore(join(dir, 'w.db'));
    try {
      for (let i = 0; i < 3; i++) {
        const env = await seal(w.us, w.ir);
        await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(env, token(w.us, w.relay.origin, env)) });
      }
      const vkey = parseVkey(w.relay.card.vkey);
      const honest = (await r.relay.app.inject({ method: 'GET', url: '/checkpoint' })).body;
      const a = openCheckpoint(honest, vkey).checkpoint;
      // The relay's key signs a second tree of 5 leaves that does not extend the first.
      const leaves = Array.from({ length: 5 }, (_, i) => hashLeaf(sha256(Uint8Array.of(i))));
      const forkRoot = rootOf(appendLeaves(EMPTY_FRONTIER, leaves).frontier);
      const forked = signCheckpoint(w.relay.logKey, w.relay.origin, 5, forkRoot);
      const b = openCheckpoint(forked, vkey).checkpoint;
      // Whatever proof the relay offers, the two heads are not consistent.
      const proofRes = await r.relay.app.inject({ method: 'GET', url: `/v1/log/proof/consistency?first=3&second=3` });
      expect(proofRes.statusCode).toBe(200);
      const witness = new Witness({ key: Ed25519Key.generate(), name: 'w.example/fork', logs: [vkey] }, store);
      expect(() => { verifyConsistency(a.size, b.size, [], a.rootHash, b.rootHash); }).toThrow();
      expect((await witness.addCheckpoint(`old 0\n\n${honest}`)).status).toBe(200);
      const second = await witness.addCheckpoint(formatAddCheckpointRequest({ oldSize: 3, consistencyProof: [leaves[3]!, leaves[4]!], checkpoint: forked }));
      expect(second.status).toBe(422);
      const sameSize = await witness.addCheckpoint(formatAddCheckpointRequest({ oldSize: 3, consistencyProof: [], checkpoint: signCheckpoint(w.relay.logKey, w.relay.origin, 3, forkRoot) }));
      expect([sameSize.status, sameSize.body]).toEqual([409, '3\n']);
    } finally {
      await close();
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
