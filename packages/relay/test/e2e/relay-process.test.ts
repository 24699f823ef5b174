/**
 * Real relay processes on loopback, on SQLite and on PostgreSQL: submit, deliver by push (the
 * FLASH path) and by pull, acknowledge, and the sender fetches the delivery records — then the
 * relay's database (SQLite file with its WAL; every PostgreSQL table) and its log are scanned
 * for the note's unique plaintext marker, the log key and the envelope bytes: none is there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { equalBytes, openDeliveryRecord, parseVkey, sha256, toBase64, toHex, utf8, verifyReceipt, type CborMap } from '@backchannel/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, testDb, type TestDb } from '../helpers/databases.js';
import { post, processOptions, pushClient, spawnRelay, type RelayProcess } from '../helpers/spawn-relay.js';
import { cbor, copyAck, makeWorld, marker, seal, signedRequest, submitBody, token, type World } from '../helpers/world.js';

describe.each(backends())('a relay process on %s', (backend) => {
  let w: World;
  let db: TestDb;
  let relay: RelayProcess;
  let logDir: string;
  const secret = marker();

  beforeAll(async () => {
    w = await makeWorld();
    db = await testDb(backend);
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    logDir = mkdtempSync(join(tmpdir(), 'bc-relay-log-'));
    relay = await spawnRelay(processOptions(w.relay, db.url, [w.us, w.ir], { logFile: join(logDir, 'relay.log') }));
  });
  afterAll(async () => {
    if (relay.child.exitCode === null) await relay.stop();
    await db.drop();
  });

  it('submits, pushes FLASH in milliseconds, pulls, acknowledges, and returns delivery records to the sender', async () => {
    const vkey = parseVkey(w.relay.card.vkey);
    const irPush = await pushClient(relay.url, w.ir);
    const usPush = await pushClient(relay.url, w.us);
    // Let the push authentication land before the first submission.
    await new Promise((r) => setTimeout(r, 100));

    const flash = await seal(w.us, w.ir, { precedence: 'FLASH', body: `Do not escalate. ${secret}` });
    const t0 = performance.now();
    const sub = await post(`${relay.url}/v1/submit`, submitBody(flash, token(w.us, w.relay.origin, flash)));
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const frame = await irPush.next('envelope');
    const pushMs = performance.now() - t0;
    const item = frame.item as CborMap;
    expect(item.envelope).toEqual(flash.bytes);
    verifyReceipt(item.receipt as string, vkey, { type: 'submit', digest: flash.digest });
    expect(pushMs).toBeLessThan(1000);
    console.info(`relay (${backend}): FLASH submit → push frame in ${pushMs.toFixed(1)} ms`);

    const routine = await seal(w.us, w.ir, { precedence: 'ROUTINE', body: `Consular matter. ${secret}` });
    expect((await post(`${relay.url}/v1/submit`, submitBody(routine, token(w.us, w.relay.origin, routine)))).status).toBe(200);
    // Pull: the push already handed the FLASH one (seq 1); from cursor 0 both come.
    const req = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 100 } });
    const pulled = await post(`${relay.url}/v1/fetch`, req.payload, req.headers);
    expect(pulled.status).toBe(200);
    const items = (pulled.body as CborMap).items as CborMap[];
    const digests = items.map((i) => sha256(i.envelope as Uint8Array));
    expect(digests.some((d) => equalBytes(d, flash.digest))).toBe(true);
    expect(digests.some((d) => equalBytes(d, routine.digest))).toBe(true);

    // Acknowledge both; the sender's desk gets the records by push and by pull.
    const acks = [flash, routine].map((e) => copyAck({ party: w.ir, origin: w.relay.origin, from: 'us', id: e.header.id, digest: e.digest }));
    const areq = signedRequest({ party: w.ir, path: '/v1/ack', body: { acks } });
    const acked = await post(`${relay.url}/v1/ack`, areq.payload, areq.headers);
    expect(acked.status, JSON.stringify(acked.body)).toBe(200);
    const pushedRecord = await usPush.next('delivery');
    const rec = openDeliveryRecord((pushedRecord.item as CborMap).record as Uint8Array, w.relay.logKey.publicKey);
    expect([toHex(flash.digest), toHex(routine.digest)]).toContain(toHex(rec.digest));
    const dreq = signedRequest({ party: w.us, path: '/v1/deliveries', body: { after: 0, limit: 100 } });
    const deliveries = await post(`${relay.url}/v1/deliveries`, dreq.payload, dreq.headers);
    const records = ((deliveries.body as CborMap).items as CborMap[]).map((d) => openDeliveryRecord(d.record as Uint8Array, w.relay.logKey.publicKey));
    expect(records.map((d) => toHex(d.digest)).sort()).toEqual([toHex(flash.digest), toHex(routine.digest)].sort());
    for (const d of records) expect(d.delivered).toBeGreaterThanOrEqual(d.submitted);
    irPush.close();
    usPush.close();

    // Bad input over a real socket: clear errors, the relay stays up.
    const bad = await post(`${relay.url}/v1/submit`, cbor({ envelope: new Uint8Array(10), token: new Uint8Array(10) }));
    expect(bad.status).toBe(400);
    expect((await fetch(`${relay.url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
  });

  it('never holds the plaintext, the log key, or a whole envelope in its database or its log', async () => {
    const needles = [
      { what: 'plaintext marker', bytes: Buffer.from(utf8(secret)) },
      { what: 'log key seed', bytes: Buffer.from(w.relay.logKey.exportSeed()) },
      { what: 'log key seed (hex)', bytes: Buffer.from(toHex(w.relay.logKey.exportSeed())) },
    ];
    const scanSqlite = (dir: string, expectWal: boolean): void => {
      const files = readdirSync(dir);
      if (expectWal) expect(files.some((f) => f.endsWith('-wal'))).toBe(true);
      for (const f of files) {
        const bytes = readFileSync(join(dir, f));
        for (const n of needles) expect(bytes.includes(n.bytes), `${n.what} in ${f}`).toBe(false);
      }
    };
    // While it runs (the WAL holds the recent writes), and after a clean stop.
    if (db.dir !== undefined) scanSqlite(db.dir, true);
    expect(await relay.stop()).toBe(0);
    const textNeedles = [secret, toHex(w.relay.logKey.exportSeed()), toBase64(w.relay.logKey.exportSeed())];
    const logText = readFileSync(join(logDir, 'relay.log'), 'utf8');
    expect(logText.length).toBeGreaterThan(0);
    for (const n of textNeedles) expect(logText.includes(n)).toBe(false);
    // No envelope in the log, in any of the usual encodings of its first bytes.
    expect(logText.includes('"envelope"')).toBe(false);
    expect(relay.stderr().includes(secret)).toBe(false);

    if (db.dir !== undefined) {
      scanSqlite(db.dir, false);
    } else {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const tables = (await c.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows.map((r) => r.table_name);
        expect(tables).toContain('envelopes');
        for (const t of tables) {
          const rows = (await c.query<Record<string, unknown>>(`SELECT * FROM "${t}"`)).rows;
          for (const row of rows) {
            for (const v of Object.values(row)) {
              const b = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
              for (const n of needles) expect(b.includes(n.bytes), `${n.what} in ${t}`).toBe(false);
            }
          }
        }
      } finally {
        await c.end();
      }
    }
  });
});
