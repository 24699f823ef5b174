/**
 * Size buckets for whole envelopes. Padding happens inside the encryption so that a relay sees
 * only one of these sizes. The smallest must hold two X-Wing encapsulations (2 × 1,120 bytes)
 * with room for a short note; each step is ×4, so padding costs at most 4× and leaks 2 bits.
 */
import { BackchannelError } from '../errors.js';

export const SIZE_BUCKETS = [4096, 16384, 65536, 262144, 1048576, 4194304] as const;
export const MAX_ENVELOPE_BYTES = 4194304;

export function isSizeBucket(n: number): boolean {
  return (SIZE_BUCKETS as readonly number[]).includes(n);
}

/** The smallest bucket that holds `minimum` bytes. */
export function bucketFor(minimum: number): number {
  for (const b of SIZE_BUCKETS) if (minimum <= b) return b;
  throw new BackchannelError('too_large', `an envelope of ${minimum} bytes exceeds the largest size bucket of ${MAX_ENVELOPE_BYTES} bytes`);
}
