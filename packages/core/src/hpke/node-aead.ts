/**
 * ChaCha20-Poly1305 (RFC 8439) for @hpke/core's `AeadInterface`, on node:crypto's
 * 'chacha20-poly1305' cipher (OpenSSL). The primitive is OpenSSL's; this file only adapts
 * its streaming API to HPKE's seal/open of RFC 9180 §5.2, where the ciphertext is the
 * encrypted bytes followed by the 16-byte tag.
 *
 * Why not @hpke/chacha20poly1305: it is correct but pure JavaScript (noble), several times
 * slower on content-sized inputs. Interoperability with it is tested both ways.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AeadId, type AeadEncryptionContext, type AeadInterface } from '@hpke/core';
import { asBytes, settle } from './adapt.js';

const KEY_SIZE = 32; // Nk
const NONCE_SIZE = 12; // Nn
const TAG_SIZE = 16; // Nt

export class NodeChacha20Poly1305 implements AeadInterface {
  readonly id = AeadId.Chacha20Poly1305;
  readonly keySize = KEY_SIZE;
  readonly nonceSize = NONCE_SIZE;
  readonly tagSize = TAG_SIZE;

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    return new NodeChacha20Poly1305Context(asBytes(key));
  }
}

class NodeChacha20Poly1305Context implements AeadEncryptionContext {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== KEY_SIZE) throw new RangeError('ChaCha20-Poly1305 key must be 32 bytes');
    // Our own copy: the caller's buffer may be reused or wiped.
    this.#key = Uint8Array.from(key);
  }

  seal(iv: ArrayBufferLike | ArrayBufferView, data: ArrayBufferLike | ArrayBufferView, aad: ArrayBufferLike | ArrayBufferView): Promise<ArrayBuffer> {
    return settle(() => this.#seal(asBytes(iv), asBytes(data), asBytes(aad)));
  }

  /** Rejects when the tag does not verify; no plaintext is released before that check. */
  open(iv: ArrayBufferLike | ArrayBufferView, data: ArrayBufferLike | ArrayBufferView, aad: ArrayBufferLike | ArrayBufferView): Promise<ArrayBuffer> {
    return settle(() => this.#open(asBytes(iv), asBytes(data), asBytes(aad)));
  }

  #seal(iv: Uint8Array, pt: Uint8Array, aad: Uint8Array): ArrayBuffer {
    const cipher = createCipheriv('chacha20-poly1305', this.#key, checkNonce(iv), { authTagLength: TAG_SIZE });
    cipher.setAAD(aad, { plaintextLength: pt.length });
    const out = new Uint8Array(pt.length + TAG_SIZE);
    // A stream cipher: update() returns exactly as many bytes as it is given, final() none.
    out.set(cipher.update(pt), 0);
    cipher.final();
    out.set(cipher.getAuthTag(), pt.length);
    return out.buffer;
  }

  #open(iv: Uint8Array, ct: Uint8Array, aad: Uint8Array): ArrayBuffer {
    if (ct.length < TAG_SIZE) throw new Error('ciphertext shorter than the tag');
    const body = ct.subarray(0, ct.length - TAG_SIZE);
    const decipher = createDecipheriv('chacha20-poly1305', this.#key, checkNonce(iv), { authTagLength: TAG_SIZE });
    decipher.setAuthTag(ct.subarray(ct.length - TAG_SIZE));
    decipher.setAAD(aad, { plaintextLength: body.length });
    const pt = new Uint8Array(body.length);
    pt.set(decipher.update(body), 0);
    try {
      decipher.final(); // throws on a tag mismatch
    } catch (e) {
      pt.fill(0); // unauthenticated plaintext never leaves
      throw e;
    }
    return pt.buffer;
  }
}

function checkNonce(iv: Uint8Array): Uint8Array {
  // OpenSSL accepts shorter nonces for this cipher; HPKE's Nn is exactly 12 (RFC 9180 §7.3).
  if (iv.length !== NONCE_SIZE) throw new RangeError('ChaCha20-Poly1305 nonce must be 12 bytes');
  return iv;
}
