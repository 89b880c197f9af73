/**
 * Serialises async work per key (e.g. one find-or-create per pool CIDR or per
 * Docker network id) while letting different keys run in parallel. Entries are
 * removed when their queue drains, so memory does not grow with the number of
 * keys ever seen.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Number of keys with queued or running work (for tests and leak checks). */
  get size(): number {
    return this.#tails.size;
  }
}
