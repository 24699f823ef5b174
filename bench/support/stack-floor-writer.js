// The stack's floor's writer thread (stack-floor.ts, commitOn 'thread'): each message is one
// batch, written in one transaction (WAL, synchronous=FULL); the answer leaves after COMMIT.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
const insert = db.prepare('INSERT INTO envelopes (idx, digest, bytes, token) VALUES (?, ?, ?, ?)');
const commit = db.transaction((first, rows) => {
  for (let i = 0; i < rows.length; i++) insert.run(first + i, rows[i][0], rows[i][1], rows[i][2]);
});

parentPort.on('message', (m) => {
  if (m.close === true) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    // better-sqlite3 binds Buffers as BLOBs; the rows arrive as Uint8Arrays.
    commit.immediate(m.first, m.rows.map((r) => r.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))));
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
