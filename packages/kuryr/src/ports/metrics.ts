/**
 * Counters the driver's domain increments, exported as Prometheus metrics
 * (`kuryr_<name>_total`, docs/observability.md). The Prometheus adapter is
 * built in src/main/observability.ts; `noMetrics` counts nothing (tests).
 * Each counter has a fixed set of labels, declared here: a new counter is a
 * new entry in CounterLabels and in the adapter's catalogue.
 */
export interface CounterLabels {
  /** One reconciliation run: `mode` apply or dry-run; `result` complete, or incomplete when some source could not be read. */
  reconcile_runs: { mode: 'apply' | 'dry-run'; result: 'complete' | 'incomplete' };
  /** One object a run judged: its kind (port, network, subnet, …) and what was done (removed, reset, left, failed, would-remove, …). */
  reconcile_findings: { kind: string; outcome: string };
}

export type CounterName = keyof CounterLabels;

export interface Metrics {
  /** Adds `by` (default 1) to the counter `name` with these label values. */
  count<N extends CounterName>(name: N, labels: CounterLabels[N], by?: number): void;
}

export const noMetrics: Metrics = { count: () => undefined };
