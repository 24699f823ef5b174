/**
 * Key files: each private key in its own file, encrypted under a passphrase with the core's
 * keystore (scrypt + ChaCha20-Poly1305), labelled with what it holds and whose it is, so a
 * file swapped in from another home or another slot is refused (`keyfile_invalid`) instead of
 * being used.
 */
import { DEFAULT_SCRYPT, MIN_SCRYPT_N, decryptSecret, encryptSecret, type ScryptParams, type SuiteName } from '@backchannel/core';

/**
 * BACKCHANNEL_TEST_FAST_KDF=1 lowers scrypt to the floor the keystore accepts (N = 2^14), so
 * test suites that create dozens of homes stay fast. FOR TESTS ONLY: such keys fall to
 * guessing about eight times faster. The command line warns whenever it is used.
 */
export const FAST_KDF_ENV = 'BACKCHANNEL_TEST_FAST_KDF';

export function scryptParams(env: NodeJS.ProcessEnv): ScryptParams {
  return env[FAST_KDF_ENV] === '1' ? { n: MIN_SCRYPT_N, r: 8, p: 1 } : DEFAULT_SCRYPT;
}

export function isFastKdf(env: NodeJS.ProcessEnv): boolean {
  return env[FAST_KDF_ENV] === '1';
}

/** The authenticated label of each key file: its role and its owner. */
export const KEY_LABELS = {
  root: (party: string) => `root:${party}`,
  station: (party: string, station: string) => `station:${party}/${station}`,
  desk: (party: string, station: string) => `desk:${party}/${station}`,
  signer: (party: string, signer: string) => `signer:${party}/${signer}`,
  encryption: (party: string, suite: SuiteName, n: number) => `enc:${party}/${suite}/${n}`,
  log: (relay: string) => `log:${relay}`,
} as const;

export function sealKeyFile(passphrase: string, label: string, secret: Uint8Array, env: NodeJS.ProcessEnv): Uint8Array {
  return encryptSecret(passphrase, label, secret, { scrypt: scryptParams(env) });
}

export function openKeyFile(passphrase: string, label: string, file: Uint8Array): Uint8Array {
  return decryptSecret(passphrase, label, file);
}
