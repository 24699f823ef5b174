/**
 * Suite lookup and keys: identifiers and sizes, 'suite_unsupported' for anything else, raw
 * serialization round trips, and 'key_invalid' for wrong lengths and invalid keys.
 */
import { describe, expect, it } from 'vitest';
import { CipherSuite, HkdfSha256 } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { XWing } from '@hpke/hybridkem-x-wing';
import { isBackchannelError, type ErrorCode } from '../../src/errors.js';
import { toHex } from '../../src/bytes.js';
import { cipherSuiteFor } from '../../src/hpke/cipher-suite.js';
import {
  deriveKeyPair,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  serializePrivateKey,
  serializePublicKey,
} from '../../src/hpke/keys.js';
import { openFrom, sealTo } from '../../src/hpke/seal.js';
import { SUITES, SUITE_X25519, SUITE_XWING, suiteFromIds, suiteFromName } from '../../src/hpke/suite.js';
import { deterministicRandomForTests } from '../../src/random-testing.js';
import { hex } from './vectors.js';

async function codeOf(f: () => Promise<unknown>): Promise<ErrorCode | 'untyped' | undefined> {
  try {
    await f();
  } catch (e) {
    return isBackchannelError(e) ? e.code : 'untyped';
  }
  return undefined;
}

function syncCodeOf(f: () => unknown): ErrorCode | 'untyped' | undefined {
  try {
    f();
  } catch (e) {
    return isBackchannelError(e) ? e.code : 'untyped';
  }
  return undefined;
}

describe('suites', () => {
  it('are found by their triple and by name', () => {
    expect(suiteFromIds(0x0020, 0x0001, 0x0003)).toBe(SUITE_X25519);
    expect(suiteFromIds(0x647a, 0x0001, 0x0003)).toBe(SUITE_XWING);
    expect(suiteFromName('x25519')).toBe(SUITE_X25519);
    expect(suiteFromName('xwing')).toBe(SUITE_XWING);
    expect(SUITES[0]).toBe(SUITE_X25519); // the default
  });

  it("refuses every other triple and name as 'suite_unsupported'", () => {
    const triples: [number, number, number][] = [
      [0x0020, 0x0001, 0x0001], // AES-128-GCM
      [0x0020, 0x0003, 0x0003], // HKDF-SHA512
      [0x0010, 0x0001, 0x0003], // P-256
      [0x647a, 0x0001, 0xffff], // export-only
      [0, 0, 0],
    ];
    for (const [k, d, a] of triples) expect(syncCodeOf(() => suiteFromIds(k, d, a))).toBe('suite_unsupported');
    for (const n of ['', 'X25519', 'p256', 'x-wing', 'toString']) expect(syncCodeOf(() => suiteFromName(n))).toBe('suite_unsupported');
  });

  it('state the sizes of the modules behind them (X25519 32/32; X-Wing pk 1216, enc 1120)', () => {
    expect([SUITE_X25519.publicKeySize, SUITE_X25519.encSize, SUITE_X25519.privateKeySize]).toEqual([32, 32, 32]);
    expect([SUITE_XWING.publicKeySize, SUITE_XWING.encSize, SUITE_XWING.privateKeySize]).toEqual([1216, 1120, 32]);
    for (const s of SUITES) {
      const kem = cipherSuiteFor(s).kem;
      expect([kem.publicKeySize, kem.encSize, kem.privateKeySize]).toEqual([s.publicKeySize, s.encSize, s.privateKeySize]);
      expect(cipherSuiteFor(s).aead.tagSize).toBe(s.tagSize);
    }
  });
});

describe.each(SUITES)('keys of suite %s', (suite) => {
  it('round-trip through raw bytes', async () => {
    const { publicKey, privateKey } = await generateKeyPair(suite, deterministicRandomForTests(`keys-${suite.name}`));
    const pk = await importPublicKey(suite, serializePublicKey(publicKey));
    expect(toHex(pk.toBytes())).toBe(toHex(publicKey.toBytes()));
    const sk = await importPrivateKey(suite, serializePrivateKey(privateKey));
    expect(toHex(sk.exportBytes())).toBe(toHex(privateKey.exportBytes()));
    expect(toHex(sk.publicKey.toBytes())).toBe(toHex(publicKey.toBytes()));
  });

  it('give copies, never their own bytes, and keep the secret out of JSON', async () => {
    const { publicKey, privateKey } = await generateKeyPair(suite, deterministicRandomForTests(`copies-${suite.name}`));
    const before = toHex(privateKey.exportBytes());
    privateKey.exportBytes().fill(0);
    publicKey.toBytes().fill(0);
    expect(toHex(privateKey.exportBytes())).toBe(before);
    expect(publicKey.toBytes().some((b) => b !== 0)).toBe(true);
    expect(JSON.stringify(privateKey)).not.toContain(before);
    expect(JSON.stringify(privateKey)).toContain(toHex(publicKey.toBytes()));
  });

  it("refuse wrong lengths and non-bytes as 'key_invalid'", async () => {
    for (const n of [0, 1, suite.publicKeySize - 1, suite.publicKeySize + 1]) {
      expect(await codeOf(() => importPublicKey(suite, new Uint8Array(n).fill(9)))).toBe('key_invalid');
    }
    for (const n of [0, 31, 33, 64]) {
      expect(await codeOf(() => importPrivateKey(suite, new Uint8Array(n).fill(9)))).toBe('key_invalid');
    }
    expect(await codeOf(() => importPublicKey(suite, 'ab' as unknown as Uint8Array))).toBe('key_invalid');
    expect(await codeOf(() => importPrivateKey(suite, [1, 2] as unknown as Uint8Array))).toBe('key_invalid');
    expect(await codeOf(() => deriveKeyPair(suite, new Uint8Array(31)))).toBe('key_invalid');
  });

  it("do not alias the caller's buffers: wiping them after import changes nothing", async () => {
    const { publicKey, privateKey } = await generateKeyPair(suite, deterministicRandomForTests(`alias-${suite.name}`));
    const skBytes = privateKey.exportBytes();
    const pkBytes = publicKey.toBytes();
    // Inside a larger buffer, as a parser would hand them over.
    const big = new Uint8Array(skBytes.length + pkBytes.length + 8);
    big.set(skBytes, 3);
    big.set(pkBytes, 3 + skBytes.length);
    const sk = await importPrivateKey(suite, big.subarray(3, 3 + skBytes.length));
    const pk = await importPublicKey(suite, big.subarray(3 + skBytes.length, 3 + skBytes.length + pkBytes.length));
    big.fill(0);
    expect(toHex(sk.exportBytes())).toBe(toHex(skBytes));
    const info = new Uint8Array(0);
    const { enc, ct } = await sealTo(suite, pk, info, info, Uint8Array.of(1, 2, 3));
    expect(toHex(await openFrom(suite, sk, enc, info, info, ct))).toBe('010203');
  });

  it('cache imported public keys', async () => {
    const { publicKey } = await generateKeyPair(suite, deterministicRandomForTests(`cache-${suite.name}`));
    const a = await importPublicKey(suite, publicKey.toBytes());
    const b = await importPublicKey(suite, publicKey.toBytes());
    expect(b).toBe(a);
  });
});

describe('X25519 public keys', () => {
  // Points of small order on the curve or its twist, canonical and not (RFC 7748 ignores bit 255).
  const lowOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '0000000000000000000000000000000000000000000000000000000000000080',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  ];

  it("refuse points of small order as 'key_invalid'", async () => {
    for (const h of lowOrder) expect(await codeOf(() => importPublicKey(SUITE_X25519, hex(h))), h).toBe('key_invalid');
  });

  it('accept any other 32 bytes, as RFC 7748 requires (the RFC 9180 A.2.1 key among them)', async () => {
    await importPublicKey(SUITE_X25519, hex('4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a'));
    await importPublicKey(SUITE_X25519, new Uint8Array(32).fill(0xff)); // non-canonical, not small order
  });
});

describe('X-Wing public keys', () => {
  const stock = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });

  async function validKey(): Promise<Uint8Array> {
    return (await generateKeyPair(SUITE_XWING, deterministicRandomForTests('xwing-valid'))).publicKey.toBytes();
  }

  it("refuse an ML-KEM key that fails the FIPS 203 modulus check as 'key_invalid', where stock X-Wing refuses to encapsulate", async () => {
    const variants: ((k: Uint8Array) => void)[] = [
      (k) => {
        // first coefficient = 3329 = q
        k[0] = 0x01;
        k[1] = (k[1]! & 0xf0) | 0x0d;
      },
      (k) => {
        // last coefficient of t = 4095
        k[1150] = k[1150]! | 0xf0;
        k[1151] = 0xff;
      },
    ];
    for (const change of variants) {
      const k = await validKey();
      change(k);
      expect(await codeOf(() => importPublicKey(SUITE_XWING, k))).toBe('key_invalid');
      const theirs = await stock.kem.deserializePublicKey(k);
      await expect(stock.seal({ recipientPublicKey: theirs }, new Uint8Array(32))).rejects.toThrow();
    }
  });

  it("refuse a small-order X25519 half as 'key_invalid'", async () => {
    const k = await validKey();
    k.fill(0, 1184);
    expect(await codeOf(() => importPublicKey(SUITE_XWING, k))).toBe('key_invalid');
    k.set(hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'), 1184);
    expect(await codeOf(() => importPublicKey(SUITE_XWING, k))).toBe('key_invalid');
  });

  it('accept a valid key whose rho (bytes 1152..1183) is anything', async () => {
    const k = await validKey();
    k.fill(0xff, 1152, 1184);
    await importPublicKey(SUITE_XWING, k);
  });
});
