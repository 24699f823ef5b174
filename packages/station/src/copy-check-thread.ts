/**
 * The body of a copy-check worker thread (copy-check-pool.ts): each request is a run of copies
 * with what checking them needs; the answer has one entry per copy, in order. A copy whose
 * envelope does not parse, or whose sender is not in the request, gets `null`: receiveCopy then
 * does everything in line, as it would have without a pool.
 */
import { parentPort } from 'node:worker_threads';
import { equalBytes, importPrivateKey, parseEnvelope, suiteFromName, toHex, type HpkePrivateKey, type SuiteName } from '@backchannel/core';
import { checkCopy } from './copy-check.js';
import type { CheckAnswer, CheckRequest, PreChecked } from './copy-check-pool.js';

// Imported keys by key id, kept while the desk sends the same bytes: every request carries the
// keys afresh, and an import (an X25519 scalar multiplication) per request would cost more than
// the hand-off saves.
const imported = new Map<string, { suite: SuiteName; raw: Uint8Array; key: HpkePrivateKey }>();

async function keysOf(m: CheckRequest): Promise<Map<string, { suite: SuiteName; key: HpkePrivateKey }>> {
  const out = new Map<string, { suite: SuiteName; key: HpkePrivateKey }>();
  for (const k of m.keys) {
    let hit = imported.get(k.kid);
    if (hit === undefined || hit.suite !== k.suite || !equalBytes(hit.raw, k.raw)) {
      hit = { suite: k.suite, raw: k.raw, key: await importPrivateKey(suiteFromName(k.suite), k.raw) };
      imported.set(k.kid, hit);
    }
    out.set(k.kid, hit);
  }
  for (const kid of imported.keys()) if (!out.has(kid)) imported.delete(kid);
  return out;
}

async function answer(m: CheckRequest): Promise<CheckAnswer> {
  const parties = new Map(m.parties);
  const keys = await keysOf(m);
  const privateKeyFor = (kid: Uint8Array, suite: SuiteName): HpkePrivateKey | undefined => {
    const k = keys.get(toHex(kid));
    return k !== undefined && k.suite === suite ? k.key : undefined;
  };
  const results: (PreChecked | null)[] = [];
  for (const item of m.items) {
    try {
      const env = parseEnvelope(item.envelope);
      const sender = parties.get(env.header.from);
      if (sender === undefined) {
        results.push(null);
        continue;
      }
      const check = await checkCopy(item, env, env.digest, { self: m.self, origin: m.origin, logKey: m.logKey, sender, privateKeyFor });
      results.push({ senderHash: sender.hash, check });
    } catch {
      results.push(null);
    }
  }
  return { id: m.id, results };
}

const port = parentPort;
if (port !== null) {
  port.on('message', (m: CheckRequest | { crash: true }) => {
    if ('crash' in m) process.exit(1);
    void answer(m).then((a) => {
      try {
        port.postMessage(a);
      } catch {
        // Something in an answer would not clone: the copies are checked in line instead.
        port.postMessage({ id: m.id, results: m.items.map(() => null) } satisfies CheckAnswer);
      }
    });
  });
}
