/**
 * The separate listener of /metrics, /healthz and /readyz (`metrics_uri`):
 * plain HTTP, for a Prometheus scraper that has no Keystone token and no way
 * onto the plugin socket. It serves only those three paths. It must be a
 * loopback address unless the operator says otherwise: the pages name hosts,
 * networks' counts and why a dependency is down.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ConfigError } from '../errors.js';
import { observabilityRoutes, type ObservabilityEndpoints } from './http.js';

export function isLoopback(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(a) === 4) return a.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!.startsWith('127.');
  return a === '::1' || (isIP(a) === 6 && /^(0{1,4}:){7}0{0,3}1$/.test(a));
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  readonly loopback: boolean;
}

/**
 * Where `metrics_uri` (`http://HOST:PORT`) listens. A host that is not
 * loopback (an address, or a name with any non-loopback address) is refused
 * with a ConfigError naming `option` unless `allowRemote`.
 */
export async function metricsAddress(uri: string, option: string, allowRemote: boolean, remoteOption: string): Promise<ListenAddress> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ConfigError(`${option} = ${uri}: not a URL (http://127.0.0.1:PORT)`);
  }
  if (url.protocol !== 'http:') throw new ConfigError(`${option} = ${uri}: only http:// is served`);
  if (!url.port) throw new ConfigError(`${option} = ${uri}: name the port (http://127.0.0.1:PORT)`);
  if (url.pathname !== '/' || url.search || url.username) throw new ConfigError(`${option} = ${uri}: no path, query or user (the paths are /metrics, /healthz, /readyz)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let loopback: boolean;
  if (isIP(host)) loopback = isLoopback(host);
  else {
    try {
      const all = await lookup(host, { all: true });
      loopback = all.length > 0 && all.every((a) => isLoopback(a.address));
    } catch (err) {
      throw new ConfigError(`${option} = ${uri}: cannot resolve ${host}: ${(err as Error).message}`);
    }
  }
  if (!loopback && !allowRemote) {
    throw new ConfigError(
      `${option} = ${uri}: not a loopback address; the metrics and readiness pages have no authentication. ` +
        `Use 127.0.0.1 (or ::1), or set ${remoteOption} = True and restrict who reaches the port`,
    );
  }
  return { host, port: Number(url.port), loopback };
}

/** A fastify app serving only the observability endpoints, listening at `at`. */
export async function listenObservability(at: ListenAddress, endpoints: ObservabilityEndpoints, logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) });
  observabilityRoutes(app, endpoints);
  await app.listen({ host: at.host, port: at.port });
  return app;
}
