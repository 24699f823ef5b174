/**
 * HPKE (RFC 9180) for Backchannel envelopes: the two suites, their keys, and single-shot
 * base-mode seal and open. The @hpke/core module adapters (node-*.ts) stay internal.
 */
export { SUITES, SUITE_X25519, SUITE_XWING, suiteFromIds, suiteFromName, type Suite, type SuiteName } from './suite.js';
export {
  HpkePrivateKey,
  HpkePublicKey,
  deriveKeyPair,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  serializePrivateKey,
  serializePublicKey,
  type HpkeKeyPair,
} from './keys.js';
export { openFrom, sealTo, type Sealed } from './seal.js';
