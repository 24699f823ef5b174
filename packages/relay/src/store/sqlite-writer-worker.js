// The SQLite writer thread of sqlite-writer.ts: the relay's group commit off the event loop.
//
// Plain JavaScript, so the same file runs under any loader (tsx, vitest, plain node) without
// compiling anything. It holds its own better-sqlite3 connection to the relay's database file,
// set up with the same pragmas as the main connection (passed in workerData, one list for
// both), and runs each batch's statements, already compiled by Kysely on the main thread, in
// ONE transaction. The answer leaves only after `db.transaction` returned, so after COMMIT and
// its fsync (synchronous=FULL): a receipt still never precedes its commit.
//
// workerData:  { path, pragmas: string[], cacheMax }
// Message in:  { id, sql: string[], params: unknown[][], blobs: ArrayBuffer (transferred), slots: Uint32Array (transferred) }
//   params hold null where a byte parameter goes; slots hold (statement, parameter, offset,
//   length) quadruples locating each one in blobs.
//              or { id, pragma } (tests: a setting of this connection, such as max_page_count)
// Message out: { id, changes: number[] } once committed (the rows each statement changed), or
//              { id, error: { code, message } } (nothing of it committed)
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, pragmas, cacheMax } = workerData;

let db;
let run;
// Prepared statements by SQL text. Multi-row inserts compile to one text per row count, so a
// relay sees a few hundred texts at most; the bound keeps an odd workload from growing it.
const statements = new Map();

function open() {
  const d = new Database(path, { fileMustExist: true });
  try {
    for (const p of pragmas) d.pragma(p);
    // The main connection's durability check covers the file; this one covers this connection's own settings.
    const journal = String(d.pragma('journal_mode', { simple: true })).toLowerCase();
    const sync = Number(d.pragma('synchronous', { simple: true }));
    if (journal !== 'wal' || sync < 2) {
      throw Object.assign(new Error(`the SQLite writer's connection is not durable: journal_mode ${journal}, synchronous ${sync}`), { code: 'storage_not_durable' });
    }
  } catch (e) {
    d.close();
    throw e;
  }
  db = d;
  run = d.transaction((sql, params) => {
    const changes = new Array(sql.length);
    for (let i = 0; i < sql.length; i++) changes[i] = statement(sql[i]).run(params[i]).changes;
    if (crashInside) process.exit(70); // sqlite-writer.ts: crashForTests('inside'), before COMMIT
    return changes;
  });
}

function statement(sql) {
  let s = statements.get(sql);
  if (s === undefined) {
    s = db.prepare(sql);
    if (statements.size >= cacheMax) statements.delete(statements.keys().next().value);
    statements.set(sql, s);
  }
  return s;
}

let crashInside = false;

parentPort.on('message', (m) => {
  if (m.crash === 'now') process.exit(70); // sqlite-writer.ts: crashForTests('now')
  if (m.crash === 'inside') {
    crashInside = true;
    return;
  }
  if (m.close === true) {
    db?.close();
    parentPort.close();
    return;
  }
  const { id } = m;
  try {
    // Opened on first use, and again after a failure to open (a disk that comes back).
    if (db === undefined) open();
    if (m.pragma !== undefined) db.pragma(m.pragma); // sqlite-writer.ts: pragmaForTests
    else {
      const { sql, params, blobs, slots } = m;
      // better-sqlite3 binds Buffers, not plain Uint8Arrays, as BLOBs: views into the one transferred buffer, no copy.
      for (let i = 0; i < slots.length; i += 4) params[slots[i]][slots[i + 1]] = Buffer.from(blobs, slots[i + 2], slots[i + 3]);
      // IMMEDIATE: the write lock is taken at BEGIN, waiting on busy_timeout, never mid-batch.
      parentPort.postMessage({ id, changes: run.immediate(sql, params) });
      return;
    }
    parentPort.postMessage({ id });
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
    parentPort.postMessage({ id, error: { code, message: e instanceof Error ? e.message : String(e) } });
  }
});
