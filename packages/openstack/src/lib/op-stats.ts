/**
 * Per-operation accounting: each plugin request runs in an async context that
 * counts the Neutron calls made on its behalf. Totals per Docker method are
 * served on the plugin socket (GET /kuryr/stats) for tests and benchmarks.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface OpScope {
  readonly op: string;
  neutronCalls: number;
}

export interface OpTotals {
  requests: number;
  errors: number;
  neutronCalls: number;
  totalMs: number;
}

export class OpStats {
  readonly #als = new AsyncLocalStorage<OpScope>();
  readonly #totals = new Map<string, OpTotals>();
  #unscopedNeutronCalls = 0;

  async run<T>(op: string, work: (scope: OpScope) => Promise<T>): Promise<T> {
    const scope: OpScope = { op, neutronCalls: 0 };
    const started = performance.now();
    let failed = false;
    try {
      return await this.#als.run(scope, () => work(scope));
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      const t = this.#totals.get(op) ?? { requests: 0, errors: 0, neutronCalls: 0, totalMs: 0 };
      t.requests += 1;
      if (failed) t.errors += 1;
      t.neutronCalls += scope.neutronCalls;
      t.totalMs += performance.now() - started;
      this.#totals.set(op, t);
    }
  }

  /** Runs work outside any request's scope: its Neutron calls count as background calls. */
  detached(work: () => Promise<void>): void {
    this.#als.exit(() => void work());
  }

  /** Called by the Neutron adapter for every HTTP request it sends. */
  countNeutronCall(): void {
    const scope = this.#als.getStore();
    if (scope) scope.neutronCalls += 1;
    else this.#unscopedNeutronCalls += 1;
  }

  snapshot(): { operations: Record<string, OpTotals>; backgroundNeutronCalls: number } {
    return {
      operations: Object.fromEntries([...this.#totals].map(([k, v]) => [k, { ...v, totalMs: Math.round(v.totalMs) }])),
      backgroundNeutronCalls: this.#unscopedNeutronCalls,
    };
  }
}
