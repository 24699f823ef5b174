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

/** A database handle as SQL drivers over better-sqlite3 see it (Kysely's SqliteDatabase). */
export interface PreparingDatabase<S> {
  prepare(text: string): S;
  close(): void;
}

/**
 * The database with its prepared statements reused, by SQL text: Kysely prepares every query
 * afresh, and preparing one costs about as much as running it (~60 µs each on the benchmark
 * machine; a note sent or received runs 15–30 queries at a desk, a relay's group commit reads
 * before it writes). Kysely's text for a query shape is stable, with the values bound as
 * parameters, so the text identifies the statement. Both the station's and the relay's stores
 * use it.
 */
export function cachingStatements<S>(db: PreparingDatabase<S>, max = 256): PreparingDatabase<S> {
  const cache = new BoundedCache<string, S>(max);
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare: (text: string): S => {
      let stmt = cache.get(text);
      if (stmt === undefined) {
        stmt = db.prepare(text);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}
