/**
 * RFC 9180 test vectors. A.1.1 is shared (<repo root>/../shared/vectors/hpke, the repository
 * is cloned with `shared/` as a sibling); A.2.1 is copied beside this file. Test helper, not a test.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fromHex } from '../../src/bytes.js';

const repoRoot = resolve(import.meta.dirname, '../../../..');

export interface HpkeVector {
  mode: number;
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmE: string;
  pkEm: string;
  skEm: string;
  ikmR: string;
  pkRm: string;
  skRm: string;
  enc: string;
  shared_secret: string;
  key_schedule_context: string;
  secret: string;
  key: string;
  base_nonce: string;
  exporter_secret: string;
  encryptions: { sequence_number: number; pt: string; aad: string; nonce: string; ct: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

function load(file: string): HpkeVector {
  return JSON.parse(readFileSync(file, 'utf8')) as HpkeVector;
}

export const A_1_1 = load(resolve(repoRoot, '../shared/vectors/hpke/rfc9180-A.1.1-x25519-sha256-aes128gcm.json'));
export const A_2_1 = load(resolve(import.meta.dirname, 'rfc9180-A.2.1-x25519-sha256-chacha20poly1305.json'));

export const hex = fromHex;

/** A Random that returns exactly `bytes` once (the vector's ikmE), and fails if asked for anything else. */
export function fixedRandom(bytes: Uint8Array): (n: number) => Uint8Array {
  let used = false;
  return (n) => {
    if (used || n !== bytes.length) throw new Error(`fixedRandom: asked for ${n} bytes`);
    used = true;
    return Uint8Array.from(bytes);
  };
}
