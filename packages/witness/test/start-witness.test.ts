/** The stand-alone witness on a socket: cosigns, answers 409 with its size after a restart. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_ROOT, Ed25519Key, deriveVkey, emptyRoot, parseVkey, signCheckpoint, verifyCosignature } from '@backchannel/core';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startWitness } from '../src/index.js';

describe('startWitness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bc-witness-pkg-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves POST /add-checkpoint durably', async () => {
    const logKey = Ed25519Key.generate();
    const origin = 'example.com/log';
    const key = Ed25519Key.generate();
    const opts = { key, name: 'witness.example/w', logs: [deriveVkey(logKey, origin)], db: join(dir, 'w.db'), listen: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) };
    let w = await startWitness(opts);
    const cp = signCheckpoint(logKey, origin, 0, emptyRoot());
    const res = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: `old 0\n\n${cp}` });
    expect(res.status).toBe(200);
    verifyCosignature(parseVkey(w.vkey), cp.slice(0, cp.indexOf('\n\n') + 1), await res.text());
    await w.close();
    w = await startWitness(opts);
    try {
      expect(EMPTY_ROOT.length).toBe(32);
      const again = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: `old 0\n\n${cp}` });
      expect(again.status).toBe(200); // size 0 again: the same (empty) tree
      expect((await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: 'nonsense' })).status).toBe(400);
    } finally {
      await w.close();
    }
  });
});
