/**
 * Adapters at the boundary with @hpke/core, whose module interfaces take `ArrayBufferLike |
 * ArrayBufferView`, return `ArrayBuffer`, and are promise-based throughout.
 */

/** A view of the bytes, without copying. */
export function asBytes(x: ArrayBufferLike | ArrayBufferView): Uint8Array {
  if (x instanceof Uint8Array) return x;
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return new Uint8Array(x);
}

/**
 * A fresh ArrayBuffer holding exactly `b`. Never hand out `buf.buffer` of a node Buffer:
 * small Buffers are slices of a shared 8 KiB pool, and the whole pool would go with it.
 */
export function toOwnArrayBuffer(b: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out.buffer;
}

/**
 * Runs synchronous node:crypto work behind a promise-returning interface method, so that a
 * failure arrives as a rejection (as @hpke/core expects), never as a synchronous throw.
 */
export function settle<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}
