/**
 * Composition root of the libnetwork driver: reads kuryr.conf, builds the
 * adapters (Neutron HTTP, iproute2, ovs-vsctl), the domain services and the
 * plugin server, listens on the plugin socket (and optionally kuryr_uri), and
 * shuts down cleanly on SIGTERM/SIGINT. Nothing here is global: everything is
 * constructed and passed in.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import { exec } from '../adapters/linux/exec.js';
import type { NeutronAuth } from '@kuryr-ts/openstack/keystone/auth';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { buildRegistry, hostAdapters } from './binders.js';
import { loadConfig, type KuryrConfig } from '../config/kuryr-config.js';
import { EndpointService } from '../domain/endpoint-service.js';
import { ConfigError, describeError } from '@kuryr-ts/openstack/errors';
import { IpamService } from '../domain/ipam-service.js';
import { NetworkService } from '../domain/network-service.js';
import { NeutronIndex } from '../domain/neutron-index.js';
import { ExposureService } from '../domain/exposure-service.js';
import { SecurityGroupResolver } from '../domain/security-groups.js';
import type { DriverSettings } from '../domain/settings.js';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { ipamRoutes } from '../protocol/libnetwork/ipam-routes.js';
import { networkRoutes } from '../protocol/libnetwork/network-routes.js';
import type { RouteTable } from '../protocol/libnetwork/route-table.js';
import { buildPluginServer } from '../protocol/plugin-server.js';
import { probeNeutron } from './neutron-probe.js';
import { daemonLogger, type LogOptions } from './daemon-log.js';
import { PortPool } from '../domain/port-pool.js';
import { vethNames } from '../binding/veth-names.js';

export interface DaemonOptions extends LogOptions {
  /** The files to read, in order (config-files.ts resolves an oslo command line). */
  configFiles: string[];
}

/** kuryr.conf [neutron], else a clouds.yaml cloud, else OS_* variables (auth-sources.ts). */
function neutronAuth(config: KuryrConfig, log: PinoLogger): NeutronAuth {
  const { auth, description } = neutronAuthFrom(config.neutron.auth, { timeoutMs: config.neutron.timeoutS * 1000 });
  log.info({ auth: description }, 'Neutron authentication');
  return auth;
}

function settingsFrom(config: KuryrConfig, bindHost: boolean): DriverSettings {
  return Object.freeze({
    hostId: config.binding.hostId,
    bindHost,
    subnetpoolNamePrefix: config.subnetpoolNamePrefix,
    enableDhcp: config.neutron.enableDhcp,
    defaultSubnetpoolV4: config.neutron.defaultSubnetpoolV4,
    defaultSubnetpoolV6: config.neutron.defaultSubnetpoolV6,
    vethDstPrefix: config.binding.vethDstPrefix,
    vifPluggingIsFatal: config.neutron.vifPluggingIsFatal,
    // Kuryr's 0 meant "wait forever" (bug C12); kuryr-ts bounds it.
    vifPluggingTimeoutS: config.neutron.vifPluggingTimeout > 0 ? config.neutron.vifPluggingTimeout : 60,
    localDefaultAddressSpace: config.localDefaultAddressSpace,
    globalDefaultAddressSpace: config.globalDefaultAddressSpace,
    capabilityScope: config.capabilityScope,
    processExternalConnectivity: config.processExternalConnectivity,
  });
}

/** Routes that need Neutron wait for the start-up probe (the socket is bound before Neutron answers). */
function gated(routes: RouteTable, ready: Promise<void>): RouteTable {
  return Object.fromEntries(
    Object.entries(routes).map(([method, spec]) => [
      method,
      spec.noArgs ? spec : { ...spec, handle: async (body: unknown) => (await ready, spec.handle(body)) },
    ]),
  );
}

/**
 * HTTPS for kuryr_uri (`[DEFAULT] enable_ssl`, as Kuryr), plus what Kuryr
 * lacked: with `ssl_ca_file`, Docker must present a client certificate signed
 * by that CA (the TLSConfig CertFile/KeyFile of the plugin's .json spec).
 */
function createTlsServer(config: KuryrConfig, handler: Parameters<typeof createHttpsServer>[1]): Server {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`[DEFAULT] ${what} = ${path}: ${(err as Error).message}`);
    }
  };
  return createHttpsServer(
    {
      cert: read('ssl_cert_file', config.sslCertFile),
      key: read('ssl_key_file', config.sslKeyFile),
      ...(config.sslCaFile ? { ca: read('ssl_ca_file', config.sslCaFile), requestCert: true, rejectUnauthorized: true } : {}),
    },
    handler,
  ) as unknown as Server;
}

function prepareSocket(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    if (statSync(path).isSocket()) rmSync(path);
    else throw new ConfigError(`plugin socket path ${path} exists and is not a socket`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const config = loadConfig(opts.configFiles);
  const log: PinoLogger = daemonLogger(config, opts);

  const stats = new OpStats();
  const neutron = new NeutronClient(neutronAuth(config, log), { timeoutMs: config.neutron.timeoutS * 1000, attempts: 3, stats });
  const undoLog = (step: string, err: unknown): void => log.error({ step, err: describeError(err) }, 'undo failed');
  const host = hostAdapters(exec);
  const binders = buildRegistry(config, neutron, host, undoLog);
  const settings = settingsFrom(config, binders.bindsHost);
  const index = new NeutronIndex(neutron);
  const background = (work: () => Promise<void>): void => stats.detached(work);
  // Port pools need ports bound to this host (veth drivers); nested drivers make no bound ports.
  const portPool =
    config.vifPool.enabled && binders.bindsHost
      ? new PortPool(neutron, { hostId: settings.hostId, ...config.vifPool }, log, background, (portId) => host.links.linkExists(vethNames(portId).host))
      : undefined;
  if (config.vifPool.enabled && !portPool) log.warn({ portDriver: binders.portDriver }, '[vif_pool] enabled: ignored, the port driver binds no ports to this host');
  const ipam = new IpamService(neutron, index, settings, log, portPool);
  const sgs = new SecurityGroupResolver(neutron);
  // Nested containers live on the VM's network unless told otherwise (as Kuryr's nested driver).
  const vmNetwork = binders.vmPort ? async () => (await binders.vmPort!.get()).network_id : undefined;
  const networks = new NetworkService(neutron, index, ipam.pools, ipam, sgs, settings, log, vmNetwork, portPool);
  const endpoints = new EndpointService(neutron, index, binders, host.links, host.ovs, sgs, settings, log, undefined, background);
  const exposure = new ExposureService(neutron, index, settings, log);

  let neutronReady = false;
  const ready = probeNeutron(neutron, log).then((features) => {
    index.tagging = features.tags;
    index.tagOnCreate = features.tagOnCreate;
    neutronReady = true;
    // Pool ports made before a restart are this host's pools again (in the background: Docker is not kept waiting).
    if (portPool) {
      stats.detached(async () => {
        try {
          log.info({ ports: await portPool.recover() }, 'port pools recovered from Neutron');
        } catch (err) {
          log.warn({ err: describeError(err) }, "port pools: could not list this host's pool ports");
        }
      });
    }
  });
  ready.catch((err: unknown) => log.error({ err: describeError(err) }, 'Neutron is not usable; driver calls will fail'));
  const routes = gated({ ...networkRoutes(networks, endpoints, exposure, settings), ...ipamRoutes(ipam) }, ready);
  const app = buildPluginServer({
    routes,
    stats,
    logger: log,
    extraStats: () => ({ neutronReady, caches: index.sizes(), portPools: portPool?.sizes() ?? {} }),
  });

  prepareSocket(config.pluginSocket);
  await app.listen({ path: config.pluginSocket });
  const driverName = config.pluginSocket.replace(/^.*\//, '').replace(/\.sock$/, '');
  log.info({ socket: config.pluginSocket, hostId: settings.hostId, portDriver: binders.portDriver }, `kuryr-ts listening (Docker finds it as driver "${driverName}")`);

  let tcp: Server | undefined;
  if (config.kuryrUri) {
    const url = new URL(config.kuryrUri);
    tcp = config.enableSsl ? createTlsServer(config, (req, res) => app.routing(req, res)) : createServer((req, res) => app.routing(req, res));
    await new Promise<void>((resolve, reject) => {
      tcp!.once('error', reject).listen(Number(url.port || 80), url.hostname.replace(/^\[|\]$/g, ''), resolve);
    });
    log.info({ uri: config.kuryrUri }, 'also listening on kuryr_uri');
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      tcp?.close();
      void app.close().then(() => {
        rmSync(config.pluginSocket, { force: true });
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
