import { createHash } from 'node:crypto';
import type { Random } from './random.js';

/** SHA-256(seed || counter) stream. For test vectors only: predictable by construction. */
export function deterministicRandomForTests(seed: string): Random {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n: number) => {
    while (pool.length < n) {
      const block = createHash('sha256').update(seed).update(String(counter++)).digest();
      const next = new Uint8Array(pool.length + block.length);
      next.set(pool);
      next.set(block, pool.length);
      pool = next;
    }
    const out = pool.slice(0, n);
    pool = pool.slice(n);
    return out;
  };
}
