/**
 * The HPKE suites Backchannel speaks (DESIGN.md, "The envelope"). A suite is chosen per party
 * pair, never per note, and named in the clear header by its RFC 9180 identifier triple, so
 * a reader finds it with `suiteFromIds`; anything else is 'suite_unsupported'.
 *
 *  - "x25519" (the default): DHKEM(X25519, HKDF-SHA256) 0x0020, HKDF-SHA256 0x0001,
 *    ChaCha20-Poly1305 0x0003 (RFC 9180 §7).
 *  - "xwing": the X-Wing hybrid KEM (ML-KEM-768 + X25519, draft-connolly-cfrg-xwing-kem,
 *    HPKE KEM id 0x647a), same KDF and AEAD. For notes that must stay secret for decades.
 */
import { BackchannelError } from '../errors.js';

export type SuiteName = 'x25519' | 'xwing';

export interface Suite {
  /** Short stable name, for configuration and logs. The wire carries the triple. */
  readonly name: SuiteName;
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
  /** Npk: bytes of a serialized public key. */
  readonly publicKeySize: number;
  /** Nsk: bytes of a serialized private key (X-Wing: the 32-byte seed). */
  readonly privateKeySize: number;
  /** Nenc: bytes of an encapsulation. */
  readonly encSize: number;
  /** Nt: a sealed ciphertext is this much longer than its plaintext. */
  readonly tagSize: number;
  /**
   * Bytes drawn from an injected `Random` per seal: for DHKEM the IKM of the ephemeral key
   * (RFC 9180 §7.1.3 DeriveKeyPair), for X-Wing the 64-byte `eseed` of EncapsulateDerand.
   */
  readonly ephemeralRandomSize: number;
  /** Bytes of IKM drawn for DeriveKeyPair when a key pair is generated (at least Nsk). */
  readonly keyGenRandomSize: number;
}

export const SUITE_X25519: Suite = Object.freeze({
  name: 'x25519',
  kemId: 0x0020,
  kdfId: 0x0001,
  aeadId: 0x0003,
  publicKeySize: 32,
  privateKeySize: 32,
  encSize: 32,
  tagSize: 16,
  ephemeralRandomSize: 32,
  keyGenRandomSize: 32,
});

export const SUITE_XWING: Suite = Object.freeze({
  name: 'xwing',
  kemId: 0x647a,
  kdfId: 0x0001,
  aeadId: 0x0003,
  // pk = ML-KEM-768 encapsulation key (1184) || X25519 public key (32)
  publicKeySize: 1216,
  privateKeySize: 32,
  // enc = ML-KEM-768 ciphertext (1088) || X25519 ephemeral public key (32)
  encSize: 1120,
  tagSize: 16,
  ephemeralRandomSize: 64,
  keyGenRandomSize: 32,
});

/** Every suite, default first. */
export const SUITES: readonly Suite[] = Object.freeze([SUITE_X25519, SUITE_XWING]);

/** The suite a header names. The triple is attacker-controlled: unknown triples are refused, never guessed. */
export function suiteFromIds(kemId: number, kdfId: number, aeadId: number): Suite {
  const found = SUITES.find((s) => s.kemId === kemId && s.kdfId === kdfId && s.aeadId === aeadId);
  if (found === undefined) {
    throw new BackchannelError('suite_unsupported', 'unsupported HPKE suite', { details: { kemId, kdfId, aeadId } });
  }
  return found;
}

export function suiteFromName(name: string): Suite {
  const found = SUITES.find((s) => s.name === name);
  if (found === undefined) throw new BackchannelError('suite_unsupported', 'unsupported HPKE suite', { details: { name } });
  return found;
}
