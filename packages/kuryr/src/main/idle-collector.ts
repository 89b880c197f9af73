/**
 * Gives the memory of a busy spell back once the daemon is idle again.
 *
 * V8 shrinks an idle heap on its own (its memory reducer) only after the heap
 * has grown by some 10 MB since the last time it did, which a daemon of this
 * size rarely reaches: after a burst of containers it kept several MB of
 * garbage and spare heap pages for good. So every `everyMs` the collector
 * looks at the last window: if the event loop was (nearly) idle through it
 * and the heap holds at least `minGrowthBytes` more than after the last
 * collection, it runs one full collection (~20 ms for a 25 MB heap; a request
 * arriving meanwhile waits that long). A window with work in it is skipped, so
 * a busy spell is not collected in the middle, and an idle daemon is collected
 * once per busy spell, not on every tick (nothing grew).
 *
 * `gc` is V8's, which node exposes with `--expose-gc` (the daemon's launchers
 * pass it); without it the collector does nothing.
 */
import type { Logger } from '../domain/settings.js';
import { mb } from './memory-split.js';

export interface IdleCollectorOptions {
  /** A full collection (globalThis.gc under --expose-gc); undefined: off. */
  gc: (() => void) | undefined;
  /** Bytes of live and dead objects on the heap now (v8.getHeapStatistics().used_heap_size). */
  heapUsed: () => number;
  /** Milliseconds the event loop has spent busy since the process started (performance.eventLoopUtilization().active). */
  activeMs: () => number;
  log: Logger;
  /** The window (ms; default 5000). */
  everyMs?: number | undefined;
  /** A window is idle when the loop was busy for less than this share of it (default 0.01). */
  idleShare?: number | undefined;
  /** Growth since the last collection that is worth one (bytes; default 1 MiB). */
  minGrowthBytes?: number | undefined;
  /** Timers (tests). */
  setInterval?: ((fn: () => void, ms: number) => { unref(): unknown }) | undefined;
  clearInterval?: ((timer: never) => void) | undefined;
}

export class IdleCollector {
  readonly #o: IdleCollectorOptions;
  readonly #everyMs: number;
  readonly #idleMs: number;
  readonly #minGrowth: number;
  #timer: { unref(): unknown } | undefined;
  #lastActive = 0;
  /** Heap used right after the last collection (0: none yet, so the start-up's garbage goes at the first idle window). */
  #usedAfter = 0;
  #collections = 0;

  constructor(opts: IdleCollectorOptions) {
    this.#o = opts;
    this.#everyMs = opts.everyMs ?? 5000;
    this.#idleMs = this.#everyMs * (opts.idleShare ?? 0.01);
    this.#minGrowth = opts.minGrowthBytes ?? 1024 * 1024;
  }

  /** Full collections run so far. */
  get collections(): number {
    return this.#collections;
  }

  start(): void {
    if (!this.#o.gc) {
      this.#o.log.debug({}, 'idle collection off: node runs without --expose-gc');
      return;
    }
    if (this.#timer) return;
    this.#lastActive = this.#o.activeMs();
    const every = this.#o.setInterval ?? setInterval;
    this.#timer = every(() => this.tick(), this.#everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) (this.#o.clearInterval ?? clearInterval)(this.#timer as never);
    this.#timer = undefined;
  }

  /** One window's check (the timer's; public for tests). */
  tick(): void {
    const gc = this.#o.gc;
    if (!gc) return;
    const active = this.#o.activeMs();
    const idle = active - this.#lastActive < this.#idleMs;
    this.#lastActive = active;
    const before = this.#o.heapUsed();
    if (!idle || before - this.#usedAfter < this.#minGrowth) return;
    const t0 = performance.now();
    gc();
    this.#usedAfter = this.#o.heapUsed();
    this.#collections++;
    // The collection's own time is not the next window's work.
    this.#lastActive = this.#o.activeMs();
    this.#o.log.debug({ heapUsedMB: mb(before), afterMB: mb(this.#usedAfter), ms: Math.round(performance.now() - t0) }, 'idle: heap collected');
  }
}
