/**
 * HPKE seal and open per second, per suite: stock @hpke/core modules against the node:crypto
 * modules plugged into it, and our sealTo/openFrom. The payload is what an envelope seals, a
 * 32-byte content key, with a header-sized aad; one 2 KiB row pair compares with NODE20.md.
 *
 * Run alone: npx tsx bench/hpke.bench.ts [--quick]
 */
import { resolve } from 'node:path';
import {
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
  type AeadInterface,
  type CipherSuiteSealResponse,
  type KdfInterface,
  type KemInterface,
} from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { XWing } from '@hpke/hybridkem-x-wing';
import { generateKeyPair } from '../packages/core/src/hpke/keys.js';
import { NodeChacha20Poly1305 } from '../packages/core/src/hpke/node-aead.js';
import { NodeHkdfSha256 } from '../packages/core/src/hpke/node-kdf.js';
import { NodeDhkemX25519HkdfSha256 } from '../packages/core/src/hpke/node-kem.js';
import { openFrom, sealTo, type Sealed } from '../packages/core/src/hpke/seal.js';
import { SUITE_X25519, SUITE_XWING, type Suite } from '../packages/core/src/hpke/suite.js';
import { measure, type BenchOptions, type BenchRow } from './lib.js';

const info = new TextEncoder().encode('backchannel/v1/content-key');
const aad = new Uint8Array(160).fill(0x48); // about a clear header
const contentKey = new Uint8Array(32).fill(0x5a);
const twoKiB = new Uint8Array(2048).fill(0x5a);

interface Modules {
  label: string;
  kem: () => KemInterface;
  kdf: () => KdfInterface;
  aead: () => AeadInterface;
}

/** Seal and open rows for one combination of modules, driven through @hpke/core's CipherSuite. */
async function measureModules(group: string, m: Modules, pt: Uint8Array, timing: { ms: number; rounds: number }): Promise<BenchRow[]> {
  const suite = new CipherSuite({ kem: m.kem(), kdf: m.kdf(), aead: m.aead() });
  // Keys imported once, as a station holds them: the rows time seal and open, not import.
  const kp = await suite.kem.deriveKeyPair(new Uint8Array(32).fill(7));
  let sealed: CipherSuiteSealResponse = await suite.seal({ recipientPublicKey: kp.publicKey, info }, pt, aad);
  const note = `${String(pt.length)} B payload`;
  const seal = await measure(
    group,
    `seal, ${m.label}`,
    async () => {
      sealed = await suite.seal({ recipientPublicKey: kp.publicKey, info }, pt, aad);
    },
    { ...timing, note },
  );
  const open = await measure(group, `open, ${m.label}`, () => suite.open({ recipientKey: kp, enc: sealed.enc, info }, sealed.ct, aad), {
    ...timing,
    note,
  });
  return [seal, open];
}

/** Seal and open rows through the public API (key cache, validation, error mapping included). */
async function measureApi(group: string, suite: Suite, timing: { ms: number; rounds: number }): Promise<BenchRow[]> {
  const { publicKey, privateKey } = await generateKeyPair(suite);
  const pk = publicKey.toBytes(); // raw bytes, as an envelope builder passes them: exercises the cache
  let sealed: Sealed = await sealTo(suite, pk, info, aad, contentKey);
  const note = '32 B payload, raw public key';
  const seal = await measure(
    group,
    'seal, sealTo (production modules)',
    async () => {
      sealed = await sealTo(suite, pk, info, aad, contentKey);
    },
    { ...timing, note },
  );
  const open = await measure(group, 'open, openFrom (production modules)', () => openFrom(suite, privateKey, sealed.enc, info, aad, sealed.ct), {
    ...timing,
    note,
  });
  return [seal, open];
}

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const timing = opts.quick ? { ms: 100, rounds: 3 } : { ms: 400, rounds: 5 };
  const rows: BenchRow[] = [];

  const x = 'hpke x25519';
  const stockX: Modules = {
    label: 'stock (@hpke/core X25519 + HKDF, @hpke/chacha20poly1305)',
    kem: () => new DhkemX25519HkdfSha256(),
    kdf: () => new HkdfSha256(),
    aead: () => new Chacha20Poly1305(),
  };
  const nodeAeadX: Modules = { ...stockX, label: 'stock KEM + KDF, node AEAD', aead: () => new NodeChacha20Poly1305() };
  const nodeKdfAeadX: Modules = { ...nodeAeadX, label: 'stock KEM, node KDF + AEAD', kdf: () => new NodeHkdfSha256() };
  const nodeAllX: Modules = { ...nodeKdfAeadX, label: 'node KEM + KDF + AEAD', kem: () => new NodeDhkemX25519HkdfSha256() };
  for (const m of [stockX, nodeAeadX, nodeKdfAeadX, nodeAllX]) rows.push(...(await measureModules(x, m, contentKey, timing)));
  rows.push(...(await measureApi(x, SUITE_X25519, timing)));
  rows.push(...(await measureModules(x, stockX, twoKiB, timing)));
  rows.push(...(await measureModules(x, nodeAllX, twoKiB, timing)));

  const w = 'hpke xwing';
  const stockW: Modules = {
    label: 'stock (@hpke/hybridkem-x-wing, @hpke/core HKDF, @hpke/chacha20poly1305)',
    kem: () => new XWing(),
    kdf: () => new HkdfSha256(),
    aead: () => new Chacha20Poly1305(),
  };
  const nodeAeadW: Modules = { ...stockW, label: 'stock KEM + KDF, node AEAD', aead: () => new NodeChacha20Poly1305() };
  const nodeKdfAeadW: Modules = { ...nodeAeadW, label: 'stock KEM, node KDF + AEAD', kdf: () => new NodeHkdfSha256() };
  for (const m of [stockW, nodeAeadW, nodeKdfAeadW]) rows.push(...(await measureModules(w, m, contentKey, timing)));
  rows.push(...(await measureApi(w, SUITE_XWING, timing)));
  return rows;
}

function formatTable(rows: readonly BenchRow[]): string {
  const lines = ['| group | operation | per second | µs/op | note |', '| --- | --- | ---: | ---: | --- |'];
  for (const r of rows) {
    lines.push(`| ${r.group} | ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.usPerOp.toFixed(1)} | ${r.note ?? ''} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  console.log(formatTable(await run({ quick: process.argv.includes('--quick') })));
}
