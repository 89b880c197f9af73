/**
 * Composition root of the libnetwork driver: reads kuryr.conf, builds the
 * adapters (Neutron HTTP, iproute2, ovs-vsctl), the domain services and the
 * plugin server, listens on the plugin socket (and optionally kuryr_uri and
 * metrics_uri), reopens its log file on SIGHUP, and shuts down cleanly on
 * SIGTERM/SIGINT. Nothing here is global: everything is
 * constructed and passed in.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Logger as PinoLogger } from 'pino';
import { EngineApi } from '../adapters/docker/engine-api.js';
import { exec } from '../adapters/linux/exec.js';
import type { NeutronAuth } from '@kuryr-ts/openstack/keystone/auth';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { bindingChoiceOf, hostAdapters } from './binders.js';
import { composeDriver } from './compose.js';
import { loadConfig, type KuryrConfig } from '../config/kuryr-config.js';
import { ConfigError, describeError } from '@kuryr-ts/openstack/errors';
import type { PortPool } from '../domain/port-pool.js';
import type { DriverSettings } from '../domain/settings.js';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { assessKuryrUri } from './kuryr-uri.js';
import { NeutronProbe } from './neutron-probe.js';
import { daemonLogger, type LogOptions } from './daemon-log.js';
import { ReconcileSchedule, driverNameOf } from './reconcile-schedule.js';
import { listenOnSocket } from './plugin-socket.js';
import { addressToServe } from './plugin-spec.js';
import { DaemonObservability, metricsListenAddress } from './observability.js';
import { IdleCollector } from './idle-collector.js';
import { memorySplit } from './memory-split.js';

export interface DaemonOptions extends LogOptions {
  /** The files to read, in order (config-files.ts resolves an oslo command line). */
  configFiles: string[];
  /** Where Docker's spec files are looked for (default: Docker's own directories). */
  pluginSpecDirs?: readonly string[] | undefined;
}

/** kuryr.conf [neutron], else a clouds.yaml cloud, else OS_* variables (auth-sources.ts). */
function neutronAuth(config: KuryrConfig, log: PinoLogger, requestId: () => string | undefined): NeutronAuth {
  const { auth, description } = neutronAuthFrom(config.neutron.auth, { timeoutMs: config.neutron.timeoutS * 1000, requestId });
  log.info({ auth: description }, 'Neutron authentication');
  return auth;
}

export function settingsFrom(config: KuryrConfig): Omit<DriverSettings, 'bindHost'> {
  return Object.freeze({
    hostId: config.binding.hostId,
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
    ipRangeAsAllocationPool: config.ipRangeAsAllocationPool,
    deletePortsAfterReply: config.deletePortsAfterReply,
  });
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

export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const config = loadConfig(opts.configFiles);
  const stats = new OpStats();
  const logs = daemonLogger(config, opts, () => stats.requestId());
  const log: PinoLogger = logs.logger;
  // Memory a busy spell left on the heap goes back once the daemon is idle (idle-collector.ts).
  const idleGc = new IdleCollector({
    gc: (globalThis as { gc?: () => void }).gc,
    heapUsed: () => getHeapStatistics().used_heap_size,
    activeMs: () => performance.eventLoopUtilization().active,
    log,
  });
  const driverName = driverNameOf(config.pluginSocket);
  // kuryr_uri, else the address a spec file left by Kuryr-libnetwork gives Docker (served under the same rules).
  const listen = addressToServe(config.kuryrUri, config.enableSsl, driverName, { dirs: opts.pluginSpecDirs });
  if (listen.skipped) log.info({}, listen.skipped);
  const uri = await assessKuryrUri({ ...config, kuryrUri: listen.uri, source: listen.source });
  if (uri.level === 'refuse') throw uri.error;
  if (uri.level === 'warn' && !listen.why) log.warn({ uri: listen.uri }, uri.message);
  const metricsAt = await metricsListenAddress(config, log); // a refused metrics_uri fails before anything listens
  const obs = new DaemonObservability({ processMetrics: true });

  const neutron = new NeutronClient(neutronAuth(config, log, () => stats.requestId()), {
    timeoutMs: config.neutron.timeoutS * 1000,
    attempts: 3,
    stats,
    observer: obs.neutronCalls,
  });
  const undoLog = (step: string, err: unknown): void => log.error({ step, err: describeError(err) }, 'undo failed');
  const binding = bindingChoiceOf(config); // a bad driver choice fails before Neutron is probed
  let fatal: ((err: Error) => void) | undefined;
  let gaveUp: Error | undefined;
  // Retried until Neutron answers (forever by default); driver calls meanwhile wait up to 10 s, then get a coded 503.
  const probe = new NeutronProbe(neutron, log, {
    maxIntervalMs: config.neutron.probeMaxIntervalS * 1000,
    giveUpAfterMs: config.neutron.probeDeadlineS * 1000,
    onGiveUp: (err) => (fatal ? fatal(err) : (gaveUp = err)),
  });
  const driver = composeDriver({
    neutron,
    host: hostAdapters(exec),
    binding,
    settings: settingsFrom(config),
    neutronFeatures: probe,
    portPool: config.vifPool.enabled ? config.vifPool : undefined,
    logger: log,
    stats,
    background: (work) => stats.detached(work),
    onUndoFailure: undoLog,
    extraStats: () => ({ neutronReady: probe.isReady, ...(probe.isReady ? {} : { neutronProbe: probe.status() }), idleCollections: idleGc.collections, memory: memorySplit() }),
    reconcile: { docker: new EngineApi({ dockerHost: config.reconcile.dockerHost }), graceS: config.reconcile.gracePeriodS, driverName },
    observability: obs.plugin,
    metrics: obs.metrics,
  });
  // Leftovers of an earlier run (a crash, a kill -9) once Neutron answers, then every reconcile_interval.
  const schedule = new ReconcileSchedule(driver.reconciler!, config.reconcile.intervalS, log, (work) => stats.detached(work));
  void driver.ready.then(() => schedule.start());
  const { binders, settings, portPool, server: app } = driver;
  obs.watch({ ready: driver.ready, neutron, portPool, probe: () => probe.status() });
  // Pool ports made before a restart are this host's pools again (in the background: Docker is not kept waiting), retried until Neutron answers.
  const recoverPools = (pool: PortPool, attempt: number): void =>
    stats.detached(async () => {
      try {
        log.info({ ports: await pool.recover() }, 'port pools recovered from Neutron');
      } catch (err) {
        const retryInMs = Math.min(config.neutron.probeMaxIntervalS * 1000, 1000 * 2 ** attempt);
        log.warn({ err: describeError(err), retryInMs }, "port pools: could not list this host's pool ports; retrying");
        setTimeout(() => recoverPools(pool, attempt + 1), retryInMs).unref();
      }
    });
  void driver.ready.then(() => portPool && recoverPools(portPool, 0));

  // Plugin.Activate and the GetCapabilities answer from here on, whether Neutron does or not.
  await app.ready();
  await listenOnSocket(app.server, config.pluginSocket);
  log.info({ socket: config.pluginSocket, hostId: settings.hostId, portDriver: binders.portDriver }, `kuryr-ts listening (Docker finds it as driver "${driverName}")`);

  let tcp: Server | undefined;
  if (listen.uri) {
    const url = new URL(listen.uri);
    try {
      tcp = config.enableSsl ? createTlsServer(config, (req, res) => app.routing(req, res)) : createServer((req, res) => app.routing(req, res));
      await new Promise<void>((resolve, reject) => {
        tcp!.once('error', reject).listen(Number(url.port || 80), url.hostname.replace(/^\[|\]$/g, ''), resolve);
      });
    } catch (err) {
      await app.close();
      rmSync(config.pluginSocket, { force: true });
      throw err;
    }
    if (!listen.why) log.info({ uri: listen.uri }, 'also listening on kuryr_uri');
    else if (uri.level === 'warn') log.warn({ uri: listen.uri, risk: uri.message }, listen.why);
    else log.info({ uri: listen.uri }, listen.why);
  }
  const metricsServer = await obs.listen(metricsAt, log);
  // logrotate moved the log file (its postrotate sends SIGHUP): write to a new one
  const reopen = (): void => {
    logs.reopen();
    log.info({ signal: 'SIGHUP' }, 'log file reopened');
  };
  process.on('SIGHUP', reopen);
  probe.start();
  idleGc.start();

  await new Promise<void>((resolve, reject) => {
    const stop = (signal: string, err?: Error): void => {
      log.info({ signal }, 'shutting down');
      probe.stop();
      schedule.stop();
      idleGc.stop();
      process.off('SIGHUP', reopen);
      tcp?.close();
      void metricsServer?.close();
      void app.close().then(() => {
        rmSync(config.pluginSocket, { force: true });
        logs.flush();
        if (err) reject(err);
        else resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    fatal = (err) => stop('[neutron] probe_deadline', err);
    if (gaveUp) fatal(gaveUp);
  });
}
