/**
 * The narrow HPKE interface the envelope needs: single-shot base-mode seal and open per
 * suite, and the sizes that padding must plan for. (Switches to hpke/ when it lands.)
 */
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { XWing } from '@hpke/hybridkem-x-wing';
import { BackchannelError } from './errors.js';
import type { SuiteName } from './identity/bundle.js';
import type { Random } from './random.js';

const suites: Record<SuiteName, CipherSuite> = {
  x25519: new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() }),
  xwing: new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() }),
};

export function hpkeSizes(suite: SuiteName): { enc: number; tag: number } {
  return { enc: suite === 'x25519' ? 32 : 1120, tag: 16 };
}

function ab(u: Uint8Array): ArrayBuffer {
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
}

export async function sealHpke(suite: SuiteName, pub: Uint8Array, info: Uint8Array, aad: Uint8Array, pt: Uint8Array, _random?: Random): Promise<{ enc: Uint8Array; ct: Uint8Array }> {
  const s = suites[suite];
  let recipientPublicKey;
  try {
    recipientPublicKey = await s.kem.deserializePublicKey(ab(pub));
  } catch (cause) {
    throw new BackchannelError('key_invalid', `not a ${suite} public key`, { cause });
  }
  const r = await s.seal({ recipientPublicKey, info: ab(info) }, ab(pt), ab(aad));
  return { enc: new Uint8Array(r.enc), ct: new Uint8Array(r.ct) };
}

export async function openHpke(suite: SuiteName, priv: Uint8Array, enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ct: Uint8Array): Promise<Uint8Array> {
  const s = suites[suite];
  try {
    const recipientKey = await s.kem.deserializePrivateKey(ab(priv));
    return new Uint8Array(await s.open({ recipientKey, enc: ab(enc), info: ab(info) }, ab(ct), ab(aad)));
  } catch (cause) {
    throw new BackchannelError('decrypt_failed', 'content key does not decrypt', { cause });
  }
}

/** A key pair derived (RFC 9180 DeriveKeyPair) from 32 bytes of the injected randomness. */
export async function generateHpkeKeyPair(suite: SuiteName, random: Random): Promise<{ pub: Uint8Array; priv: Uint8Array }> {
  const s = suites[suite];
  const kp = await s.kem.deriveKeyPair(ab(random(32)));
  return {
    pub: new Uint8Array(await s.kem.serializePublicKey(kp.publicKey)),
    priv: new Uint8Array(await s.kem.serializePrivateKey(kp.privateKey)),
  };
}
