/**
 * One full garbage collection once the daemon has gone idle after serving
 * Docker. V8 keeps the garbage a burst of requests leaves (and the heap pages
 * it sits in) until an allocation asks for the next collection, which an idle
 * daemon never makes: its resident memory would stay at the burst's level.
 * Needs Node's `--expose-gc` (the entry points pass it); without it nothing
 * happens.
 */
export interface IdleCollectorOptions {
  /** How long without a request before the collection. */
  readonly idleMs: number;
  /** `globalThis.gc` (undefined without --expose-gc). */
  readonly gc: (() => void) | undefined;
  readonly now?: (() => number) | undefined;
}

export class IdleCollector {
  readonly #opts: IdleCollectorOptions;
  readonly #now: () => number;
  #lastRequest = 0;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: IdleCollectorOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** A request was served. */
  touch(): void {
    this.#lastRequest = this.#now();
    this.#dirty = true;
  }

  /** Collects if requests were served since the last collection and none for idleMs; true when it did. */
  check(): boolean {
    if (!this.#dirty || !this.#opts.gc || this.#now() - this.#lastRequest < this.#opts.idleMs) return false;
    this.#dirty = false;
    this.#opts.gc();
    return true;
  }

  start(): void {
    if (!this.#opts.gc || this.#timer) return;
    this.#timer = setInterval(() => this.check(), Math.max(1000, this.#opts.idleMs / 2)).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
