/**
 * RFC 9180 Appendix A vectors, base mode with DHKEM(X25519, HKDF-SHA256):
 *  - A.1.1 (AES-128-GCM) through stock @hpke/core, and through our node:crypto KEM and KDF
 *    with the stock AES-128-GCM (a second vector for the KEM and key schedule);
 *  - A.2.1 (ChaCha20-Poly1305, our "x25519" suite) through stock @hpke/core (so the copied
 *    JSON is checked too) and through our suite: KEM, key schedule, every listed sequence
 *    number, exports, the recipient side, and sealTo/openFrom;
 *  - and the X-Wing KEM against the X-Wing draft's own vector.
 */
import { describe, expect, it } from 'vitest';
import {
  Aes128Gcm,
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
  type AeadInterface,
  type KdfInterface,
  type KemInterface,
} from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { concatBytes, toHex } from '../../src/bytes.js';
import { cipherSuiteFor } from '../../src/hpke/cipher-suite.js';
import { cryptoKeyOf, cryptoKeyPairOf, deriveKeyPair, importPrivateKey, importPublicKey } from '../../src/hpke/keys.js';
import { NodeHkdfSha256, labeledExpand, labeledExtract } from '../../src/hpke/node-kdf.js';
import { NodeDhkemX25519HkdfSha256 } from '../../src/hpke/node-kem.js';
import { openFrom, sealTo } from '../../src/hpke/seal.js';
import { SUITE_X25519, SUITE_XWING, suiteFromIds } from '../../src/hpke/suite.js';
import { sha256 } from '../../src/hash.js';
import { A_1_1, A_2_1, fixedRandom, hex, type HpkeVector } from './vectors.js';

const u8 = (b: ArrayBuffer): string => toHex(new Uint8Array(b));

/** Runs one vector through a CipherSuite: DeriveKeyPair, enc, every encryption in sequence, exports, recipient. */
async function checkVector(v: HpkeVector, suite: CipherSuite): Promise<void> {
  const kem = suite.kem;
  const r = await kem.deriveKeyPair(hex(v.ikmR));
  expect(u8(await kem.serializePrivateKey(r.privateKey))).toBe(v.skRm);
  expect(u8(await kem.serializePublicKey(r.publicKey))).toBe(v.pkRm);
  const e = await kem.deriveKeyPair(hex(v.ikmE));
  expect(u8(await kem.serializePrivateKey(e.privateKey))).toBe(v.skEm);
  expect(u8(await kem.serializePublicKey(e.publicKey))).toBe(v.pkEm);

  const info = hex(v.info);
  const sender = await suite.createSenderContext({ recipientPublicKey: r.publicKey, info, ekm: hex(v.ikmE) });
  expect(u8(sender.enc)).toBe(v.enc);
  const recipient = await suite.createRecipientContext({ recipientKey: await kem.deserializePrivateKey(hex(v.skRm)), enc: hex(v.enc), info });

  // The vectors list sequence numbers 0, 1, 2, 4, 255, 256 of one context: seal every one in between.
  const bySeq = new Map(v.encryptions.map((x) => [x.sequence_number, x]));
  const last = Math.max(...bySeq.keys());
  for (let seq = 0; seq <= last; seq++) {
    const x = bySeq.get(seq);
    const pt = hex(x?.pt ?? v.encryptions[0]!.pt);
    const aad = x === undefined ? new TextEncoder().encode(`Count-${seq}`) : hex(x.aad);
    const ct = await sender.seal(pt, aad);
    if (x !== undefined) expect(u8(ct), `seal, sequence number ${seq}`).toBe(x.ct);
    expect(toHex(new Uint8Array(await recipient.open(ct, aad)))).toBe(toHex(pt));
  }

  for (const x of v.exports) {
    expect(u8(await sender.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
    expect(u8(await recipient.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
  }
}

function stock(aead: AeadInterface): CipherSuite {
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead });
}

function ours(aead: AeadInterface, kem: KemInterface = new NodeDhkemX25519HkdfSha256(), kdf: KdfInterface = new NodeHkdfSha256()): CipherSuite {
  return new CipherSuite({ kem, kdf, aead });
}

describe('RFC 9180 A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM', () => {
  it('is what stock @hpke/core computes', async () => {
    await checkVector(A_1_1, stock(new Aes128Gcm()));
  });

  it('is what our node:crypto KEM and KDF compute (with the stock AES-128-GCM)', async () => {
    await checkVector(A_1_1, ours(new Aes128Gcm()));
  });

  it('names a suite we do not speak (AES-128-GCM)', () => {
    expect(() => suiteFromIds(A_1_1.kem_id, A_1_1.kdf_id, A_1_1.aead_id)).toThrow(expect.objectContaining({ code: 'suite_unsupported' }));
  });
});

describe('RFC 9180 A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305', () => {
  const v = A_2_1;

  it('names our default suite', () => {
    expect(suiteFromIds(v.kem_id, v.kdf_id, v.aead_id)).toBe(SUITE_X25519);
    expect(v.mode).toBe(0);
  });

  it('is what stock @hpke/core with @hpke/chacha20poly1305 computes (checks the copied JSON)', async () => {
    await checkVector(v, stock(new Chacha20Poly1305()));
  });

  it('is what our suite computes, through its CipherSuite', async () => {
    await checkVector(v, cipherSuiteFor(SUITE_X25519));
  });

  it('has the shared secret and key schedule of RFC 9180 §4.1 and §5.1, step by step', async () => {
    const kem = cipherSuiteFor(SUITE_X25519).kem;
    const pkR = await importPublicKey(SUITE_X25519, hex(v.pkRm));
    const { sharedSecret, enc } = await kem.encap({ recipientPublicKey: cryptoKeyOf(pkR), ekm: hex(v.ikmE) });
    expect(u8(enc)).toBe(v.enc);
    expect(u8(sharedSecret)).toBe(v.shared_secret);
    const skR = await importPrivateKey(SUITE_X25519, hex(v.skRm));
    expect(u8(await kem.decap({ recipientKey: cryptoKeyPairOf(skR), enc: hex(v.enc) }))).toBe(v.shared_secret);

    // suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2))
    const suiteId = concatBytes(new TextEncoder().encode('HPKE'), Uint8Array.of(0, 0x20, 0, 0x01, 0, 0x03));
    const empty = new Uint8Array(0);
    const label = (s: string): Uint8Array => new TextEncoder().encode(s);
    const pskIdHash = labeledExtract(suiteId, empty, label('psk_id_hash'), empty);
    const infoHash = labeledExtract(suiteId, empty, label('info_hash'), hex(v.info));
    const context = concatBytes(Uint8Array.of(0), pskIdHash, infoHash);
    expect(toHex(context)).toBe(v.key_schedule_context);
    const secret = labeledExtract(suiteId, hex(v.shared_secret), label('secret'), empty);
    expect(toHex(secret)).toBe(v.secret);
    expect(toHex(labeledExpand(suiteId, secret, label('key'), context, 32))).toBe(v.key);
    expect(toHex(labeledExpand(suiteId, secret, label('base_nonce'), context, 12))).toBe(v.base_nonce);
    expect(toHex(labeledExpand(suiteId, secret, label('exp'), context, 32))).toBe(v.exporter_secret);
  });

  it('DeriveKeyPair(ikmR) and DeriveKeyPair(ikmE) give the vector keys through our key API', async () => {
    const r = await deriveKeyPair(SUITE_X25519, hex(v.ikmR));
    expect(toHex(r.privateKey.exportBytes())).toBe(v.skRm);
    expect(toHex(r.publicKey.toBytes())).toBe(v.pkRm);
    const e = await deriveKeyPair(SUITE_X25519, hex(v.ikmE));
    expect(toHex(e.privateKey.exportBytes())).toBe(v.skEm);
    expect(toHex(e.publicKey.toBytes())).toBe(v.pkEm);
  });

  it('sealTo with the vector ephemeral gives enc and the first ciphertext; openFrom opens it', async () => {
    const x = v.encryptions[0]!;
    const sealed = await sealTo(SUITE_X25519, hex(v.pkRm), hex(v.info), hex(x.aad), hex(x.pt), fixedRandom(hex(v.ikmE)));
    expect(toHex(sealed.enc)).toBe(v.enc);
    expect(toHex(sealed.ct)).toBe(x.ct);
    const skR = await importPrivateKey(SUITE_X25519, hex(v.skRm));
    expect(toHex(await openFrom(SUITE_X25519, skR, hex(v.enc), hex(v.info), hex(x.aad), hex(x.ct)))).toBe(x.pt);
  });
});

/**
 * X-Wing, draft-connolly-cfrg-xwing-kem Appendix C, test vector 1 (the same in drafts 06 to
 * 10). Pins the wire format of the 0.x library we use: seed → pk, (pk, eseed) → (ct, ss).
 * pk (1216 bytes) and ct (1120 bytes) are pinned by SHA-256 and their first 16 bytes, as
 * quoted by independent implementations' test suites; the full bytes are in the draft.
 */
describe('X-Wing: draft-connolly-cfrg-xwing-kem Appendix C, vector 1', () => {
  const seed = '7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26';
  const eseed =
    '3cb1eea988004b93103cfb0aeefd2a686e01fa4a58e8a3639ca8a1e3f9ae57e2' + '35b8cc873c23dc62b8d260169afa2f75ab916a58d974918835d25e6a435085b2';
  const ss = 'd2df0522128f09dd8e2c92b1e905c793d8f57a54c3da25861f10bf4ca613e384';
  const pkSha256 = '2e816deebcd76c5c80d0cd2d174478871658e8e2ff42bc9d4a6e486372e856bb';
  const pkPrefix = 'e2236b35a8c24b39b10aa1323a96a919';
  const ctSha256 = '17cd532d657e44c897ca6583e548a5424fc70bf54f99515a4d2bcf99e3469f33';
  const ctPrefix = 'b83aa828d4d62b9a83ceffe1d3d3bb1e';

  it('expands the seed to the draft public key, and encapsulates with eseed to its ciphertext and shared secret', async () => {
    const sk = await importPrivateKey(SUITE_XWING, hex(seed));
    const pk = sk.publicKey.toBytes();
    expect(toHex(pk.subarray(0, 16))).toBe(pkPrefix);
    expect(toHex(sha256(pk))).toBe(pkSha256);

    const kem = cipherSuiteFor(SUITE_XWING).kem;
    const { enc, sharedSecret } = await kem.encap({ recipientPublicKey: cryptoKeyOf(sk.publicKey), ekm: hex(eseed) });
    expect(toHex(new Uint8Array(enc).subarray(0, 16))).toBe(ctPrefix);
    expect(toHex(sha256(new Uint8Array(enc)))).toBe(ctSha256);
    expect(u8(sharedSecret)).toBe(ss);
    expect(u8(await kem.decap({ recipientKey: cryptoKeyPairOf(sk), enc }))).toBe(ss);
  });

  it('sealTo draws exactly eseed from the injected Random, giving the draft ciphertext as enc', async () => {
    const sk = await importPrivateKey(SUITE_XWING, hex(seed));
    const sealed = await sealTo(SUITE_XWING, sk.publicKey, new Uint8Array(0), new Uint8Array(0), new Uint8Array(32), fixedRandom(hex(eseed)));
    expect(toHex(sha256(sealed.enc))).toBe(ctSha256);
    expect(toHex(await openFrom(SUITE_XWING, sk, sealed.enc, new Uint8Array(0), new Uint8Array(0), sealed.ct))).toBe(toHex(new Uint8Array(32)));
  });
});
