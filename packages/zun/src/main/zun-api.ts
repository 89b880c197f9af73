/**
 * Composition root of zun-api: reads zun.conf, opens the database (and
 * migrates it), builds the adapters (one Docker Engine per compute host,
 * Neutron REST, Keystone token validation), the domain services and the HTTP
 * API, pings the hosts (then every [docker] ping_interval), listens, and
 * drains on SIGTERM/SIGINT (background creates finish first).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { KeystoneAuth } from '@kuryr-ts/openstack/keystone/keystone-auth';
import { ConfigError } from '@kuryr-ts/openstack/errors';
import { DockerEngine } from '../adapters/docker-engine.js';
import { KeystoneTokens } from '../adapters/keystone-tokens.js';
import { Redactor, redactUrl } from '../lib/redact.js';
import { secretsOf, zunLogger } from './logging.js';
import { NeutronRest } from '../adapters/neutron-rest.js';
import { buildApi, type AuthMode } from '../api/server.js';
import { openStore } from '../db/kysely-store.js';
import { ComputeHosts } from '../domain/compute-hosts.js';
import { ContainerService } from '../domain/container-service.js';
import { HostNetworks } from '../domain/host-networks.js';
import { HostService } from '../domain/host-service.js';
import { NetsResolver } from '../domain/nets-resolver.js';
import { NetworkService } from '../domain/network-service.js';
import { NeutronLookup } from '../domain/neutron-lookup.js';
import { Placement } from '../domain/placement.js';
import { SandboxBuilder, type Checkpoint } from '../domain/sandbox-builder.js';
import type { Clock, ZunSettings } from '../domain/settings.js';
import { loadZunConfig, type ZunConfig } from './zun-config.js';

export interface ZunApiOptions {
  configFiles: string[];
  debug?: boolean;
}

function authMode(config: ZunConfig): AuthMode {
  if (config.authStrategy === 'noauth') return { kind: 'noauth', projectId: config.noauthProjectId, userId: 'noauth-user', roles: config.noauthRoles, adminProject: config.adminProject };
  const { auth } = neutronAuthFrom(config.keystoneAuthtoken);
  if (!(auth instanceof KeystoneAuth)) {
    throw new ConfigError('auth_strategy = keystone needs service credentials in [keystone_authtoken] (auth_url, username, password, project_name, ...)');
  }
  return {
    kind: 'keystone',
    validator: new KeystoneTokens({
      authUrl: auth.authUrl,
      serviceHeaders: () => auth.headers(),
      invalidateService: () => auth.invalidate(),
      fetch: auth.fetch,
      cacheMs: config.tokenCacheS * 1000,
      adminProject: config.adminProject,
    }),
  };
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
export async function buildZunApp(config: ZunConfig, log: Logger, seams: ZunAppSeams = {}): Promise<ZunApp> {
  const m = /^sqlite:\/\/(\/.+)$/.exec(config.database);
  if (m?.[1] && m[1] !== '/:memory:') mkdirSync(dirname(m[1]), { recursive: true });
  const redactor = new Redactor(secretsOf(config));
  const { auth: neutronAuth, description } = neutronAuthFrom(config.neutron);
  const hostNames = config.computeHosts.map((h) => `${h.name}=unix://${h.socket}`);
  log.info(
    { neutron: redactor.text(description), database: redactUrl(config.database), auth: config.authStrategy, hosts: hostNames, disabled: config.disabledHosts },
    'zun-api configuration',
  );
  const store = await openStore(config.database).catch((err: unknown) => {
    throw new Error(`opening the database ${redactUrl(config.database)} failed: ${redactor.text((err as Error).message ?? String(err))}`, { cause: err });
  });
  const neutron = new NeutronRest(neutronAuth);
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
    config.computeHosts.map((h) => ({
      name: h.name,
      endpoint: `unix://${h.socket}`,
      docker: new DockerEngine({ socketPath: h.socket, timeoutMs: config.docker.apiTimeoutS * 1000, pingTimeoutMs: config.docker.pingTimeoutS * 1000 }),
    })),
    clock,
    log,
  );
  const lookup = new NeutronLookup(neutron);
  const placement = new Placement(hosts, store, config.disabledHosts);
  const hostNetworks = new HostNetworks(store, hosts, neutron, settings, clock, log);
  const networks = new NetworkService(store, hostNetworks, hosts, lookup, clock, log);
  const builder = new SandboxBuilder(store, hosts, neutron, networks, settings, clock, log, seams.checkpoint ? { checkpoint: seams.checkpoint } : {});
  const containers = new ContainerService(store, hosts, placement, lookup, new NetsResolver(store, lookup), builder, settings, clock, log);
  const app = buildApi({ networks, containers, hosts: new HostService(hosts, placement), auth: authMode(config), logger: log, maxBodyBytes: config.api.maxBodyBytes, redactor });
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
  const log = zunLogger({ level: opts.debug || config.debug ? 'debug' : 'info', redactor: new Redactor(secretsOf(config)) });
  const zun = await buildZunApp(config, log);
  await zun.app.listen({ host: config.api.hostIp, port: config.api.port });
  log.info({ url: `http://${config.api.hostIp}:${config.api.port}/v1` }, 'zun-api listening');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'zun-api stopping');
    await zun.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
