/**
 * zun-api's metrics, readiness and access log (docs/observability.md): the
 * Prometheus registry (prom-client, through @kuryr-ts/openstack/observability)
 * with the API requests, the Neutron calls, the Docker calls of every compute
 * host and the hosts' health; the readiness of the database, Keystone,
 * Neutron and the Docker hosts; and the listener of `[api] metrics_uri`.
 *
 * On the API port, /metrics and /readyz need no token but answer loopback
 * clients only: a scraper does not speak Keystone (tokens expire within
 * hours), while the API port is often the public endpoint and these pages
 * name hosts and failures. A remote scraper uses `[api] metrics_uri`.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { NeutronCallObserver } from '@kuryr-ts/openstack/neutron/client';
import { Readiness, type Check } from '@kuryr-ts/openstack/observability/health';
import { OBSERVABILITY_PATHS, type ObservabilityEndpoints, type RequestDone } from '@kuryr-ts/openstack/observability/http';
import { isLoopback, listenObservability, metricsAddress, type ListenAddress } from '@kuryr-ts/openstack/observability/listener';
import { Prometheus } from '@kuryr-ts/openstack/observability/prometheus';
import type { DockerCallObserver } from '../adapters/docker-metrics.js';
import type { ComputeHosts } from '../domain/compute-hosts.js';
import type { ZunConfig } from './zun-config.js';

/** What readiness checks, once the service is built. */
export interface ZunDependencies {
  /** Resolves when the database answers a query. */
  readonly database: () => Promise<void>;
  /** Resolves when Keystone answers (absent with auth_strategy = noauth). */
  readonly keystone?: (() => Promise<void>) | undefined;
  /** Resolves when Neutron answers. */
  readonly neutron: () => Promise<void>;
  readonly hosts: Pick<ComputeHosts, 'check' | 'health'>;
}

export interface ZunObservabilityOptions {
  /** prom-client's process metrics (process_*, nodejs_*). */
  readonly processMetrics?: boolean;
  /** How long a readiness report is reused (default 2 s). */
  readonly readinessCacheMs?: number;
  /** How long a dependency may take to answer (default 5 s). */
  readonly readinessTimeoutMs?: number;
}

export class ZunObservability {
  readonly prometheus: Prometheus;
  readonly neutronCalls: NeutronCallObserver;
  readonly dockerCalls: DockerCallObserver;
  /** For buildApi: request metrics and the access log line of every request. */
  readonly onRequestDone: (done: RequestDone) => void;
  /** For buildApi: /metrics and /readyz, loopback clients only. */
  readonly endpoints: ObservabilityEndpoints;
  readonly readiness: Readiness;
  #deps: ZunDependencies | undefined;

  constructor(log: FastifyBaseLogger, opts: ZunObservabilityOptions = {}) {
    const prom = new Prometheus({ prefix: 'zun', processMetrics: opts.processMetrics });
    this.prometheus = prom;
    this.neutronCalls = prom.neutronCalls();

    const requests = prom.counter('api_requests_total', 'API requests, by HTTP method, route and status', ['method', 'route', 'status']);
    const latency = prom.histogram('api_request_duration_seconds', 'Time to answer an API request, by HTTP method and route', ['method', 'route']);
    this.onRequestDone = (d) => {
      const route = d.route ?? 'unmatched';
      const observability = d.route !== undefined && OBSERVABILITY_PATHS.includes(d.route);
      if (!observability) {
        requests.inc({ method: d.method, route, status: String(d.status) });
        latency.observe({ method: d.method, route }, d.seconds);
      }
      // oslo's access line; probes and scrapes only at debug level
      log[observability ? 'debug' : 'info']({}, `${d.ip} "${d.method} ${d.url}" status: ${d.status} time: ${d.seconds.toFixed(4)}`);
    };

    const dockerTotal = prom.counter('docker_requests_total', 'Docker Engine API calls, by compute host, operation and status (ok, Docker\'s HTTP status, or "unavailable")', ['host', 'operation', 'status']);
    const dockerLatency = prom.histogram('docker_request_duration_seconds', 'Time until a Docker Engine answered, by compute host and operation', ['host', 'operation']);
    this.dockerCalls = ({ host, operation, status, seconds }) => {
      dockerTotal.inc({ host, operation, status });
      dockerLatency.observe({ host, operation }, seconds);
    };
    prom.gauge('compute_host_up', 'Whether the compute host\'s Docker Engine answered its last ping (1) or not (0: down, or not pinged yet)', ['host'], (g) => {
      for (const h of this.#deps?.hosts.health() ?? []) g.set({ host: h.name }, h.state === 'up' ? 1 : 0);
    });
    prom.gauge('compute_host_checked_timestamp_seconds', 'When the compute host was last pinged (Unix time)', ['host'], (g) => {
      for (const h of this.#deps?.hosts.health() ?? []) if (h.checkedAt) g.set({ host: h.name }, Date.parse(h.checkedAt) / 1000);
    });

    const needs = (what: (d: ZunDependencies) => (() => Promise<void>) | undefined): Check => async () => {
      if (!this.#deps) return { ready: false, reason: 'starting' };
      const check = what(this.#deps);
      if (!check) return { ready: true, reason: 'not used (auth_strategy = noauth)' };
      await check();
      return { ready: true };
    };
    this.readiness = new Readiness(
      {
        database: needs((d) => d.database),
        keystone: needs((d) => d.keystone),
        neutron: needs((d) => d.neutron),
        docker: () => this.#dockerReady(),
      },
      { cacheMs: opts.readinessCacheMs ?? 2000, timeoutMs: opts.readinessTimeoutMs ?? 5000 },
    );
    this.endpoints = {
      metrics: () => prom.exposition(),
      readiness: () => this.readiness.report(),
      allowed: (req: FastifyRequest) => isLoopback(req.socket.remoteAddress ?? ''),
    };
  }

  /** The built service: what readiness checks and the host gauges read. */
  watch(deps: ZunDependencies): void {
    this.#deps = deps;
  }

  /** Ready when at least one compute host answers a ping now; every host's state is in the details. */
  async #dockerReady(): Promise<{ ready: boolean; reason?: string; details: Record<string, unknown> }> {
    if (!this.#deps) return { ready: false, reason: 'starting', details: {} };
    const hosts = await this.#deps.hosts.check();
    const details = Object.fromEntries(hosts.map((h) => [h.name, h.state === 'up' ? 'up' : `${h.state}${h.reason ? `: ${h.reason}` : ''}`]));
    const up = hosts.filter((h) => h.state === 'up').length;
    return up > 0 ? { ready: true, details } : { ready: false, reason: 'no compute host answers (see details)', details };
  }

  /** Serves /metrics, /healthz, /readyz at `[api] metrics_uri` (every client that reaches it). */
  async listen(at: ListenAddress | undefined, log: FastifyBaseLogger): Promise<FastifyInstance | undefined> {
    if (!at) return undefined;
    const app = await listenObservability(at, { metrics: this.endpoints.metrics, readiness: this.endpoints.readiness }, log);
    log.info({ host: at.host, port: at.port }, 'metrics, healthz and readyz also served on [api] metrics_uri');
    return app;
  }
}

/** Where `[api] metrics_uri` listens (undefined: not set); a non-loopback address is refused without `insecure_metrics_uri`. */
export async function metricsListenAddress(config: Pick<ZunConfig, 'api'>, log: FastifyBaseLogger): Promise<ListenAddress | undefined> {
  const uri = config.api.metricsUri;
  if (!uri) return undefined;
  const at = await metricsAddress(uri, 'zun.conf [api] metrics_uri', config.api.insecureMetricsUri, '[api] insecure_metrics_uri');
  if (!at.loopback) log.warn({ uri }, '[api] metrics_uri is not a loopback address (insecure_metrics_uri): anyone who reaches it reads the metrics');
  return at;
}
