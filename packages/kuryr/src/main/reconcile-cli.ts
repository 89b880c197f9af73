/**
 * `kuryr reconcile [--dry-run] [--json]`: one reconciliation pass, its report
 * printed. The running daemon is asked first (POST /kuryr/reconcile on its
 * plugin socket): it knows which requests are in flight. Without a daemon
 * (nothing can be in flight then), the pass runs here, over the same
 * composition as the daemon's. Exit 0 when the pass was complete, 1 when a
 * part could not be checked or a removal failed.
 */
import { request } from 'node:http';
import { pino } from 'pino';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';
import { AppError, describeError } from '@kuryr-ts/openstack/errors';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { EngineApi } from '../adapters/docker/engine-api.js';
import { exec } from '../adapters/linux/exec.js';
import { loadConfig, type KuryrConfig, type ReadFile } from '../config/kuryr-config.js';
import type { ReconcileReport } from '../domain/reconcile-report.js';
import { bindingChoiceOf, hostAdapters } from './binders.js';
import { composeDriver } from './compose.js';
import { settingsFrom } from './kuryr-daemon.js';
import { formatReport } from './reconcile-format.js';
import { driverNameOf } from './reconcile-schedule.js';

export interface ReconcileCommand {
  /** The config files in reading order, and how to read them (the running daemon's: config-discovery.ts). */
  configFiles: string[];
  read?: ReadFile | undefined;
  dryRun: boolean;
  json: boolean;
  /** Where the report goes (stdout). */
  write: (text: string) => void;
}

/** How long a pass in the daemon may take before the command gives up waiting. */
const DAEMON_TIMEOUT_MS = 15 * 60_000;

/**
 * The daemon's report, or undefined when no daemon listens on the socket (or
 * it has no reconcile route, an older daemon): then the pass runs here.
 */
export function askDaemon(socketPath: string, dryRun: boolean, timeoutMs = DAEMON_TIMEOUT_MS): Promise<ReconcileReport | undefined> {
  const payload = JSON.stringify({ dryRun });
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path: '/kuryr/reconcile', method: 'POST', timeout: timeoutMs, headers: { 'Content-Length': Buffer.byteLength(payload) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => {
          if (res.statusCode === 404) return resolve(undefined);
          try {
            const parsed = JSON.parse(body) as ReconcileReport & { Err?: string };
            if (res.statusCode !== 200) return reject(new AppError('KURYR_ERR_FATAL', 'internal', `the daemon's reconcile failed: ${parsed.Err ?? body}`));
            resolve(parsed);
          } catch {
            reject(new AppError('KURYR_ERR_FATAL', 'internal', `the daemon answered ${res.statusCode}: ${body.slice(0, 300)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no report within ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(undefined);
      else reject(err);
    });
    req.end(payload);
  });
}

async function tagging(neutron: NeutronApi): Promise<boolean> {
  return (await neutron.hasExtension('standard-attr-tag')) || ((await neutron.hasExtension('tag')) && (await neutron.hasExtension('tag-ext')));
}

/** A pass in this process, over the daemon's composition (real Neutron, host and Docker adapters). */
export async function reconcileHere(config: KuryrConfig, dryRun: boolean): Promise<ReconcileReport> {
  const log = pino({ level: config.debug ? 'debug' : 'warn', base: { svc: 'kuryr-reconcile' } }, pino.destination(2));
  const stats = new OpStats();
  const neutron = new NeutronClient(neutronAuthFrom(config.neutron.auth, { timeoutMs: config.neutron.timeoutS * 1000 }).auth, {
    timeoutMs: config.neutron.timeoutS * 1000,
    attempts: 3,
    stats,
  });
  const tags = await tagging(neutron);
  const driver = composeDriver({
    neutron,
    host: hostAdapters(exec),
    binding: bindingChoiceOf(config),
    settings: settingsFrom(config),
    neutronFeatures: { tags, tagOnCreate: false },
    // The pool is not recovered here: this host's free pool ports are left to the daemon.
    portPool: config.vifPool.enabled ? config.vifPool : undefined,
    logger: log,
    stats,
    background: (work) => void work(),
    onUndoFailure: (step, err) => log.error({ step, err: describeError(err) }, 'undo failed'),
    reconcile: { docker: new EngineApi({ dockerHost: config.reconcile.dockerHost }), graceS: config.reconcile.gracePeriodS, driverName: driverNameOf(config.pluginSocket) },
  });
  return driver.reconciler!.run({ dryRun });
}

export async function runReconcileCommand(cmd: ReconcileCommand): Promise<number> {
  const config = cmd.read ? loadConfig(cmd.configFiles, process.env, cmd.read) : loadConfig(cmd.configFiles);
  let report = await askDaemon(config.pluginSocket, cmd.dryRun);
  const where = report ? `the daemon on ${config.pluginSocket}` : 'this process (no daemon answered on its socket)';
  report ??= await reconcileHere(config, cmd.dryRun);
  cmd.write(cmd.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report, where)}\n`);
  return report.complete ? 0 : 1;
}
