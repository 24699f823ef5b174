import { createHash, createHmac, hash } from 'node:crypto';

/**
 * Up to this many bytes in total, several parts are copied into one buffer and hashed with the
 * one-shot `crypto.hash`, which skips the Hash object that `createHash` builds. Measured on
 * node 20.20 (2 busy cores): one 32-byte part ~2× faster; 3 to 8 parts of 66 to 244 bytes
 * (commitment field and leaf hashes) ~1.2× faster; even at 1 KiB; slower from 2 KiB on, where
 * the copy costs more than the object saves.
 */
const CONCAT_LIMIT = 512;

function digest(algorithm: 'sha256' | 'sha512', parts: readonly Uint8Array[]): Uint8Array {
  let data: Uint8Array;
  if (parts.length === 1) {
    data = parts[0] as Uint8Array;
  } else {
    let total = 0;
    for (const p of parts) total += p.length;
    if (total > CONCAT_LIMIT) {
      const h = createHash(algorithm);
      for (const p of parts) h.update(p);
      return new Uint8Array(h.digest());
    }
    data = Buffer.concat(parts, total);
  }
  const out = hash(algorithm, data, 'buffer');
  // A Buffer that owns its whole ArrayBuffer can be handed out as a plain view: callers that
  // read `.buffer` (DataView, transfer) then see exactly the digest. Otherwise copy.
  return out.byteOffset === 0 && out.buffer.byteLength === out.length ? new Uint8Array(out.buffer) : new Uint8Array(out);
}

export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  return digest('sha256', parts);
}

export function sha512(...parts: readonly Uint8Array[]): Uint8Array {
  return digest('sha512', parts);
}

export function hmacSha256(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
