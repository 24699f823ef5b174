/** Byte helpers. Every decoder here is strict: attacker-controlled text is parsed here. */
import { BackchannelError } from './errors.js';

const HEX_RE = /^(?:[0-9a-f]{2})*$/;
// Standard base64 with padding, canonical: no whitespace, no URL alphabet.
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (typeof s !== 'string' || !HEX_RE.test(s)) throw new BackchannelError('encoding_invalid', 'not lowercase hexadecimal of whole bytes');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Strict standard base64 (RFC 4648 §4, padded); rejects anything Buffer would silently skip. */
export function fromBase64(s: string): Uint8Array {
  if (typeof s !== 'string' || !B64_RE.test(s)) throw new BackchannelError('encoding_invalid', 'not canonical padded base64');
  const out = new Uint8Array(Buffer.from(s, 'base64'));
  // Reject non-zero trailing bits, so every byte string has exactly one encoding.
  if (toBase64(out) !== s) throw new BackchannelError('encoding_invalid', 'base64 with non-canonical trailing bits');
  return out;
}

export function toBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

export function fromBase64Url(s: string): Uint8Array {
  if (typeof s !== 'string' || !B64URL_RE.test(s) || s.length % 4 === 1) throw new BackchannelError('encoding_invalid', 'not unpadded base64url');
  const out = new Uint8Array(Buffer.from(s, 'base64url'));
  if (toBase64Url(out) !== s) throw new BackchannelError('encoding_invalid', 'base64url with non-canonical trailing bits');
  return out;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Strict UTF-8 decoding: invalid sequences throw instead of becoming U+FFFD. */
export function fromUtf8(b: Uint8Array): string {
  if (!(b instanceof Uint8Array)) throw new BackchannelError('encoding_invalid', 'not bytes');
  try {
    return utf8Decoder.decode(b);
  } catch (cause) {
    throw new BackchannelError('encoding_invalid', 'invalid UTF-8', { cause });
  }
}

export function u64be(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}
