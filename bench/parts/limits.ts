/**
 * Part 7, the limits of this machine: what no durable, signing server on it can beat.
 * fsync'd appends (node:fs write + fsync), raw durable SQLite inserts (better-sqlite3, WAL,
 * synchronous=FULL, 2 KiB rows, 1 and 100 rows per transaction), Ed25519 sign and verify and
 * X25519 (node:crypto, one core), and a bare HTTP round trip between two Node processes on
 * loopback. Each loop is bounded in time and count.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { diffieHellman, generateKeyPairSync, sign, verify } from 'node:crypto';
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { emptyReport, fmtNum, loopFor, summarize, type BenchOptions, type PartReport } from '../lib.js';
import { startChild, tempDir, waitUntil } from '../support/procs.js';

const PAYLOAD = 2048;

export async function run(opts: BenchOptions): Promise<PartReport> {
  const ms = opts.quick ? 1000 : 3000;
  const dir = tempDir('bc-bench-limits-');
  const r = emptyReport();
  const payload = Buffer.alloc(PAYLOAD, 0x61);

  // fsync'd appends: one write of 2 KiB and one fsync per record, like a write-ahead log.
  const fd = openSync(join(dir, 'append.log'), 'a');
  const fs1 = await loopFor(ms, 200_000, () => {
    writeSync(fd, payload);
    fsyncSync(fd);
    return undefined;
  });
  closeSync(fd);
  r.metrics['limits.fsyncAppends'] = fs1.ops / fs1.seconds;

  // Raw durable SQLite: the store's floor before any protocol work.
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  const ins = db.prepare('INSERT INTO t (body) VALUES (?)');
  const one = db.transaction(() => ins.run(payload));
  const s1 = await loopFor(ms, 500_000, () => {
    one();
    return undefined;
  });
  r.metrics['limits.sqlite1'] = s1.ops / s1.seconds;
  const hundred = db.transaction(() => {
    for (let i = 0; i < 100; i++) ins.run(payload);
  });
  const s100 = await loopFor(ms, 20_000, () => {
    hundred();
    return undefined;
  });
  r.metrics['limits.sqlite100'] = (s100.ops * 100) / s100.seconds;
  db.close();

  const c = await cryptoCosts(ms);
  r.metrics['limits.ed25519Sign'] = 1e6 / c.signUs;
  r.metrics['limits.ed25519Verify'] = 1e6 / c.verifyUs;
  r.metrics['limits.x25519'] = 1e6 / c.x25519Us;
  // The report's bounds (report.ts) spread the mandatory work over every core.
  r.metrics['limits.cores'] = availableParallelism();
  const rtt = await httpRoundTrip(ms);
  r.metrics['limits.httpRoundTripUs'] = rtt.p50;
  r.metrics['limits.httpRoundTripP99Us'] = rtt.p99;

  r.tables.push({
    title: 'Machine limits (one core, one process)',
    columns: ['operation', 'per second', 'µs per op'],
    rows: [
      ['write 2 KiB + fsync (node:fs)', fmtNum(r.metrics['limits.fsyncAppends']), fmtNum(1e6 / r.metrics['limits.fsyncAppends'])],
      ['SQLite WAL synchronous=FULL, 1 row (2 KiB) per transaction', fmtNum(r.metrics['limits.sqlite1']), fmtNum(1e6 / r.metrics['limits.sqlite1'])],
      ['SQLite WAL synchronous=FULL, 100 rows per transaction (rows/s)', fmtNum(r.metrics['limits.sqlite100']), fmtNum(1e6 / r.metrics['limits.sqlite100'])],
      ['Ed25519 sign (node:crypto)', fmtNum(r.metrics['limits.ed25519Sign']), fmtNum(1e6 / r.metrics['limits.ed25519Sign'])],
      ['Ed25519 verify (node:crypto)', fmtNum(r.metrics['limits.ed25519Verify']), fmtNum(1e6 / r.metrics['limits.ed25519Verify'])],
      ['X25519 (node:crypto diffieHellman)', fmtNum(r.metrics['limits.x25519']), fmtNum(1e6 / r.metrics['limits.x25519'])],
      ['HTTP/1.1 round trip between two Node processes, loopback (node:http, keep-alive, 4 KiB up, 512 B back), p50', fmtNum(1e6 / rtt.p50), fmtNum(rtt.p50)],
    ],
    notes: [`The round trip's p99: ${fmtNum(rtt.p99)} µs, over ${fmtNum(rtt.n)} requests one after another.`],
  });
  return r;
}

/**
 * One request at a time from this process to a bare node:http server in another
 * (support/loopback-server.js), after a warm-up: the floor under every hop between a station
 * and a relay, whatever runs on either side.
 */
export async function httpRoundTrip(ms: number): Promise<{ p50: number; p99: number; n: number }> {
  const server = startChild(process.execPath, [join(import.meta.dirname, '../support/loopback-server.js')]);
  try {
    await waitUntil('the loopback server to listen', () => server.output().includes('"port"'), 20_000);
    const { port } = JSON.parse(server.output().trim().split('\n')[0]!) as { port: number };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = Buffer.alloc(4096, 0x62);
    const once = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { 'content-type': 'application/cbor', 'content-length': body.length } }, (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            resolve((performance.now() - t0) * 1000);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    await loopFor(Math.min(ms, 1000), 2000, () => once());
    const us: number[] = [];
    await loopFor(ms, 20_000, async () => {
      us.push(await once());
    });
    agent.destroy();
    const { p50, p99, n } = summarize(us);
    return { p50, p99, n };
  } finally {
    await server.stop();
  }
}

/** µs per operation of the three primitives a note's path counts (crypto-count.js), each timed for `ms` on this thread. */
export async function cryptoCosts(ms: number): Promise<{ signUs: number; verifyUs: number; x25519Us: number }> {
  // KeyObjects made once, as the hot paths cache them (an import per call costs ~65 µs, NODE20.md).
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(64, 1);
  const sig = sign(null, msg, privateKey);
  const sg = await loopFor(ms, 1_000_000, () => {
    sign(null, msg, privateKey);
    return undefined;
  });
  const vf = await loopFor(ms, 1_000_000, () => {
    if (!verify(null, msg, publicKey, sig)) throw new Error('Ed25519 verify failed on its own signature');
    return undefined;
  });
  const a = generateKeyPairSync('x25519');
  const b = generateKeyPairSync('x25519');
  const dh = await loopFor(ms, 1_000_000, () => {
    diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
    return undefined;
  });
  return { signUs: (sg.seconds * 1e6) / sg.ops, verifyUs: (vf.seconds * 1e6) / vf.ops, x25519Us: (dh.seconds * 1e6) / dh.ops };
}
