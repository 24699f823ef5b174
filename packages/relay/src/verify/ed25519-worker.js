// The verification worker of ed25519-pool.ts: Ed25519 checks off the relay's event loop.
//
// Plain JavaScript on node:crypto alone, so the same file runs under any loader (tsx, vitest,
// plain node) without compiling anything. It is the narrow tail of core's verifyRaw: the pool
// has already applied the strict rule's cheap parts on the main thread (canonical, non
// small-order public key; S < L), so what is left here is OpenSSL's verification, which is
// what costs ~70 µs per signature.
//
// Message in:  { id, buf: ArrayBuffer (transferred), count }
//   buf holds `count` jobs back to back: pub (32) | sig (64) | msgLen (u32 BE) | msg
// Message out: { id, results: Uint8Array(count) (transferred) }
//   1 = verifies, 0 = does not verify, 2 = the public key is not an Ed25519 point
//
// It also computes log leaves (core's commitLeaf, messages/commitment.ts), whose constants
// come from core in workerData.leaf = { fieldNames, fieldPrefixes, leafPrefix }:
// Message in:  { id, kind: 'leaf', buf: ArrayBuffer (transferred), count }
//   buf holds `count` records back to back: salt (32) | per field: len (u32 BE) | value
// Message out: { id, results: Uint8Array(32 × count) (transferred) }, the leaves in order
import { createHmac, createPublicKey, hash, verify } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

const { fieldNames, fieldPrefixes, leafPrefix } = workerData.leaf;

// commitLeaf: salt_f = HMAC-SHA256(salt, f); H_f = SHA-256(prefix_f || salt_f || value_f);
// leaf = SHA-256(leafPrefix || H_f for every field in order).
function leaves(m) {
  const bytes = new Uint8Array(m.buf);
  const view = new DataView(m.buf);
  const out = new Uint8Array(32 * m.count);
  const hashes = new Array(fieldNames.length + 1);
  hashes[0] = leafPrefix;
  let at = 0;
  for (let i = 0; i < m.count; i++) {
    const salt = bytes.subarray(at, at + 32);
    at += 32;
    for (let f = 0; f < fieldNames.length; f++) {
      const len = view.getUint32(at);
      const value = bytes.subarray(at + 4, at + 4 + len);
      at += 4 + len;
      const fieldSalt = createHmac('sha256', salt).update(fieldNames[f]).digest();
      hashes[f + 1] = hash('sha256', Buffer.concat([fieldPrefixes[f], fieldSalt, value]), 'buffer');
    }
    out.set(hash('sha256', Buffer.concat(hashes), 'buffer'), 32 * i);
  }
  parentPort.postMessage({ id: m.id, results: out }, [out.buffer]);
}

// KeyObjects are cached: import costs ~4 µs (JWK), and a relay sees a handful of station keys.
// Bounded so that hostile input cannot grow it.
const CACHE_MAX = 4096;
const keys = new Map();

function keyFor(pub) {
  const hex = Buffer.from(pub).toString('hex');
  let k = keys.get(hex);
  if (k === undefined) {
    try {
      k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' });
    } catch {
      k = null;
    }
    if (keys.size >= CACHE_MAX) keys.delete(keys.keys().next().value);
    keys.set(hex, k);
  }
  return k;
}

parentPort.on('message', (m) => {
  if (m.crash === true) process.exit(70); // ed25519-pool.ts: crashWorkerForTests
  if (m.kind === 'leaf') {
    leaves(m);
    return;
  }
  const bytes = new Uint8Array(m.buf);
  const view = new DataView(m.buf);
  const results = new Uint8Array(m.count);
  let at = 0;
  for (let i = 0; i < m.count; i++) {
    const pub = bytes.subarray(at, at + 32);
    const sig = bytes.subarray(at + 32, at + 96);
    const len = view.getUint32(at + 96);
    const msg = bytes.subarray(at + 100, at + 100 + len);
    at += 100 + len;
    const key = keyFor(pub);
    if (key === null) results[i] = 2;
    else results[i] = verify(null, msg, key, sig) ? 1 : 0;
  }
  parentPort.postMessage({ id: m.id, results }, [results.buffer]);
});
