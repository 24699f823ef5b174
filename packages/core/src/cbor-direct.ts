/**
 * Deterministic CBOR written directly, for the few fixed-shape structures on a hot path (the
 * leaf opening in every receipt, the relay's submit answer): no general value walk, no map
 * sorting, no checks of shapes the caller's types already guarantee. The caller lists the map
 * entries in RFC 8949 §4.2.1 order itself and joins the parts with concatBytes; a test holds
 * every such writer to encodeCbor's bytes.
 */
import { utf8 } from './bytes.js';

/** The head of an item of major type `major` with argument `n`, in its shortest form (RFC 8949 §4.2.1). */
export function cborHead(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x100000000) return Uint8Array.of(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const b = new Uint8Array(9);
  b[0] = m | 27;
  new DataView(b.buffer).setBigUint64(1, BigInt(n));
  return b;
}

/** A text string item (major type 3). */
export function cborText(s: string): Uint8Array[] {
  const b = utf8(s);
  return [cborHead(3, b.length), b];
}

/** A byte string item (major type 2). */
export function cborBytes(b: Uint8Array): Uint8Array[] {
  return [cborHead(2, b.length), b];
}
