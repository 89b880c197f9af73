/**
 * Automatic reconciliation in the daemon: a first pass once Neutron is ready,
 * then one every `[DEFAULT] reconcile_interval` seconds (0: none; `kuryr
 * reconcile` still runs one on demand). A pass still running when the next is
 * due is not doubled. Each pass runs detached from Docker's requests (its
 * Neutron calls count as background calls).
 */
import { describeError } from '@kuryr-ts/openstack/errors';
import type { Reconciler } from '../domain/reconciler.js';
import type { Background, Logger } from '../domain/settings.js';

export class ReconcileSchedule {
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(
    readonly reconciler: Reconciler,
    readonly intervalS: number,
    readonly log: Logger,
    readonly background: Background,
  ) {}

  /** The first pass now, then one per interval. */
  start(): void {
    if (this.intervalS <= 0) {
      this.log.info({}, 'reconcile: automatic passes are off ([DEFAULT] reconcile_interval = 0); `kuryr reconcile` runs one');
      return;
    }
    this.#pass();
    this.#timer = setInterval(() => this.#pass(), this.intervalS * 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #pass(): void {
    if (this.#running) return;
    this.#running = true;
    this.background(async () => {
      try {
        await this.reconciler.run({ dryRun: false });
      } catch (err) {
        this.log.warn({ err: describeError(err) }, 'reconcile: the pass failed');
      } finally {
        this.#running = false;
      }
    });
  }
}

/** The driver's name in Docker: the plugin socket's base name without `.sock` (`kuryr`). */
export function driverNameOf(pluginSocket: string): string {
  return pluginSocket.replace(/^.*\//, '').replace(/\.sock$/, '');
}
