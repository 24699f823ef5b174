/**
 * The end-to-end part's operation counter (support/crypto-count.js): loaded into a process the
 * way the part loads it (`--import` through NODE_OPTIONS), it counts what node:crypto does for
 * code that imported its functions by name, in the main thread and in a worker thread, and
 * nothing when its directory is not given.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cryptoCounts } from '../support/note-cost.js';
import { runCleanups, tempDir } from '../support/procs.js';

const COUNTER = pathToFileURL(join(import.meta.dirname, '../support/crypto-count.js')).href;

// Two signatures, one verification and one X25519 agreement on the main thread, through named
// imports bound before the work starts; then one verification on a worker thread; then one
// X25519 public key made from a private key (an HPKE ephemeral key), and an Ed25519 one (not X25519).
const PROGRAM = `
import { sign, verify, diffieHellman, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { Worker } from 'node:worker_threads';
const ed = generateKeyPairSync('ed25519');
const m = Buffer.from('note');
const sig = sign(null, m, ed.privateKey);
sign(null, m, ed.privateKey);
if (!verify(null, m, ed.publicKey, sig)) throw new Error('no');
const a = generateKeyPairSync('x25519');
const b = generateKeyPairSync('x25519');
diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
createPublicKey(a.privateKey);
createPublicKey(ed.privateKey);
const w = new Worker(\`
  import { createPublicKey, verify } from 'node:crypto';
  import { workerData } from 'node:worker_threads';
  const k = createPublicKey({ key: Buffer.from(workerData.pub, 'base64'), format: 'der', type: 'spki' });
  if (!verify(null, Buffer.from('note'), k, Buffer.from(workerData.sig, 'base64'))) throw new Error('no');
\`, { eval: true, workerData: { pub: ed.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), sig: sig.toString('base64') } });
await new Promise((resolve, reject) => { w.on('exit', resolve); w.on('error', reject); });
// Counting turned on again with another directory, as a second part of a run does.
if (process.env.AGAIN_DIR) {
  process.env.BENCH_CRYPTO_COUNTS = process.env.AGAIN_DIR;
  await import(process.env.COUNTER_URL + '?dir=again');
}
`;

/** Runs PROGRAM with the counter loaded as the end-to-end part loads it; resolves with the pid once it exited cleanly. */
function runCounted(env: Record<string, string>): Promise<number> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROGRAM], { env: { ...process.env, ...env, NODE_OPTIONS: `--import=${COUNTER}` }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && child.pid !== undefined) resolve(child.pid);
      else reject(new Error(`exited with ${String(code)}: ${err}`));
    });
  });
}

afterAll(async () => {
  await runCleanups();
});

describe('the crypto operation counter', () => {
  it('counts the signatures, verifications and X25519 operations of every thread of a process', async () => {
    const dir = tempDir('bc-count-test-');
    const pid = await runCounted({ BENCH_CRYPTO_COUNTS: dir });
    // The main thread and the worker each wrote their totals at exit.
    expect(readdirSync(dir).filter((f) => f.startsWith(`${pid}-`) && f.endsWith('.json')).length).toBe(2);
    expect(cryptoCounts(dir, pid)).toEqual({ sign: 2, verify: 2, x25519: 2 });
    // Another process's files are not this one's.
    expect(cryptoCounts(dir, pid + 1_000_000)).toEqual({ sign: 0, verify: 0, x25519: 0 });
  });

  it('turned on again with another directory, writes the same totals there too', async () => {
    const first = tempDir('bc-count-test-');
    const again = tempDir('bc-count-test-');
    const pid = await runCounted({ BENCH_CRYPTO_COUNTS: first, AGAIN_DIR: again, COUNTER_URL: COUNTER });
    expect(cryptoCounts(first, pid)).toEqual({ sign: 2, verify: 2, x25519: 2 });
    // The worker thread had ended: only the main thread's totals, the count not started afresh.
    expect(cryptoCounts(again, pid)).toEqual({ sign: 2, verify: 1, x25519: 2 });
  });

  it('does nothing without a directory to write to', async () => {
    const dir = tempDir('bc-count-test-');
    await runCounted({ BENCH_CRYPTO_COUNTS: '' });
    expect(readdirSync(dir)).toEqual([]);
  });
});
