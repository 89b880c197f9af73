/**
 * A Map that forgets its oldest entries beyond `capacity`. Used for the
 * daemon's hint caches (facts learnt from Neutron that save a lookup later):
 * they speed things up but are never the source of truth, so losing an entry
 * only costs a Neutron GET, and memory stays flat however long the daemon runs.
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (capacity < 1) throw new RangeError('capacity must be >= 1');
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  set(key: K, value: V): this {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.capacity) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  get size(): number {
    return this.#map.size;
  }
}
