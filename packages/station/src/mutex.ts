/**
 * A promise-chain lock. Copies of one note can arrive from several relays at once; merging
 * them one at a time is what makes "the first valid copy is delivered" well defined.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
