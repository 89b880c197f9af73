/**
 * What the bench drives in the lab, on top of test/lab-support: the docker CLI
 * (a failure is a value, timed), Neutron straight from the bench (the floor,
 * the leak checks, the quota) as the lab's kuryr user, kuryr daemons of its
 * own (Neutron through the counting proxy or not), libnetwork calls on their
 * sockets, and /proc readings of a daemon.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { OpStats, type OpTotals } from '@kuryr-ts/openstack/lib/op-stats';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { loadConfig } from '@kuryr-ts/kuryr/config/kuryr-config';
import { exec, type ExecResult } from '../test/lab-support/exec.js';
import { startKuryrDaemon } from '../test/lab-support/kuryr-daemon.js';
import { LAB_KURYR_CONF, LAB_NEUTRON_CONF, taggedWith } from '../test/lab-support/lab-host.js';
import { kuryrStats, pluginRequest, type PluginReply } from '../test/lab-support/plugin-socket.js';

/** Every request on a plugin socket fails after this long without an answer. */
const PLUGIN_TIMEOUT_MS = 120_000;

export const docker = (...args: string[]): Promise<ExecResult> => exec('docker', args);

/** docker, but a failure throws (setup steps). */
export async function dockerOk(...args: string[]): Promise<string> {
  const r = await docker(...args);
  if (!r.ok) throw new Error(`docker ${args.join(' ')}: ${r.out}`);
  return r.out;
}

/**
 * Neutron straight from the bench (no proxy, no daemon), with the credentials of the lab's
 * kuryr.conf: the daemon's user, so the bench sees the project whose quota kuryr's networks
 * count against. One attempt per call: a retried call would blur the floor's timings.
 */
export function labNeutron(): NeutronClient {
  const { auth } = neutronAuthFrom(loadConfig([LAB_KURYR_CONF]).neutron.auth);
  return new NeutronClient(auth, { timeoutMs: 120_000, attempts: 1, stats: new OpStats() });
}

/** The lab's neutron-server api_workers: how many Neutron calls can be served at the same time. */
export function neutronApiWorkers(): number {
  return Number(parseIni(readFileSync(LAB_NEUTRON_CONF, 'utf8'), LAB_NEUTRON_CONF).get('DEFAULT')?.get('api_workers')?.value ?? 2);
}

/** The Neutron network kuryr made or tagged for a Docker network id. */
export async function neutronNetworkOf(neutron: NeutronClient, dockerNetworkId: string): Promise<string | undefined> {
  return (await taggedWith(neutron, 'networks', dockerNetworkId))[0]?.id;
}

export interface BenchDaemon {
  pid: number;
  socket: string;
  driver: string;
  log: string;
  stop(): Promise<void>;
}

/**
 * Starts `kuryr daemon` with the lab's config plus an extra file: another plugin socket, Neutron
 * through the proxy (or straight to the lab's Neutron without a proxy port), and `extraConf`.
 * It is up once it answers Plugin.Activate.
 */
export async function startBenchDaemon(driver: string, proxyPort: number | undefined, extraConf = ''): Promise<BenchDaemon> {
  const socket = `/run/docker/plugins/${driver}.sock`;
  const log = `/var/log/kuryr-lab/${driver}.log`;
  const neutronConf = proxyPort === undefined ? '' : `\n[neutron]\nendpoint_override = http://127.0.0.1:${proxyPort}\n`;
  const daemon = await startKuryrDaemon({
    name: driver,
    confFile: `/run/kuryr-lab/bench/${driver}.conf`,
    // no reconcile pass: its Neutron calls would land in the per-operation counts the proxy takes
    conf: `[DEFAULT]\nplugin_socket = ${socket}\nlog_file = ${log}\nreconcile_interval = 0\n${neutronConf}\n${extraConf}\n`,
    socket,
    readyTimeoutMs: 30_000,
    ready: () => pluginRaw(socket, 'Plugin.Activate', '{}').then((r) => r.status === 200, () => false),
    logFile: log,
  });
  return { pid: daemon.pid, socket, driver, log, stop: () => daemon.stop() };
}

export function pluginRaw(socket: string, path: string, payload: string, method = 'POST'): Promise<PluginReply> {
  return pluginRequest(socket, path, payload, { method, timeoutMs: PLUGIN_TIMEOUT_MS });
}

/** A libnetwork call as Docker makes it; a non-200 answer throws with the driver's error text. */
export async function plugin<T = Record<string, unknown>>(socket: string, method: string, body: unknown): Promise<T> {
  const r = await pluginRaw(socket, method, JSON.stringify(body));
  if (r.status !== 200) throw new Error(`${method}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return (r.body ? JSON.parse(r.body) : {}) as T;
}

export type DaemonOpTotals = OpTotals;

/** The daemon's per-method totals; calls made after a reply (endpoint tags, pool refills) count too, as a pseudo-operation with no requests. */
export async function daemonStats(socket: string): Promise<Record<string, DaemonOpTotals>> {
  const st = await kuryrStats(socket, PLUGIN_TIMEOUT_MS);
  return { ...st.operations, '(after the reply)': { requests: 0, errors: 0, neutronCalls: st.backgroundNeutronCalls ?? 0, totalMs: 0 } };
}

export interface ProcReading {
  rssMB: number;
  fds: number;
  /** newer runs, some readings: the daemon's own split (GET /kuryr/stats), MB */
  v8?: { heapUsedMB: number; heapTotalMB: number; codeMB: number; idleCollections: number };
}

/**
 * How long a daemon is left idle after its start before its "fresh" memory reading: two windows
 * of its idle collection (packages/kuryr/src/main/idle-collector.ts), so that the start-up's
 * garbage is gone from the fresh reading as the run's is from the reading 30 s after the run.
 */
export const FRESH_IDLE_MS = 12_000;

/** procReading, and where the daemon says its memory is (nothing more if it does not answer). */
export async function daemonReading(d: BenchDaemon): Promise<ProcReading> {
  const proc = procReading(d.pid);
  try {
    const st = await kuryrStats(d.socket, PLUGIN_TIMEOUT_MS);
    if (!st.memory) return proc;
    const { heapUsedMB, heapTotalMB, codeMB } = st.memory;
    return { ...proc, v8: { heapUsedMB, heapTotalMB, codeMB, idleCollections: st.idleCollections ?? 0 } };
  } catch {
    return proc;
  }
}

export function procReading(pid: number): ProcReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMB: Math.round((kb / 1024) * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}
