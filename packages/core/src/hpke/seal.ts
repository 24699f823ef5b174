/**
 * Single-shot HPKE in mode_base (RFC 9180 §6.1): SealBase / OpenBase. An envelope seals its
 * 32-byte content key with this, once to the recipient party and once to the sender's own
 * party, with the clear header as `aad` (DESIGN.md, "The envelope").
 *
 * Randomness: the only random input is the KEM's ephemeral. With an injected `Random` it is
 * drawn from it (the ephemeral's IKM for DHKEM, as the RFC's vectors fix it; X-Wing's
 * `eseed`), so protocol vectors are reproducible; @hpke/core takes it through `ekm`, its
 * test hook, which is the only way to fix the ephemeral there. Without one, the KEM uses the
 * system CSPRNG, as production must.
 */
import type { SenderContextParams } from '@hpke/core';
import { BackchannelError } from '../errors.js';
import type { Random } from '../random.js';
import { cipherSuiteFor } from './cipher-suite.js';
import { cryptoKeyOf, cryptoKeyPairOf, importPublicKey, type HpkePrivateKey, type HpkePublicKey } from './keys.js';
import type { Suite } from './suite.js';

export interface Sealed {
  /** The encapsulated key (Nenc bytes). */
  readonly enc: Uint8Array;
  /** The AEAD ciphertext: as long as the plaintext plus the 16-byte tag. */
  readonly ct: Uint8Array;
}

function checkKeySuite(suite: Suite, key: HpkePublicKey | HpkePrivateKey, what: string): void {
  // A key of the other suite is a configuration error, not an attack: say so plainly.
  if (key.suite.name !== suite.name) {
    throw new BackchannelError('key_invalid', `${what} is for suite ${key.suite.name}, not ${suite.name}`, {
      details: { expected: suite.name, actual: key.suite.name },
    });
  }
}

function checkBytes(x: unknown, what: string): asserts x is Uint8Array {
  if (!(x instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/**
 * SealBase(pkR, info, aad, pt). `recipientPublicKey` may be raw bytes (imported and cached
 * here, 'key_invalid' if bad) or an imported key of this suite.
 */
export async function sealTo(
  suite: Suite,
  recipientPublicKey: HpkePublicKey | Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  random?: Random,
): Promise<Sealed> {
  checkBytes(info, 'info');
  checkBytes(aad, 'aad');
  checkBytes(plaintext, 'plaintext');
  const pk = recipientPublicKey instanceof Uint8Array ? await importPublicKey(suite, recipientPublicKey) : recipientPublicKey;
  checkKeySuite(suite, pk, 'recipient public key');
  const ekm = random?.(suite.ephemeralRandomSize);
  const params: SenderContextParams = { recipientPublicKey: cryptoKeyOf(pk), info };
  if (ekm !== undefined) params.ekm = ekm;
  try {
    // Failures here are not attacker-driven (the key was validated on import): they surface as they are.
    const { enc, ct } = await cipherSuiteFor(suite).seal(params, plaintext, aad);
    return { enc: new Uint8Array(enc), ct: new Uint8Array(ct) };
  } finally {
    ekm?.fill(0); // the ephemeral secret's seed: both KEMs have copied or consumed it by now
  }
}

/**
 * OpenBase(enc, skR, info, aad, ct). `enc` and `ct` are attacker-controlled: whatever is wrong
 * with them, or with `info` and `aad`, or if the key is not the one sealed to, the result is
 * one 'decrypt_failed' with no cause attached, so the failure tells nothing about why.
 */
export async function openFrom(
  suite: Suite,
  recipientPrivateKey: HpkePrivateKey,
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ct: Uint8Array,
): Promise<Uint8Array> {
  checkBytes(enc, 'enc');
  checkBytes(info, 'info');
  checkBytes(aad, 'aad');
  checkBytes(ct, 'ct');
  checkKeySuite(suite, recipientPrivateKey, 'recipient private key');
  const recipientKey = cryptoKeyPairOf(recipientPrivateKey);
  let pt: ArrayBuffer | undefined;
  // Lengths are checked here so that no malformed input reaches the KEM's parsers at all.
  if (enc.length === suite.encSize && ct.length >= suite.tagSize) {
    try {
      pt = await cipherSuiteFor(suite).open({ recipientKey, enc, info }, ct, aad);
    } catch {
      pt = undefined;
    }
  }
  if (pt === undefined) throw new BackchannelError('decrypt_failed', 'HPKE open failed');
  return new Uint8Array(pt);
}
