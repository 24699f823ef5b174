/**
 * Opened signer certificates, by their exact bytes. Opening one verifies the root's Ed25519
 * signature over it (~0.1–0.3 ms), and every envelope sealed or opened carries one of a handful
 * of certificates. Opening is a pure function of the bytes (the signature is checked under the
 * root key the certificate names; whether that root is the pinned one, the validity window and
 * revocations are `verifySignerCertificate`'s, run on every use), so a hit needs byte-identical
 * input and nothing else. Bytes that do not open are never cached: they fail every time.
 */
import { BoundedCache } from '../bounded-cache.js';
import { openSignerCertificate, type SignerCertificate } from '../identity/certificate.js';

const opened = new BoundedCache<string, SignerCertificate>(256);

function copyOf(c: SignerCertificate): SignerCertificate {
  // Callers get their own arrays: a caller that writes into one must not change the cache.
  return { ...c, pub: c.pub.slice(), root: c.root.slice(), bytes: c.bytes.slice() };
}

/** `openSignerCertificate`, remembering what opened. Throws as it does ('certificate_invalid'). */
export function openSignerCertificateCached(bytes: Uint8Array): SignerCertificate {
  const k = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const hit = opened.get(k);
  if (hit !== undefined) return copyOf(hit);
  const c = openSignerCertificate(Uint8Array.from(bytes));
  opened.set(k, c);
  return copyOf(c);
}

/** @internal For tests: how many certificates are held. */
export function signerCacheSize(): number {
  return opened.size;
}
