/**
 * The daemon's metrics and readiness (docs/observability.md): the
 * Prometheus registry (prom-client, through @kuryr-ts/openstack/observability)
 * with the libnetwork calls, the Neutron calls, the port pools, whether
 * Neutron was probed, and the domain's counters (the Metrics port); the
 * readiness of Neutron; and the listener of `[DEFAULT] metrics_uri`. Built
 * before the driver (the Neutron client and the plugin server report to it),
 * told of the driver once it is composed (`watch`).
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { describeError } from '@kuryr-ts/openstack/errors';
import type { NeutronCallObserver } from '@kuryr-ts/openstack/neutron/client';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';
import { Readiness, type CheckResult } from '@kuryr-ts/openstack/observability/health';
import type { ObservabilityEndpoints } from '@kuryr-ts/openstack/observability/http';
import { listenObservability, metricsAddress, type ListenAddress } from '@kuryr-ts/openstack/observability/listener';
import { Prometheus } from '@kuryr-ts/openstack/observability/prometheus';
import type { KuryrConfig } from '../config/kuryr-config.js';
import type { CounterLabels, CounterName, Metrics } from '../ports/metrics.js';
import type { PluginCall } from '../protocol/plugin-server.js';

/** The Prometheus form of each domain counter: `kuryr_<name>_total`, its help and its labels. */
const COUNTERS: { readonly [N in CounterName]: { readonly help: string; readonly labels: ReadonlyArray<keyof CounterLabels[N] & string> } } = {
  reconcile_runs: { help: 'Reconciliation runs, by mode (apply, dry-run) and result (complete, incomplete)', labels: ['mode', 'result'] },
  reconcile_findings: { help: 'Objects reconciliation judged, by kind and outcome (removed, reset, left, failed, would-remove, would-reset)', labels: ['kind', 'outcome'] },
};

/** What the gauges and the readiness read, once the driver is composed. */
export interface DriverView {
  /** compose's readiness flag: resolves once Neutron's features are known (the start-up probe answered). */
  readonly ready: Promise<void>;
  readonly neutron: Pick<NeutronApi, 'hasExtension'>;
  readonly portPool?: { sizes(): Record<string, number> } | undefined;
  /** What the background probe of Neutron has seen while it retries (NeutronProbe.status). */
  readonly probe?: (() => { since?: string; attempts?: number; lastError?: string; nextAttempt?: string }) | undefined;
}

export interface DaemonObservabilityOptions {
  /** prom-client's process metrics (process_*, nodejs_*). */
  readonly processMetrics?: boolean;
  /** How long a readiness report is reused (default 2 s). */
  readonly readinessCacheMs?: number;
  /** How long Neutron may take to answer the readiness check (default 5 s). */
  readonly readinessTimeoutMs?: number;
}

type ProbeState = { state: 'probing' } | { state: 'ready' } | { state: 'failed'; reason: string };

export class DaemonObservability {
  readonly prometheus: Prometheus;
  /** For the Neutron client: every request it sends. */
  readonly neutronCalls: NeutronCallObserver;
  /** The domain's counters. */
  readonly metrics: Metrics;
  /** For composeDriver: the plugin server's call metrics and endpoints. */
  readonly plugin: { onCall: (call: PluginCall) => void; endpoints: ObservabilityEndpoints };
  readonly readiness: Readiness;
  #driver: DriverView | undefined;
  #probe: ProbeState = { state: 'probing' };

  constructor(opts: DaemonObservabilityOptions = {}) {
    const prom = new Prometheus({ prefix: 'kuryr', processMetrics: opts.processMetrics });
    this.prometheus = prom;
    this.neutronCalls = prom.neutronCalls();

    const calls = prom.counter('plugin_requests_total', 'libnetwork calls from Docker, by method and the HTTP status answered', ['method', 'status']);
    const latency = prom.histogram('plugin_request_duration_seconds', 'Time to answer a libnetwork call, by method', ['method']);
    prom.gauge('neutron_ready', "1 once the start-up probe of Neutron's extensions succeeded, else 0", [], (g) => g.set(this.#probe.state === 'ready' ? 1 : 0));
    prom.gauge('port_pool_free_ports', 'Free ports bound to this host and kept ready, per subnet ([vif_pool])', ['subnet'], (g) => {
      for (const [subnet, n] of Object.entries(this.#driver?.portPool?.sizes() ?? {})) g.set({ subnet }, n);
    });
    const counters = Object.fromEntries(
      Object.entries(COUNTERS).map(([name, c]) => [name, prom.counter(`${name}_total`, c.help, c.labels as readonly string[])]),
    ) as Record<CounterName, ReturnType<Prometheus['counter']>>;
    this.metrics = { count: (name, labels, by = 1) => counters[name].inc(labels as unknown as Record<string, string>, by) };

    this.readiness = new Readiness({ neutron: () => this.#neutronReady() }, { cacheMs: opts.readinessCacheMs ?? 2000, timeoutMs: opts.readinessTimeoutMs ?? 5000 });
    this.plugin = {
      onCall: ({ method, status, seconds }) => {
        calls.inc({ method, status: String(status) });
        latency.observe({ method }, seconds);
      },
      endpoints: { metrics: () => prom.exposition(), readiness: () => this.readiness.report() },
    };
  }

  /** The composed driver: its probe decides readiness, its pools the pool gauge. */
  watch(driver: DriverView): void {
    this.#driver = driver;
    driver.ready.then(
      () => (this.#probe = { state: 'ready' }),
      (err: unknown) => (this.#probe = { state: 'failed', reason: `the start-up probe of Neutron gave up: ${describeError(err)}` }),
    );
  }

  /** Ready once the start-up probe succeeded, while Neutron answers (the check itself is one GET /v2.0/extensions/subnet_allocation). */
  async #neutronReady(): Promise<CheckResult> {
    const driver = this.#driver;
    if (!driver || this.#probe.state === 'probing') {
      const seen = driver?.probe?.();
      return {
        ready: false,
        reason: `Neutron's extensions are not probed yet (the probe retries until Neutron answers)${seen?.lastError ? `: ${seen.lastError}` : ''}`,
        ...(seen ? { details: seen } : {}),
      };
    }
    if (this.#probe.state === 'failed') return { ready: false, reason: this.#probe.reason };
    await driver.neutron.hasExtension('subnet_allocation');
    return { ready: true };
  }

  /** Serves the endpoints at `[DEFAULT] metrics_uri` (checked by metricsListenAddress). */
  async listen(at: ListenAddress | undefined, log: FastifyBaseLogger): Promise<FastifyInstance | undefined> {
    if (!at) return undefined;
    const app = await listenObservability(at, this.plugin.endpoints, log);
    log.info({ host: at.host, port: at.port }, 'metrics, healthz and readyz also served on metrics_uri');
    return app;
  }
}

/** Where `[DEFAULT] metrics_uri` listens (undefined: not set); a non-loopback address is refused without `insecure_metrics_uri`. */
export async function metricsListenAddress(config: Pick<KuryrConfig, 'metricsUri' | 'insecureMetricsUri'>, log: FastifyBaseLogger): Promise<ListenAddress | undefined> {
  if (!config.metricsUri) return undefined;
  const at = await metricsAddress(config.metricsUri, '[DEFAULT] metrics_uri', config.insecureMetricsUri, '[DEFAULT] insecure_metrics_uri');
  if (!at.loopback) log.warn({ uri: config.metricsUri }, '[DEFAULT] metrics_uri is not a loopback address (insecure_metrics_uri): anyone who reaches it reads the metrics');
  return at;
}
