// Counts the Ed25519 signatures and verifications and the X25519 scalar multiplications that
// node:crypto performs in this process and its worker threads, for the benchmark's end-to-end
// and station parts (support/note-cost.ts), which load it into every process of a note's path
// (`--import` through NODE_OPTIONS, so worker threads load it too). Inert unless
// BENCH_CRYPTO_COUNTS names a directory; then each thread writes its running totals to
// `<dir>/<pid>-<threadId>.json` every 100 ms (and at exit). Evaluated again in the same thread
// with another directory (imported under another URL), it writes there too, one count still.
// Plain JavaScript so it loads before any TypeScript loader, in any thread.
//
// It replaces the node:crypto exports with counting wrappers and re-syncs the ES module
// bindings (module.syncBuiltinESMExports), so `import { sign } from 'node:crypto'` in code
// loaded before or after it calls the wrapper. A wrapper costs well under a microsecond; the
// operations it counts cost 35–190 µs here.
import crypto from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

const STATE = Symbol.for('backchannel.bench.cryptoCount');
const dir = process.env.BENCH_CRYPTO_COUNTS;

if (globalThis[STATE] !== undefined) {
  // Loaded again (a harness that turns counting on a second time): one more place to write to.
  if (dir !== undefined && dir !== '') globalThis[STATE].dirs.add(dir);
} else if (dir !== undefined && dir !== '') {
  const counts = { sign: 0, verify: 0, x25519: 0 };
  const dirs = new Set([dir]);
  globalThis[STATE] = { dirs };
  const { sign, verify, diffieHellman, createPublicKey } = crypto;
  crypto.sign = function (...args) {
    counts.sign++;
    return sign.apply(this, args);
  };
  crypto.verify = function (...args) {
    counts.verify++;
    return verify.apply(this, args);
  };
  crypto.diffieHellman = function (...args) {
    counts.x25519++;
    return diffieHellman.apply(this, args);
  };
  // An X25519 public key made from a private one is a scalar multiplication (HPKE's ephemeral keys).
  crypto.createPublicKey = function (key, ...rest) {
    if (key instanceof crypto.KeyObject && key.type === 'private' && key.asymmetricKeyType === 'x25519') counts.x25519++;
    return createPublicKey.call(this, key, ...rest);
  };
  syncBuiltinESMExports();
  const name = `${process.pid}-${threadId}.json`;
  const flush = () => {
    for (const d of dirs) {
      try {
        // Written aside and renamed, so a reader never sees half a file.
        const file = join(d, name);
        writeFileSync(`${file}.tmp`, JSON.stringify(counts));
        renameSync(`${file}.tmp`, file);
      } catch {
        // the directory is gone: the part that read it has ended
      }
    }
  };
  setInterval(flush, 100).unref();
  process.on('exit', flush);
}
