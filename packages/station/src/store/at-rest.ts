/**
 * Notes' contents encrypted at rest under the per-station storage key (issue 4, "Storage").
 *
 *   sealed = nonce(12) || ChaCha20-Poly1305(storage key, nonce, aad = "backchannel/v1/store" || 0x00 || where, plaintext)
 *
 * `where` names the row and column ("incoming/us/<id>/content"), so a ciphertext moved to another
 * row does not open there. Nonces are random (injected randomness): a station writes far fewer
 * than 2^32 values under one key, well inside the 96-bit birthday bound.
 *
 * The passphrase that protects the storage key is the CLI's business; this module takes the
 * decrypted 32-byte key.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { BackchannelError, concatBytes, utf8, type Random } from '@backchannel/core';
import { StationError } from '../errors.js';

const NONCE = 12;
const TAG = 16;
const LABEL = 'backchannel/v1/store';

export class AtRestCipher {
  readonly #key: Uint8Array;
  readonly #random: Random;

  constructor(key: Uint8Array, random: Random) {
    if (!(key instanceof Uint8Array) || key.length !== 32) throw new BackchannelError('argument_invalid', 'a storage key is 32 bytes');
    this.#key = Uint8Array.from(key);
    this.#random = random;
  }

  seal(where: string, plaintext: Uint8Array): Uint8Array {
    const nonce = this.#random(NONCE);
    const c = createCipheriv('chacha20-poly1305', this.#key, nonce, { authTagLength: TAG });
    c.setAAD(aad(where), { plaintextLength: plaintext.length });
    return concatBytes(nonce, c.update(plaintext), c.final(), c.getAuthTag());
  }

  /** Throws `storage_key_wrong` when the value was not written under this key for this place. */
  open(where: string, sealed: Uint8Array): Uint8Array {
    if (sealed.length < NONCE + TAG) throw new StationError('store_invalid', `stored value for ${where} is truncated`);
    const d = createDecipheriv('chacha20-poly1305', this.#key, sealed.subarray(0, NONCE), { authTagLength: TAG });
    d.setAAD(aad(where), { plaintextLength: sealed.length - NONCE - TAG });
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    try {
      return concatBytes(d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final());
    } catch (cause) {
      throw new StationError('storage_key_wrong', `stored value for ${where} does not open under this station's storage key`, { cause });
    }
  }
}

function aad(where: string): Uint8Array {
  return concatBytes(utf8(LABEL), Uint8Array.of(0), utf8(where));
}
