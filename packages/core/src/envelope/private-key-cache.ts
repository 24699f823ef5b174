/**
 * Private keys handed to `openEnvelope` as raw bytes, imported once per array. An OpenContext
 * that keeps its keys as bytes (archives, tools, the benchmarks) otherwise imports the key on
 * every open: an X25519 scalar multiplication, and for X-Wing the seed's whole expansion.
 *
 * Weak, by the caller's own array: an entry lives as long as the caller holds the key, never
 * longer, so a rotated-out key leaves with its array. The bytes are compared on every hit, and
 * the suite too (any 32 bytes are a key of either suite): an array overwritten with another key,
 * or wiped, is imported afresh.
 */
import { equalBytes } from '../bytes.js';
import { importPrivateKey, type HpkePrivateKey } from '../hpke/keys.js';
import type { Suite, SuiteName } from '../hpke/suite.js';

const imported = new WeakMap<Uint8Array, { suite: SuiteName; bytes: Uint8Array; key: HpkePrivateKey }>();

/** `importPrivateKey(suite, priv)`, remembered for this very array while it holds these bytes. */
export async function importPrivateKeyOnce(suite: Suite, priv: Uint8Array): Promise<HpkePrivateKey> {
  const hit = imported.get(priv);
  if (hit !== undefined && hit.suite === suite.name && equalBytes(hit.bytes, priv)) return hit.key;
  const key = await importPrivateKey(suite, priv);
  imported.set(priv, { suite: suite.name, bytes: Uint8Array.from(priv), key });
  return key;
}
