/**
 * Part 7, the limits of this machine: what no durable, signing server on it can beat.
 * fsync'd appends (node:fs write + fsync), raw durable SQLite inserts (better-sqlite3, WAL,
 * synchronous=FULL, 2 KiB rows, 1 and 100 rows per transaction), Ed25519 sign and verify and
 * X25519 (node:crypto, one core). Each loop is bounded in time and count.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { diffieHellman, generateKeyPairSync, sign, verify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { emptyReport, fmtNum, loopFor, type BenchOptions, type PartReport } from '../lib.js';
import { tempDir } from '../support/procs.js';

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
    ],
  });
  return r;
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
