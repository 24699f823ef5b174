/**
 * A map that holds at most `max` entries and drops the least recently used one to make room.
 * The caches of repeated work (opened signer certificates, verified checkpoint notes, HPKE's
 * public extracts, a store's prepared statements) are bounded so that a stream of distinct
 * inputs, hostile or not, cannot grow them without limit; what repeats stays.
 */
export class BoundedCache<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('a bounded cache holds at least one entry');
    this.#max = max;
  }

  /** The value for `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      // A Map iterates in insertion order: re-inserting moves the key to the end, the oldest stays first.
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    if (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value as K);
    this.#map.set(key, value);
  }

  get size(): number {
    return this.#map.size;
  }

  clear(): void {
    this.#map.clear();
  }
}
