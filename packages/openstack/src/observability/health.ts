/**
 * Readiness: the dependencies a service needs to do its work (Neutron,
 * Keystone, the database, Docker hosts), each checked with a bounded wait,
 * in parallel; the report names every dependency, whether it is ready and
 * why not. Reports are reused for `cacheMs` and concurrent callers share one
 * round of checks, so frequent probes cost the dependencies little.
 */
import { describeError } from '../errors.js';

/** What a check found; a check that throws, or does not answer in time, is not ready. */
export interface CheckResult {
  readonly ready: boolean;
  /** Why not (or a note when ready). */
  readonly reason?: string | undefined;
  /** More to show (e.g. each compute host's state). */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** Resolves a result; resolving nothing means ready. */
export type Check = () => Promise<CheckResult | void>;

export interface DependencyReport extends CheckResult {
  readonly ms: number;
}

export interface ReadinessReport {
  readonly status: 'ready' | 'not ready';
  readonly ready: boolean;
  /** The dependencies that are not ready, by name. */
  readonly notReady: readonly string[];
  readonly checks: Readonly<Record<string, DependencyReport>>;
}

export interface ReadinessOptions {
  /** How long a check may take before it counts as not ready (default 5 s). */
  readonly timeoutMs?: number;
  /** How long a report is reused (default 0: every call checks again). */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export class Readiness {
  readonly #checks: ReadonlyArray<readonly [string, Check]>;
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  readonly #now: () => number;
  #last: { at: number; report: ReadinessReport } | undefined;
  #inflight: Promise<ReadinessReport> | undefined;

  constructor(checks: Readonly<Record<string, Check>>, opts: ReadinessOptions = {}) {
    this.#checks = Object.entries(checks);
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#cacheMs = opts.cacheMs ?? 0;
    this.#now = opts.now ?? Date.now;
  }

  async report(): Promise<ReadinessReport> {
    const last = this.#last;
    if (last && this.#now() - last.at < this.#cacheMs) return last.report;
    this.#inflight ??= this.#run().finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  async #run(): Promise<ReadinessReport> {
    const results = await Promise.all(this.#checks.map(async ([name, check]) => [name, await this.#one(check)] as const));
    const notReady = results.filter(([, r]) => !r.ready).map(([name]) => name);
    const report: ReadinessReport = { status: notReady.length === 0 ? 'ready' : 'not ready', ready: notReady.length === 0, notReady, checks: Object.fromEntries(results) };
    this.#last = { at: this.#now(), report };
    return report;
  }

  async #one(check: Check): Promise<DependencyReport> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => resolve({ ready: false, reason: `no answer within ${this.#timeoutMs / 1000} s` }), this.#timeoutMs);
    });
    let result: CheckResult;
    try {
      result = (await Promise.race([check().then((r) => r ?? { ready: true }), timeout])) as CheckResult;
    } catch (err) {
      result = { ready: false, reason: describeError(err) };
    } finally {
      clearTimeout(timer);
    }
    return { ...result, ms: Math.round(performance.now() - started) };
  }
}
