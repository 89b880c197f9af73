/**
 * Per-operation accounting: each plugin request runs in an async context that
 * counts the Neutron calls made on its behalf. Totals per Docker method are
 * served on the plugin socket (GET /kuryr/stats) for tests and benchmarks.
 *
 * The same context carries the request id (`req-<uuid>`) of the incoming
 * request: the Neutron and Keystone clients send it on as
 * X-OpenStack-Request-ID, and the logger writes it on every line of that
 * request. Scopes opened inside a request inherit its id.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface OpScope {
  readonly op: string;
  /** The id of the incoming request this work serves, when there is one. */
  readonly requestId?: string | undefined;
  /** Work detached from its request: its Neutron calls count as background calls. */
  readonly background?: boolean;
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
    const scope: OpScope = { op, neutronCalls: 0, requestId: this.requestId() };
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

  /**
   * Runs `fn` in the scope of an incoming request: whatever it starts, at once
   * or later (promises, timers, callbacks), sees `requestId`. Counts nothing.
   */
  withRequest<T>(requestId: string, fn: (scope: OpScope) => T): T {
    const scope: OpScope = { op: 'request', neutronCalls: 0, requestId };
    return this.#als.run(scope, () => fn(scope));
  }

  /** The request id of the current scope (undefined outside any request). */
  requestId(): string | undefined {
    return this.#als.getStore()?.requestId;
  }

  /**
   * Runs work outside any request's scope: its Neutron calls count as
   * background calls. It keeps the request id of the request that started
   * it, so its log lines and Neutron calls can be traced back to it.
   */
  detached(work: () => Promise<void>): void {
    const requestId = this.requestId();
    const scope: OpScope = { op: 'background', neutronCalls: 0, requestId, background: true };
    this.#als.run(scope, () => void work());
  }

  /** Called by the Neutron adapter for every HTTP request it sends. */
  countNeutronCall(): void {
    const scope = this.#als.getStore();
    if (scope && !scope.background) scope.neutronCalls += 1;
    else this.#unscopedNeutronCalls += 1;
  }

  snapshot(): { operations: Record<string, OpTotals>; backgroundNeutronCalls: number } {
    return {
      operations: Object.fromEntries([...this.#totals].map(([k, v]) => [k, { ...v, totalMs: Math.round(v.totalMs) }])),
      backgroundNeutronCalls: this.#unscopedNeutronCalls,
    };
  }
}
