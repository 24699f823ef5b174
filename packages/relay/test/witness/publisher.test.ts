/**
 * A relay submits each new checkpoint to its witnesses and serves /checkpoint with their
 * cosignatures; the witness here is another relay (RelayOptions.witness, mounted at
 * /witness/add-checkpoint). A restarted publisher that does not know the witness's size learns
 * it from the 409 and resends from there. Submissions never wait for witnesses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ed25519Key, SIGNATURE_TYPE_COSIGNATURE_V1, deriveVkey, openCheckpoint, parseVkey, verifyCosignatures } from '@backchannel/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/index.js';
import { sqliteDb, type TestDb } from '../helpers/databases.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { makeWorld, relayIdentity, seal, submitBody, token, type World } from '../helpers/world.js';

describe('witnessed checkpoints', () => {
  let w: World;
  let witnessRelay: RunningRelay;
  let dir: string;
  const witnessKey = Ed25519Key.generate();
  const witnessName = 'om.example/witness';
  const witnessVkey = deriveVkey(witnessKey, witnessName, SIGNATURE_TYPE_COSIGNATURE_V1);

  beforeAll(async () => {
    w = await makeWorld();
    dir = mkdtempSync(join(tmpdir(), 'bc-witness-relay-'));
    const om = relayIdentity('om', 'http://127.0.0.1:7002');
    witnessRelay = await startRelay({
      id: om.id,
      name: om.name,
      url: om.url,
      origin: om.origin,
      logKey: om.logKey,
      card: om.card,
      db: `sqlite:${join(dir, 'om.db')}`,
      listen: { host: '127.0.0.1', port: 0 },
      logger: pino({ level: 'silent' }),
      witness: { key: witnessKey, name: witnessName, logs: [parseVkey(w.relay.card.vkey)] },
    });
  });
  afterAll(async () => {
    await witnessRelay.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function submitSome(r: InProcessRelay, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const env = await seal(w.us, w.ir);
      const res = await r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: submitBody(env, token(w.us, w.relay.origin, env)) });
      expect(res.statusCode, res.body).toBe(200);
    }
  }

  async function cosignedCheckpoint(r: InProcessRelay): Promise<{ size: number; witnesses: number }> {
    await r.relay.ctx.publisher.settle();
    const note = (await r.relay.app.inject({ method: 'GET', url: '/checkpoint' })).body;
    const { checkpoint, note: opened } = openCheckpoint(note, parseVkey(w.relay.card.vkey));
    const cos = verifyCosignatures(opened.text, opened.signatures, [witnessVkey]);
    return { size: checkpoint.size, witnesses: cos.length };
  }

  it('submits every new checkpoint, serves the cosignatures, and resends from the size named by a 409 after a restart', async () => {
    const db: TestDb = sqliteDb();
    const witnesses = [{ url: `${witnessRelay.url}/witness`, vkey: witnessVkey }];
    let r = await inProcessRelay(w, 'sqlite', { db, witnesses });
    try {
      await submitSome(r, 3);
      expect(await cosignedCheckpoint(r)).toEqual({ size: 3, witnesses: 1 });
      await submitSome(r, 2);
      expect(await cosignedCheckpoint(r)).toEqual({ size: 5, witnesses: 1 });
      await r.close();
      // A fresh publisher believes the witness knows nothing (old 0): 409 "5", then 5 → 7.
      r = await inProcessRelay(w, 'sqlite', { db, witnesses });
      expect(await cosignedCheckpoint(r)).toEqual({ size: 5, witnesses: 1 }); // stored cosignatures are served after a restart
      await submitSome(r, 2);
      expect(await cosignedCheckpoint(r)).toEqual({ size: 7, witnesses: 1 });
      expect(await r.raw.latestCosignedSize(1)).toBe(7);
    } finally {
      await r.close();
      await db.drop();
    }
  });

  it('never blocks submissions on an unreachable witness, and ignores lines by keys it does not know', async () => {
    const db: TestDb = sqliteDb();
    const r = await inProcessRelay(w, 'sqlite', { db, witnesses: [{ url: 'http://127.0.0.1:9/witness', vkey: witnessVkey }] });
    try {
      const t0 = Date.now();
      await submitSome(r, 3);
      expect(Date.now() - t0).toBeLessThan(5000);
      const note = (await r.relay.app.inject({ method: 'GET', url: '/checkpoint' })).body;
      expect(openCheckpoint(note, parseVkey(w.relay.card.vkey)).checkpoint.size).toBe(3);
    } finally {
      await r.close();
      await db.drop();
    }
  });

  it('the mounted witness refuses logs it was not configured for (404)', async () => {
    const stranger = relayIdentity('qa', 'http://127.0.0.1:7003');
    const res = await fetch(`${witnessRelay.url}/witness/add-checkpoint`, { method: 'POST', body: `old 0\n\n${(await import('@backchannel/core')).signCheckpoint(stranger.logKey, stranger.origin, 0, new Uint8Array(32))}` });
    expect(res.status).toBe(404);
  });
});
