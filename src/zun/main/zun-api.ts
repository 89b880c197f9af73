/**
 * Composition root of zun-api: reads zun.conf, opens the database (and
 * migrates it), builds the adapters (Docker Engine, Neutron REST, Keystone
 * token validation), the domain services and the HTTP API, listens, and
 * drains on SIGTERM/SIGINT (background creates finish first).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { neutronAuthFrom } from '../../adapters/neutron/auth-sources.js';
import { KeystoneAuth } from '../../adapters/neutron/keystone-auth.js';
import { ConfigError } from '../../domain/errors.js';
import { DockerEngine } from '../adapters/docker-engine.js';
import { KeystoneTokens } from '../adapters/keystone-tokens.js';
import { NeutronRest } from '../adapters/neutron-rest.js';
import { buildApi, type AuthMode } from '../api/server.js';
import { openStore } from '../db/kysely-store.js';
import { ContainerService } from '../domain/container-service.js';
import { NetsResolver } from '../domain/nets-resolver.js';
import { NetworkService } from '../domain/network-service.js';
import { NeutronLookup } from '../domain/neutron-lookup.js';
import { SandboxBuilder } from '../domain/sandbox-builder.js';
import type { Clock, ZunSettings } from '../domain/settings.js';
import { loadZunConfig, type ZunConfig } from './zun-config.js';

export interface ZunApiOptions {
  configFiles: string[];
  debug?: boolean;
}

function authMode(config: ZunConfig): AuthMode {
  if (config.authStrategy === 'noauth') return { kind: 'noauth', projectId: config.noauthProjectId, userId: 'noauth-user' };
  const { auth } = neutronAuthFrom(config.keystoneAuthtoken);
  if (!(auth instanceof KeystoneAuth)) {
    throw new ConfigError('auth_strategy = keystone needs service credentials in [keystone_authtoken] (auth_url, username, password, project_name, ...)');
  }
  return {
    kind: 'keystone',
    validator: new KeystoneTokens({ authUrl: auth.authUrl, serviceHeaders: () => auth.headers(), invalidateService: () => auth.invalidate(), fetch: auth.fetch }),
  };
}

export interface ZunApp {
  app: FastifyInstance;
  containers: ContainerService;
  /** Stops accepting requests, lets background creates finish, closes the database. */
  close(): Promise<void>;
}

/** Everything zun-api runs, built from a config (also used in-process by the integration tests). */
export async function buildZunApp(config: ZunConfig, log: Logger): Promise<ZunApp> {
  const m = /^sqlite:\/\/(\/.+)$/.exec(config.database);
  if (m?.[1] && m[1] !== '/:memory:') mkdirSync(dirname(m[1]), { recursive: true });
  const store = await openStore(config.database);
  const { auth: neutronAuth, description } = neutronAuthFrom(config.neutron);
  log.info({ neutron: description, database: config.database.replace(/:[^:@/]+@/, ':***@'), auth: config.authStrategy, host: config.host }, 'zun-api configuration');
  const neutron = new NeutronRest(neutronAuth);
  const docker = new DockerEngine({ socketPath: config.docker.socket });
  const settings: ZunSettings = Object.freeze({
    host: config.host,
    driverName: config.network.driverName,
    sandboxImage: config.network.sandboxImage,
    stopTimeoutS: config.docker.stopTimeoutS,
  });
  const clock: Clock = { now: () => new Date().toISOString(), newId: () => randomUUID() };
  const lookup = new NeutronLookup(neutron);
  const networks = new NetworkService(store, docker, lookup, settings, clock, log);
  const builder = new SandboxBuilder(store, docker, neutron, networks, settings, clock, log);
  const containers = new ContainerService(store, docker, lookup, new NetsResolver(store, lookup), builder, settings, clock, log);
  const app = buildApi({ networks, containers, auth: authMode(config), logger: log });
  await containers.recover().catch((err: unknown) => log.error({ err: (err as Error).message }, 'recovering interrupted containers failed'));
  return {
    app,
    containers,
    close: async () => {
      await app.close();
      await containers.idle();
      await store.close();
    },
  };
}

export async function runZunApi(opts: ZunApiOptions): Promise<void> {
  const config = loadZunConfig(opts.configFiles);
  const log = pino({ level: opts.debug || config.debug ? 'debug' : 'info', base: { svc: 'zun-api' } });
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
