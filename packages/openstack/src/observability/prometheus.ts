/**
 * Metrics in the Prometheus text format, with prom-client (the Prometheus
 * client of the Node ecosystem): one registry per service (no global
 * registry), the metrics both services share — HTTP requests, Neutron calls
 * — and the exposition GET /metrics serves. Each service adds its own
 * (src/main/observability.ts of the driver and of zun-api).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NeutronCallObserver } from '../neutron/client.js';

/** Seconds: from a cached answer to a slow Neutron bulk create or a container start. */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface PrometheusOptions {
  /** Prefix of the service's own metric names (`kuryr`, `zun`). */
  readonly prefix: string;
  /** The process metrics of prom-client (CPU, memory, file descriptors, event loop lag, GC): process_*, nodejs_*. */
  readonly processMetrics?: boolean | undefined;
}

export class Prometheus {
  readonly registry = new Registry();
  readonly prefix: string;

  constructor(opts: PrometheusOptions) {
    this.prefix = opts.prefix;
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name: `${this.prefix}_${name}`, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[] = LATENCY_BUCKETS): Histogram<L> {
    return new Histogram({ name: `${this.prefix}_${name}`, help, labelNames, buckets: [...buckets], registers: [this.registry] });
  }

  /** A gauge read when scraped: `collect` sets its values (after a reset: labels that went away disappear). */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return new Gauge({
      name: `${this.prefix}_${name}`,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        await collect(this);
      },
    });
  }

  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** `<prefix>_neutron_requests_total` and `_request_duration_seconds`, by resource, operation (and status). */
  neutronCalls(): NeutronCallObserver {
    const total = this.counter('neutron_requests_total', 'HTTP requests sent to Neutron, by resource, operation and status (Neutron\'s HTTP status, or "error" when it did not answer)', ['resource', 'operation', 'status']);
    const latency = this.histogram('neutron_request_duration_seconds', 'Time until Neutron answered, by resource and operation', ['resource', 'operation']);
    return ({ resource, operation, status, seconds }) => {
      total.inc({ resource, operation, status });
      latency.observe({ resource, operation }, seconds);
    };
  }
}
