/**
 * Raw private keys imported once per array (envelope/private-key-cache.ts): the same array gives
 * the same imported key, and nothing else does — another key written into the array, the same
 * bytes for the other suite, or a wiped array are imported afresh.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/bytes.js';
import { deterministicRandomForTests } from '../../src/random.js';
import { generateKeyPair, serializePrivateKey, serializePublicKey } from '../../src/hpke/keys.js';
import { SUITE_X25519, SUITE_XWING } from '../../src/hpke/suite.js';
import { importPrivateKeyOnce } from '../../src/envelope/private-key-cache.js';

describe('importPrivateKeyOnce', async () => {
  const random = deterministicRandomForTests('private-key-cache');
  const a = await generateKeyPair(SUITE_X25519, random);
  const b = await generateKeyPair(SUITE_X25519, random);
  const pubOf = (k: Awaited<ReturnType<typeof importPrivateKeyOnce>>): Uint8Array => serializePublicKey(k.publicKey);

  it('hands back the key imported for this very array while it holds the same bytes', async () => {
    const raw = serializePrivateKey(a.privateKey);
    const first = await importPrivateKeyOnce(SUITE_X25519, raw);
    expect(await importPrivateKeyOnce(SUITE_X25519, raw)).toBe(first);
    expect(equalBytes(pubOf(first), serializePublicKey(a.publicKey))).toBe(true);
  });

  it('imports afresh when another key is written into the array (a rotation in place), and when it is wiped', async () => {
    const raw = serializePrivateKey(a.privateKey);
    const first = await importPrivateKeyOnce(SUITE_X25519, raw);
    raw.set(serializePrivateKey(b.privateKey));
    const second = await importPrivateKeyOnce(SUITE_X25519, raw);
    expect(second).not.toBe(first);
    expect(equalBytes(pubOf(second), serializePublicKey(b.publicKey))).toBe(true);
    raw.fill(0);
    const third = await importPrivateKeyOnce(SUITE_X25519, raw);
    expect(third).not.toBe(second);
    expect(equalBytes(pubOf(third), serializePublicKey(b.publicKey))).toBe(false);
  });

  it('keeps the suites apart: the same 32 bytes as an X-Wing seed are another key', async () => {
    const raw = serializePrivateKey(a.privateKey);
    const x = await importPrivateKeyOnce(SUITE_X25519, raw);
    const w = await importPrivateKeyOnce(SUITE_XWING, raw);
    expect(w).not.toBe(x);
    expect(w.suite.name).toBe('xwing');
    // One entry per array: the X25519 key is imported again, the same key as before.
    const again = await importPrivateKeyOnce(SUITE_X25519, raw);
    expect(again.suite.name).toBe('x25519');
    expect(equalBytes(pubOf(again), pubOf(x))).toBe(true);
  });

  it('another array with the same bytes is its own entry, and gives the same key material', async () => {
    const one = serializePrivateKey(a.privateKey);
    const two = Uint8Array.from(one);
    const k1 = await importPrivateKeyOnce(SUITE_X25519, one);
    const k2 = await importPrivateKeyOnce(SUITE_X25519, two);
    expect(equalBytes(pubOf(k1), pubOf(k2))).toBe(true);
  });
});
