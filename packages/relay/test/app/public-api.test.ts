/**
 * The exports the CLI codes against: initRelayDatabase, addPartyToMandate and startRelay —
 * their results, their refusals (typed codes), and TLS.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createParty, parsePartyCard, partyCardJson, signBundle } from '@backchannel/core';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { addPartyToMandate, initRelayDatabase, startRelay, type RelayOptions } from '../../src/index.js';
import { openStore } from '../../src/store/open-store.js';
import { backends, sqliteDb, testDb } from '../helpers/databases.js';
import { makeWorld, relayIdentity } from '../helpers/world.js';

const silent = pino({ level: 'silent' });

describe.each(backends())('initRelayDatabase and addPartyToMandate on %s', (backend) => {
  it('create the database, add, update and refuse parties', async () => {
    const db = await testDb(backend);
    try {
      await initRelayDatabase(db.url);
      const w = await makeWorld();
      expect(await addPartyToMandate(db.url, w.us.card)).toEqual({ added: true, seq: 1 });
      expect(await addPartyToMandate(db.url, w.us.card, { allow: ['ir'], statements: true })).toEqual({ added: false, seq: 1 });
      // A newer bundle under the same root replaces the held one; an older one changes nothing.
      const b2 = signBundle(w.us.keys.root, { ...w.us.keys.bundle.bundle, seq: 2, issued: Date.now(), prev: w.us.keys.bundle.hash });
      expect(await addPartyToMandate(db.url, parsePartyCard(partyCardJson(b2)))).toEqual({ added: false, seq: 2 });
      expect(await addPartyToMandate(db.url, w.us.card)).toEqual({ added: false, seq: 2 });
      // Another root for a known party: an alert, never accepted.
      const impostor = await createParty({ id: 'us', name: 'United States', now: Date.now() });
      await expect(addPartyToMandate(db.url, parsePartyCard(partyCardJson(impostor.bundle)))).rejects.toMatchObject({ code: 'root_mismatch' });
      const store = await openStore(db.url);
      const held = await store.getParty('us');
      await store.close();
      expect(held).toMatchObject({ seq: 2, allow: ['ir'], statements: true });
      await expect(initRelayDatabase('sqlite::memory:')).rejects.toMatchObject({ code: 'storage_not_durable' });
    } finally {
      await db.drop();
    }
  });
});

describe('startRelay', () => {
  async function options(db: string): Promise<RelayOptions> {
    const w = await makeWorld();
    return { ...w.relay, db, listen: { host: '127.0.0.1', port: 0 }, logger: silent, mandate: [{ card: w.us.card }, { card: w.ir.card }] };
  }

  it('listens on an ephemeral port, serves, and closes (twice is fine)', async () => {
    const db = sqliteDb();
    const relay = await startRelay(await options(db.url));
    expect(relay.url).toBe(`http://127.0.0.1:${relay.port}`);
    expect(relay.port).toBeGreaterThan(0);
    expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
    await relay.close();
    await relay.close();
    await expect(fetch(`${relay.url}/healthz`)).rejects.toThrow();
    await db.drop();
  });

  it('refuses a store that is not durable, and a card that is not its own', async () => {
    await expect(startRelay(await options('sqlite::memory:'))).rejects.toMatchObject({ code: 'storage_not_durable' });
    const db = sqliteDb();
    const o = await options(db.url);
    await expect(startRelay({ ...o, card: relayIdentity().card })).rejects.toMatchObject({ code: 'config_invalid' });
    await expect(startRelay({ ...o, db: 'nosuch://x' })).rejects.toMatchObject({ code: 'config_invalid' });
    await db.drop();
  });

  it('serves HTTPS when given a certificate', async () => {
    const db = sqliteDb();
    const dir = db.dir!;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const relay = await startRelay({ ...(await options(db.url)), tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    try {
      expect(relay.url.startsWith('https://127.0.0.1:')).toBe(true);
      const body = await new Promise<string>((resolve, reject) => {
        request(`${relay.url}/healthz`, { ca: cert }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => {
            resolve(b);
          });
        })
          .on('error', reject)
          .end();
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
    } finally {
      await relay.close();
      await db.drop();
    }
  });
});
