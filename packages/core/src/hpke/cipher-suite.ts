/**
 * The @hpke/core `CipherSuite` behind each Backchannel suite: @hpke/core runs the RFC 9180
 * key schedule and contexts; the primitives are plugged in through its module interfaces.
 *
 * Measured on Node 20 (bench/hpke.bench.ts, 2-core VM, 32-byte content key, seals/s and
 * opens/s): stock modules ~0.9k / 1.3k; with the node:crypto AEAD alone, no real change (the
 * payload is a 32-byte key); node KDF + AEAD ~2.4k / 2.9k; node KEM + KDF + AEAD ~5.5k / 8k.
 * The WebCrypto HKDF and KEM were the cost: every call is an async thread-pool job. X-Wing
 * keeps the library's KEM (Node 20 has no ML-KEM) and gains ~30% from the node KDF and AEAD.
 */
import { CipherSuite } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { NodeChacha20Poly1305 } from './node-aead.js';
import { NodeHkdfSha256 } from './node-kdf.js';
import { NodeDhkemX25519HkdfSha256 } from './node-kem.js';
import type { Suite, SuiteName } from './suite.js';

const built = new Map<SuiteName, CipherSuite>();

/** One CipherSuite per suite for the process: it is stateless between calls, and building one costs. */
export function cipherSuiteFor(suite: Suite): CipherSuite {
  let cs = built.get(suite.name);
  if (cs === undefined) {
    cs = build(suite.name);
    // A descriptor that disagrees with the modules behind it is a bug here, never input.
    if (cs.kem.id !== suite.kemId || cs.kdf.id !== suite.kdfId || cs.aead.id !== suite.aeadId) {
      throw new Error(`HPKE modules for suite ${suite.name} do not match its identifiers`);
    }
    built.set(suite.name, cs);
  }
  return cs;
}

function build(name: SuiteName): CipherSuite {
  // A KdfInterface is initialised with a suite_id, so each CipherSuite gets its own.
  switch (name) {
    case 'x25519':
      return new CipherSuite({ kem: new NodeDhkemX25519HkdfSha256(), kdf: new NodeHkdfSha256(), aead: new NodeChacha20Poly1305() });
    case 'xwing':
      return new CipherSuite({ kem: new XWing(), kdf: new NodeHkdfSha256(), aead: new NodeChacha20Poly1305() });
  }
}
