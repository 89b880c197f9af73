/**
 * Composition root of zun-api: reads zun.conf, opens the database (and
 * migrates it), builds the adapters (one Docker Engine per compute host,
 * Neutron REST, Keystone token validation), the domain services and the HTTP
 * API, pings the hosts (then every [docker] ping_interval), listens (and on
 * [api] metrics_uri), reopens its log file on SIGHUP, and drains on
 * SIGTERM/SIGINT (background creates finish first).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { KeystoneAuth } from '@kuryr-ts/openstack/keystone/keystone-auth';
import { ConfigError } from '@kuryr-ts/openstack/errors';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { logFilePath, serviceLog } from '@kuryr-ts/openstack/observability/log';
import { DockerEngine } from '../adapters/docker-engine.js';
import { observedDocker } from '../adapters/docker-metrics.js';
import { KeystoneTokens } from '../adapters/keystone-tokens.js';
import { Redactor, redactUrl } from '../lib/redact.js';
import { secretsOf } from './logging.js';
import { NeutronRest } from '../adapters/neutron-rest.js';
import { buildApi, type AuthMode } from '../api/server.js';
import { openStore } from '../db/kysely-store.js';
import { ComputeHosts } from '../domain/compute-hosts.js';
import { ContainerService } from '../domain/container-service.js';
import { HostNetworks } from '../domain/host-networks.js';
import { HostService } from '../domain/host-service.js';
import { NetsResolver } from '../domain/nets-resolver.js';
import { NetworkService } from '../domain/network-service.js';
import { TopologyService } from '../domain/topology-service.js';
import { NeutronLookup } from '../domain/neutron-lookup.js';
import { Placement } from '../domain/placement.js';
import { SandboxBuilder, type Checkpoint } from '../domain/sandbox-builder.js';
import type { Clock, ZunSettings } from '../domain/settings.js';
import { metricsListenAddress, ZunObservability } from './observability.js';
import { loadZunConfig, type ZunConfig } from './zun-config.js';

export interface ZunApiOptions {
  configFiles: string[];
  debug?: boolean;
}

/** The API's authentication, and the service's Keystone (for readiness) when it has one. */
function authMode(config: ZunConfig, requestId: () => string | undefined): { mode: AuthMode; keystone?: KeystoneAuth } {
  if (config.authStrategy === 'noauth') {
    return { mode: { kind: 'noauth', projectId: config.noauthProjectId, userId: 'noauth-user', roles: config.noauthRoles, adminProject: config.adminProject } };
  }
  const { auth } = neutronAuthFrom(config.keystoneAuthtoken, { requestId });
  if (!(auth instanceof KeystoneAuth)) {
    throw new ConfigError('auth_strategy = keystone needs service credentials in [keystone_authtoken] (auth_url, username, password, project_name, ...)');
  }
  return {
    mode: {
      kind: 'keystone',
      validator: new KeystoneTokens({
        authUrl: auth.authUrl,
        serviceHeaders: () => auth.headers(),
        invalidateService: () => auth.invalidate(),
        fetch: auth.fetch,
        requestId,
        cacheMs: config.tokenCacheS * 1000,
        adminProject: config.adminProject,
      }),
    },
    keystone: auth,
  };
}

/** What runZunApi adds to the service: request scopes shared with the logger, and the metrics and readiness. */
export interface ZunAppExtras extends ZunAppSeams {
  stats?: OpStats;
  observability?: ZunObservability;
}

export interface ZunApp {
  app: FastifyInstance;
  containers: ContainerService;
  hosts: ComputeHosts;
  /** Stops accepting requests, lets background creates finish, closes the database. */
  close(): Promise<void>;
}

/** Test seams of an in-process zun-api (the integration tests'): none in service. */
export interface ZunAppSeams {
  /** Runs between the steps of a create, attach and detach (SandboxBuilder's crash-injection seam). */
  checkpoint?: Checkpoint;
}

/** Everything zun-api runs, built from a config (also used in-process by the integration tests). */
export async function buildZunApp(config: ZunConfig, log: Logger, extras: ZunAppExtras = {}): Promise<ZunApp> {
  const stats = extras.stats ?? new OpStats();
  const obs = extras.observability;
  const requestId = (): string | undefined => stats.requestId();
  const m = /^sqlite:\/\/(\/.+)$/.exec(config.database);
  if (m?.[1] && m[1] !== '/:memory:') mkdirSync(dirname(m[1]), { recursive: true });
  const redactor = new Redactor(secretsOf(config));
  const { auth: neutronAuth, description } = neutronAuthFrom(config.neutron, { requestId });
  const hostNames = config.computeHosts.map((h) => `${h.name}=unix://${h.socket}`);
  log.info(
    { neutron: redactor.text(description), database: redactUrl(config.database), auth: config.authStrategy, hosts: hostNames, disabled: config.disabledHosts },
    'zun-api configuration',
  );
  const store = await openStore(config.database).catch((err: unknown) => {
    throw new Error(`opening the database ${redactUrl(config.database)} failed: ${redactor.text((err as Error).message ?? String(err))}`, { cause: err });
  });
  const neutron = new NeutronRest(neutronAuth, undefined, undefined, { stats, ...(obs ? { observer: obs.neutronCalls } : {}) });
  const settings: ZunSettings = Object.freeze({
    driverName: config.network.driverName,
    sandboxImage: config.network.sandboxImage,
    stopTimeoutS: config.docker.stopTimeoutS,
    maxLogBytes: config.api.maxLogBytes,
    maxExecOutputBytes: config.api.maxExecOutputBytes,
    execTimeoutS: config.docker.execTimeoutS,
  });
  const clock: Clock = { now: () => new Date().toISOString(), newId: () => randomUUID(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
  const hosts = new ComputeHosts(
    config.computeHosts.map((h) => {
      const docker = new DockerEngine({ socketPath: h.socket, timeoutMs: config.docker.apiTimeoutS * 1000, pingTimeoutMs: config.docker.pingTimeoutS * 1000 });
      return { name: h.name, endpoint: `unix://${h.socket}`, docker: obs ? observedDocker(docker, h.name, obs.dockerCalls) : docker };
    }),
    clock,
    log,
  );
  const lookup = new NeutronLookup(neutron);
  const placement = new Placement(hosts, store, config.disabledHosts);
  const hostNetworks = new HostNetworks(store, hosts, neutron, settings, clock, log);
  const networks = new NetworkService(store, hostNetworks, hosts, lookup, clock, log);
  const builder = new SandboxBuilder(store, hosts, neutron, networks, settings, clock, log, extras.checkpoint ? { checkpoint: extras.checkpoint } : {});
  const containers = new ContainerService(store, hosts, placement, lookup, new NetsResolver(store, lookup), builder, settings, clock, log);
  const auth = authMode(config, requestId);
  const app = buildApi({
    networks,
    containers,
    hosts: new HostService(hosts, placement),
    topology: new TopologyService(store, hosts, neutron, clock),
    auth: auth.mode,
    logger: log,
    stats,
    maxBodyBytes: config.api.maxBodyBytes,
    redactor,
    ...(obs ? { observability: { onRequestDone: obs.onRequestDone, endpoints: obs.endpoints } } : {}),
  });
  obs?.watch({
    database: async () => void (await sql`select 1`.execute(store.db)),
    keystone: auth.keystone && (() => auth.keystone!.reachable()),
    neutron: () => neutron.reachable(),
    hosts,
  });
  await hosts.check();
  const ticker = config.docker.pingIntervalS > 0 ? setInterval(() => void hosts.check(), config.docker.pingIntervalS * 1000) : undefined;
  ticker?.unref();
  const repaired = await containers.recover().catch((err: unknown) => {
    log.error({ err: (err as Error).message }, 'recovering interrupted containers failed');
    return 0;
  });
  if (repaired > 0) log.warn({ repaired }, 'finished what an interrupted zun-api left half-done');
  return {
    app,
    containers,
    hosts,
    close: async () => {
      clearInterval(ticker);
      await app.close();
      await containers.idle();
      await store.close();
    },
  };
}

export async function runZunApi(opts: ZunApiOptions): Promise<void> {
  const config = loadZunConfig(opts.configFiles);
  const stats = new OpStats();
  const redactor = new Redactor(secretsOf(config));
  const logs = serviceLog({
    name: 'zun-api',
    level: opts.debug || config.debug ? 'debug' : 'info',
    file: logFilePath(config.log.file, config.log.dir, 'zun-api'),
    json: config.log.json,
    requestId: () => stats.requestId(),
    filter: (line) => redactor.text(line),
  });
  const log = logs.logger;
  const metricsAt = await metricsListenAddress(config, log);
  const observability = new ZunObservability(log, { processMetrics: true });
  const zun = await buildZunApp(config, log, { stats, observability });
  await zun.app.listen({ host: config.api.hostIp, port: config.api.port });
  log.info({ url: `http://${config.api.hostIp}:${config.api.port}/v1` }, 'zun-api listening');
  const metricsServer = await observability.listen(metricsAt, log);
  // logrotate moved the log file (its postrotate sends SIGHUP): write to a new one
  process.on('SIGHUP', () => {
    logs.reopen();
    log.info({ signal: 'SIGHUP' }, 'log file reopened');
  });

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'zun-api stopping');
    await metricsServer?.close();
    await zun.close();
    logs.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
