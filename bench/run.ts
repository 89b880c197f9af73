/**
 * `npm run bench`: kuryr-ts on the real lab (Docker 20.10, Neutron ML2/OVN
 * behind Keystone, OVS), side by side with Docker's bridge driver and with
 * Kuryr-libnetwork's published call counts.
 *
 * The bench starts its own kuryr daemon (plugin socket kbench.sock, so Docker
 * knows it as driver "kbench") whose Neutron endpoint is a counting proxy in
 * this process: every Neutron call is counted and timed outside the daemon.
 * Phases: 1 Neutron calls per Docker operation, 2 latency vs bridge and the
 * Neutron floor, 3 concurrency (50 at once), 4 scale and memory. It writes
 * bench/results/<date>.json, <date>.md, <date>-{latency,memory}.svg and
 * latest.md, prints a summary, and removes everything it made (containers,
 * networks, the daemon, the proxy). The daemon measured is the last build in
 * dist/ (`npm run build`); the report says so when src/ is newer.
 *
 * Knobs (env): BENCH_REPS (30), BENCH_CONCURRENCY (50), BENCH_NETWORKS (200),
 * BENCH_CYCLES (most attach/detach cycles of the scale phase; they stop
 * early to keep the whole run within BENCH_BUDGET_S, 840; fewer networks
 * are made only if they would not fit in BENCH_HARD_BUDGET_S, 1320), BENCH_PHASES
 * (calls,latency,concurrency,scale), BENCH_OUT (results folder).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { startNullDriver, type NullDriver } from './null-driver.js';
import { CountingProxy, busyMs, type ProxiedCall } from './proxy.js';
import {
  NeutronDirect,
  REPO,
  daemonStats,
  docker,
  dockerOk,
  hostId,
  neutronNetworkOf,
  plugin,
  pluginRaw,
  pool,
  procReading,
  randomHex,
  randomMac,
  readIni,
  sh,
  sleep,
  startDaemon,
  type BenchDaemon,
  type DaemonOpTotals,
  type ShResult,
} from './lab.js';
import { r1, r2, summarize, type Summary } from './stats.js';
import { writeReport, type Results, type TimelinePoint } from './report.js';

const num = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);
const P = {
  reps: num('BENCH_REPS', 30),
  countReps: num('BENCH_COUNT_REPS', 2),
  concurrency: num('BENCH_CONCURRENCY', 50),
  networks: num('BENCH_NETWORKS', 200),
  networkConcurrency: num('BENCH_NETWORK_CONCURRENCY', 4),
  cycles: num('BENCH_CYCLES', 500),
  cycleConcurrency: num('BENCH_CYCLE_CONCURRENCY', 4),
  minCycles: num('BENCH_MIN_CYCLES', 20),
  budgetS: num('BENCH_BUDGET_S', 840),
  hardBudgetS: num('BENCH_HARD_BUDGET_S', 1320),
  phases: (process.env.BENCH_PHASES ?? 'calls,latency,concurrency,scale').split(',').map((s) => s.trim()),
  out: process.env.BENCH_OUT ?? `${REPO}bench/results`,
  /** the lab's neutron-server api_workers: how many Neutron calls can be served at the same time */
  neutronApiWorkers: Number(readIni('/etc/kuryr-lab/neutron.conf').DEFAULT?.api_workers ?? 2),
};
const DRIVER = process.env.BENCH_DRIVER ?? 'kbench';
const POOL_MIN = 5;
const POOL_CONF = `[vif_pool]\nenabled = true\nports_pool_min = ${POOL_MIN}\nports_pool_batch = 10\n`;
/** The port-pool daemon and the null remote driver of the latency phase, while they run. */
let poolDaemon: BenchDaemon | undefined;
let nullDriver: NullDriver | undefined;
const RUN = `kb${process.pid.toString(36)}`;
const IMAGE = 'kuryr/busybox:latest';
/** Plugin-protocol network ids share their first 8 hex digits, so their Neutron names (kuryr-net-<NID[0:8]>) are one sweepable name. */
const NID_PREFIX = `be${(process.pid % 0xffffff).toString(16).padStart(6, '0')}`;

const proxy = new CountingProxy(new URL('http://127.0.0.1:9696'));
const neutron = new NeutronDirect();
let daemon: BenchDaemon | undefined;
const started = performance.now();
/** Docker-level operations served by the bench daemon so far (network create/rm, attach, detach, connect, disconnect). */
let opsDone = 0;
let currentPhase = 'startup';
const timeline: TimelinePoint[] = [];
function sample(): void {
  if (!daemon) return;
  try {
    timeline.push({ t: r1((performance.now() - started) / 1000), ops: opsDone, phase: currentPhase, ...procReading(daemon.pid) });
  } catch {
    /* the daemon is gone */
  }
}
const elapsedS = (): number => (performance.now() - started) / 1000;
const log = (msg: string): void => console.log(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

// ---------------------------------------------------------------- helpers

interface OpWindow {
  ok: boolean;
  error?: string;
  wallMs: number;
  calls: number;
  writes: number;
  daemonCalls: number;
  neutronBusyMs: number;
  plugin: Record<string, number>;
  /** time the daemon spent in each libnetwork method during the operation (its own clock, ms) */
  pluginMs: Record<string, number>;
  shapes: string[];
}

function diffStats(a: Record<string, DaemonOpTotals>, b: Record<string, DaemonOpTotals>): { calls: number; plugin: Record<string, number>; pluginMs: Record<string, number> } {
  let calls = 0;
  const methods: Record<string, number> = {};
  const methodMs: Record<string, number> = {};
  for (const [op, t] of Object.entries(b)) {
    const before = a[op] ?? { requests: 0, neutronCalls: 0, totalMs: 0 };
    calls += t.neutronCalls - before.neutronCalls;
    if (t.requests > before.requests) {
      methods[op] = t.requests - before.requests;
      methodMs[op] = t.totalMs - before.totalMs;
    }
  }
  return { calls, plugin: methods, pluginMs: methodMs };
}

/** Runs one operation alone and returns what the proxy saw (and what the daemon says it did) during it. */
async function counted(fn: () => Promise<ShResult | void>, settleFirst = true): Promise<OpWindow> {
  if (settleFirst) await proxy.quiesce(100);
  const i0 = proxy.calls.length;
  const s0 = await daemonStats(daemon!.socket);
  const t0 = performance.now();
  const r = await fn();
  const wallMs = performance.now() - t0;
  await proxy.quiesce(100);
  const calls: ProxiedCall[] = proxy.calls.slice(i0);
  const d = diffStats(s0, await daemonStats(daemon!.socket));
  opsDone += 1;
  return {
    ok: r ? r.ok : true,
    ...(r && !r.ok ? { error: r.out.slice(0, 300) } : {}),
    wallMs: r ? r.ms : wallMs,
    calls: calls.length,
    writes: calls.filter((c) => c.method !== 'GET').length,
    daemonCalls: d.calls,
    neutronBusyMs: busyMs(calls),
    plugin: d.plugin,
    pluginMs: d.pluginMs,
    shapes: calls.map((c) => `${c.shape} → ${c.status}`),
  };
}

const dockerNetworkIds = new Set<string>();
async function createDockerNet(name: string, extra: string[]): Promise<ShResult> {
  const r = await docker('network', 'create', '-d', DRIVER, '--ipam-driver', DRIVER, ...extra, name);
  if (r.ok) dockerNetworkIds.add(r.out);
  return r;
}

// ---------------------------------------------------------------- 1. Neutron calls

const REFERENCE: Record<string, { kuryr: string; target?: number }> = {
  'network create': { kuryr: '13', target: 4 },
  'network rm': { kuryr: '13 (+2 once per process)', target: 4 },
  'docker run -d (attach)': { kuryr: '13 (+1 ProgramExternalConnectivity)', target: 4 },
  'docker rm -f (detach)': { kuryr: '8', target: 3 },
  'network connect': { kuryr: '13', target: 4 },
  'network disconnect': { kuryr: '8', target: 3 },
  'dual-stack network create': { kuryr: '23', target: 4 },
  'dual-stack network rm': { kuryr: '≥ 13 (not in the reference)', target: 4 },
  'dual-stack docker run -d': { kuryr: '> 13: two IPAM ports, both deleted, one created (bug C2)', target: 4 },
  'dual-stack docker rm -f': { kuryr: '≥ 8 (not in the reference)', target: 3 },
};

async function phaseCalls(): Promise<NonNullable<Results['calls']>> {
  const rows: Record<string, OpWindow[]> = {};
  const add = (op: string, w: OpWindow): void => {
    (rows[op] ??= []).push(w);
    if (!w.ok) log(`  ${op} FAILED: ${w.error}`);
  };
  const variants: Array<{ label: string; args: (rep: number) => string[]; reps: number }> = [
    { label: '', args: (rep) => ['--subnet', `10.230.${rep}.0/24`, '--gateway', `10.230.${rep}.1`], reps: P.countReps },
    {
      label: 'dual-stack ',
      args: (rep) => ['--ipv6', '--subnet', `10.230.${10 + rep}.0/24`, '--gateway', `10.230.${10 + rep}.1`, '--subnet', `fd00:be:${rep}::/64`, '--gateway', `fd00:be:${rep}::1`],
      reps: 1,
    },
  ];
  for (const v of variants) {
    for (let rep = 1; rep <= v.reps; rep++) {
      const net = `${RUN}-c${v.label ? 'd' : ''}${rep}`;
      add(`${v.label}network create`, await counted(() => createDockerNet(net, v.args(rep))));
      add(v.label ? 'dual-stack docker run -d' : 'docker run -d (attach)', await counted(() => docker('run', '-d', '--name', `${net}-a`, '--net', net, IMAGE, 'sleep', '600')));
      if (!v.label) {
        await dockerOk('run', '-d', '--name', `${net}-b`, IMAGE, 'sleep', '600'); // on Docker's default bridge
        add('network connect', await counted(() => docker('network', 'connect', net, `${net}-b`)));
        add('network disconnect', await counted(() => docker('network', 'disconnect', net, `${net}-b`)));
        await docker('rm', '-f', `${net}-b`);
      }
      add(v.label ? 'dual-stack docker rm -f' : 'docker rm -f (detach)', await counted(() => docker('rm', '-f', `${net}-a`)));
      add(`${v.label}network rm`, await counted(() => docker('network', 'rm', net)));
    }
  }
  return Object.entries(rows).map(([op, ws]) => {
    const ref = REFERENCE[op] ?? { kuryr: '?' };
    const max = Math.max(...ws.map((w) => w.calls));
    return {
      op,
      calls: ws.map((w) => w.calls),
      daemonCalls: ws.map((w) => w.daemonCalls),
      writes: Math.max(...ws.map((w) => w.writes)),
      max,
      kuryrLibnetwork: ref.kuryr,
      ...(ref.target !== undefined ? { target: ref.target, met: max <= ref.target } : {}),
      failures: ws.filter((w) => !w.ok).length,
      plugin: ws[ws.length - 1]!.plugin,
      sequence: ws[ws.length - 1]!.shapes,
      neutronBusyMs: r1(ws[ws.length - 1]!.neutronBusyMs),
    };
  });
}

// ---------------------------------------------------------------- 2. latency

async function phaseLatency(): Promise<NonNullable<Results['latency']>> {
  const samples: Record<string, number[]> = {};
  const push = (k: string, v: number): void => void (samples[k] ??= []).push(v);
  const callCounts: Record<string, number[]> = {};
  const neutronMs: Record<string, number[]> = {};
  const methodMs: Record<string, Record<string, number[]>> = {};
  const failures: string[] = [];
  const kNet = `${RUN}-lk`;
  const bNet = `${RUN}-lb`;
  await dockerOk('network', 'create', '-d', DRIVER, '--ipam-driver', DRIVER, '--subnet', '10.230.20.0/24', '--gateway', '10.230.20.1', kNet).then((id) => dockerNetworkIds.add(id));
  await dockerOk('network', 'create', '-d', 'bridge', '--subnet', '10.230.21.0/24', bNet);
  const kNetId = await dockerOk('network', 'inspect', '-f', '{{.Id}}', kNet);
  const netId = await neutronNetworkOf(neutron, kNetId);
  const subnet = (await neutron.list<{ id: string }>('subnets', `network_id=${netId}`))[0];
  if (!netId || !subnet) throw new Error('latency: no Neutron network/subnet for the kuryr network');
  const host = hostId();
  const l0 = proxy.calls.length;

  const kuryrOp = async (key: string, fn: () => Promise<ShResult>): Promise<void> => {
    const w = await counted(fn, false);
    if (!w.ok) {
      failures.push(`${key}: ${w.error}`);
      return;
    }
    push(key, w.wallMs);
    (callCounts[key] ??= []).push(w.calls);
    (neutronMs[key] ??= []).push(w.neutronBusyMs);
    for (const [m, v] of Object.entries(w.pluginMs)) ((methodMs[key] ??= {})[m] ??= []).push(v);
  };
  const plainOp = async (key: string, fn: () => Promise<ShResult>): Promise<void> => {
    const r = await fn();
    if (!r.ok) failures.push(`${key}: ${r.out.slice(0, 200)}`);
    else push(key, r.ms);
  };

  // The same daemon with port pools on ([vif_pool]), straight to Neutron (its background refills
  // would blur the proxy's per-operation counts): its calls per run come from its own counter.
  poolDaemon = await startDaemon(`${DRIVER}pool`, undefined, POOL_CONF);
  const pNet = `${RUN}-lp`;
  await dockerOk('network', 'create', '-d', poolDaemon.driver, '--ipam-driver', poolDaemon.driver, '--subnet', '10.230.22.0/24', '--gateway', '10.230.22.1', pNet).then((id) => dockerNetworkIds.add(id));
  await dockerOk('run', '-d', '--name', `${RUN}-pwarm`, '--net', pNet, IMAGE, 'sleep', '600'); // the first container fills the pool
  const poolStats = async (): Promise<{ ops: Record<string, DaemonOpTotals>; free: number }> => {
    const st = JSON.parse((await pluginRaw(poolDaemon!.socket, '/kuryr/stats', '', 'GET')).body) as { operations: Record<string, DaemonOpTotals>; portPools: Record<string, number> };
    return { ops: st.operations, free: Object.values(st.portPools).reduce((n, x) => n + x, 0) };
  };
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && (await poolStats()).free < POOL_MIN; ) await sleep(200);
  const poolOp = async (key: string, fn: () => Promise<ShResult>): Promise<void> => {
    const before = (await poolStats()).ops;
    const r = await fn();
    if (!r.ok) return void failures.push(`${key}: ${r.out.slice(0, 200)}`);
    push(key, r.ms);
    const d = diffStats(before, (await poolStats()).ops);
    (callCounts[key] ??= []).push(d.calls);
    for (const [m, v] of Object.entries(d.pluginMs)) ((methodMs[key] ??= {})[m] ??= []).push(v);
  };

  // The floor of any remote driver: a plugin that only makes a veth pair (bench/null-driver.ts).
  nullDriver = await startNullDriver(`${DRIVER}null`);
  const zNet = `${RUN}-lz`;
  await dockerOk('network', 'create', '-d', nullDriver.driver, '--ipam-driver', nullDriver.driver, '--subnet', '10.230.26.0/24', zNet);

  for (let i = 0; i < P.reps; i++) {
    if (i % 5 === 0) log(`  latency repetition ${i + 1}/${P.reps}`);
    await plainOp('null remote driver run -d', () => docker('run', '-d', '--name', `${RUN}-z${i}`, '--net', zNet, IMAGE, 'sleep', '600'));
    await plainOp('null remote driver rm -f', () => docker('rm', '-f', `${RUN}-z${i}`));
    // docker run -d + rm -f with port pools
    await poolOp('kuryr pools run -d', () => docker('run', '-d', '--name', `${RUN}-p${i}`, '--net', pNet, IMAGE, 'sleep', '600'));
    await poolOp('kuryr pools rm -f', () => docker('rm', '-f', `${RUN}-p${i}`));
    // network create + rm
    const ln = `${RUN}-ln`;
    await kuryrOp('kuryr network create', () => createDockerNet(ln, ['--subnet', '10.230.23.0/24', '--gateway', '10.230.23.1']));
    await kuryrOp('kuryr network rm', () => docker('network', 'rm', ln));
    await plainOp('bridge network create', () => docker('network', 'create', '-d', 'bridge', '--subnet', '10.230.24.0/24', `${RUN}-lbn`));
    await plainOp('bridge network rm', () => docker('network', 'rm', `${RUN}-lbn`));
    // docker run -d + rm -f
    await kuryrOp('kuryr run -d', () => docker('run', '-d', '--name', `${RUN}-k${i}`, '--net', kNet, IMAGE, 'sleep', '600'));
    await kuryrOp('kuryr rm -f', () => docker('rm', '-f', `${RUN}-k${i}`));
    await plainOp('bridge run -d', () => docker('run', '-d', '--name', `${RUN}-b${i}`, '--net', bNet, IMAGE, 'sleep', '600'));
    await plainOp('bridge rm -f', () => docker('rm', '-f', `${RUN}-b${i}`));
    // the docker CLI's own round trip (no network work)
    await plainOp('docker CLI round trip', () => docker('network', 'inspect', '-f', '{{.Id}}', bNet));
    // Neutron floor: the calls no design can avoid, straight to Neutron
    const port = await neutron.call('POST', '/ports', {
      port: { name: `${RUN}-floor`, network_id: netId, admin_state_up: true, fixed_ips: [{ subnet_id: subnet.id }], mac_address: randomMac(), device_owner: 'compute:kuryr', 'binding:host_id': host },
    });
    const portId = (port.body.port as { id?: string } | undefined)?.id;
    if (port.status !== 201 || !portId) failures.push(`floor port create: HTTP ${port.status}`);
    else {
      const del = await neutron.call('DELETE', `/ports/${portId}`);
      push('floor: bound port create', port.ms);
      push('floor: port delete', del.ms);
    }
    const fnet = await neutron.call('POST', '/networks', { network: { name: `${RUN}-floor`, admin_state_up: true } });
    const fnetId = (fnet.body.network as { id?: string } | undefined)?.id;
    if (!fnetId) failures.push(`floor network create: HTTP ${fnet.status}`);
    else {
      const fsub = await neutron.call('POST', '/subnets', { subnet: { name: `${RUN}-floor`, network_id: fnetId, ip_version: 4, cidr: '10.230.25.0/24', gateway_ip: '10.230.25.1' } });
      const fdel = await neutron.call('DELETE', `/networks/${fnetId}`);
      if (fsub.status !== 201 || fdel.status !== 204) failures.push(`floor subnet/delete: HTTP ${fsub.status}/${fdel.status}`);
      else {
        push('floor: network + subnet create', fnet.ms + fsub.ms);
        push('floor: network delete', fdel.ms);
      }
    }
  }
  await docker('network', 'rm', kNet);
  await docker('network', 'rm', bNet);
  await docker('rm', '-f', `${RUN}-pwarm`);
  await docker('network', 'rm', pNet);
  await poolDaemon.stop();
  poolDaemon = undefined;
  await docker('network', 'rm', zNet);
  await nullDriver.stop();
  nullDriver = undefined;
  const kuryrCalls = proxy.calls.slice(l0);

  const sums = (a: string, b: string): number[] => (samples[a] ?? []).map((x, i) => x + (samples[b]?.[i] ?? NaN)).filter((x) => Number.isFinite(x));
  samples['kuryr network create + rm'] = sums('kuryr network create', 'kuryr network rm');
  samples['bridge network create + rm'] = sums('bridge network create', 'bridge network rm');
  samples['kuryr run -d + rm -f'] = sums('kuryr run -d', 'kuryr rm -f');
  samples['bridge run -d + rm -f'] = sums('bridge run -d', 'bridge rm -f');
  samples['kuryr pools run -d + rm -f'] = sums('kuryr pools run -d', 'kuryr pools rm -f');
  samples['floor: bound port create + delete'] = sums('floor: bound port create', 'floor: port delete');
  samples['floor: network + subnet create + delete'] = sums('floor: network + subnet create', 'floor: network delete');
  const s: Record<string, Summary> = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const med = (k: string): number => s[k]?.median ?? NaN;
  const ratio = (a: string, b: string): number => r2(med(a) / med(b));
  return {
    summaries: s,
    samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map(r1)])),
    neutronCallsPerOp: Object.fromEntries(Object.entries(callCounts).map(([k, v]) => [k, { min: Math.min(...v), max: Math.max(...v) }])),
    neutronBusyMs: Object.fromEntries(Object.entries(neutronMs).map(([k, v]) => [k, summarize(v)])),
    neutronByCall: byShape(kuryrCalls),
    pluginMs: Object.fromEntries(Object.entries(methodMs).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([m, xs]) => [m, summarize(xs).median]))])),
    ratios: {
      'network create + rm': {
        kuryrOverBridge: ratio('kuryr network create + rm', 'bridge network create + rm'),
        floorRatio: r2((med('bridge network create + rm') + med('floor: network + subnet create + delete')) / med('bridge network create + rm')),
      },
      'run -d + rm -f': {
        kuryrOverBridge: ratio('kuryr run -d + rm -f', 'bridge run -d + rm -f'),
        floorRatio: r2((med('bridge run -d + rm -f') + med('floor: bound port create + delete')) / med('bridge run -d + rm -f')),
      },
      'run -d': {
        kuryrOverBridge: ratio('kuryr run -d', 'bridge run -d'),
        floorRatio: r2((med('bridge run -d') + med('floor: bound port create')) / med('bridge run -d')),
      },
      // With pools no port is made on the critical path: the floor is a remote driver that does nothing but a veth.
      'run -d, port pools': { kuryrOverBridge: ratio('kuryr pools run -d', 'bridge run -d'), floorRatio: ratio('null remote driver run -d', 'bridge run -d') },
      'run -d + rm -f, port pools': {
        kuryrOverBridge: ratio('kuryr pools run -d + rm -f', 'bridge run -d + rm -f'),
        floorRatio: r2((med('bridge run -d + rm -f') + med('floor: port delete')) / med('bridge run -d + rm -f')),
      },
    },
    failures,
  };
}

// ---------------------------------------------------------------- 3. concurrency

/** Neutron calls grouped by shape: how many, and how long each took (ms). */
function byShape(calls: readonly ProxiedCall[]): Array<{ shape: string } & Summary> {
  const by = new Map<string, number[]>();
  for (const c of calls) {
    const list = by.get(c.shape);
    if (list) list.push(c.ms);
    else by.set(c.shape, [c.ms]);
  }
  return [...by].map(([shape, v]) => ({ shape, ...summarize(v) })).sort((a, b) => b.n * b.mean - a.n * a.mean);
}

interface Burst {
  wallMs: number;
  failures: string[];
  times: number[];
}

async function burst(names: string[], parallel: boolean, args: (name: string) => string[], countOps: boolean): Promise<Burst> {
  const t = performance.now();
  const one = async (nm: string): Promise<ShResult> => {
    const r = await sh('docker', args(nm), 300_000);
    if (r.ok && countOps) opsDone += 1;
    return r;
  };
  const results = parallel ? await Promise.all(names.map(one)) : await pool(names, 1, one);
  return {
    wallMs: r1(performance.now() - t),
    failures: results.filter((r) => !r.ok).map((r) => r.out.slice(0, 200)),
    times: results.filter((r) => r.ok).map((r) => r.ms),
  };
}

async function phaseConcurrency(): Promise<NonNullable<Results['concurrency']>> {
  const n = P.concurrency;
  const net = `${RUN}-cc`;
  const bnet = `${RUN}-ccb`;
  await dockerOk('network', 'create', '-d', DRIVER, '--ipam-driver', DRIVER, '--subnet', '10.230.32.0/23', '--gateway', '10.230.32.1', net).then((id) => dockerNetworkIds.add(id));
  // Docker 20.10's bridge driver can keep a stale endpoint after 50 removals at once, and then the
  // network cannot be removed until dockerd restarts: take the first free /23 of a few.
  for (const third of [36, 38, 40, 42, 44]) {
    const made = await docker('network', 'create', '-d', 'bridge', '--subnet', `10.230.${third}.0/23`, bnet);
    if (made.ok) break;
    if (!/overlaps/.test(made.out) || third === 44) throw new Error(`docker network create ${bnet}: ${made.out}`);
  }
  const netDockerId = await dockerOk('network', 'inspect', '-f', '{{.Id}}', net);
  const neutronNet = await neutronNetworkOf(neutron, netDockerId);
  await proxy.quiesce();
  await sleep(5_000); // idle keep-alive connections of earlier phases close
  const idle = procReading(daemon!.pid);
  const samples: Array<{ t: number; phase: string; rssMB: number; fds: number; inFlight: number }> = [];
  let phase = 'idle';
  const t0 = performance.now();
  const sampler = setInterval(() => {
    try {
      samples.push({ t: r1((performance.now() - t0) / 1000), phase, ...procReading(daemon!.pid), inFlight: proxy.inFlight });
    } catch {
      /* the daemon is gone: reported by the phase itself */
    }
  }, 500);
  const s0 = await daemonStats(daemon!.socket);
  const runArgs = (network: string) => (name: string): string[] => ['run', '-d', '--name', name, '--net', network, IMAGE, 'sleep', '600'];
  const rmArgs = (name: string): string[] => ['rm', '-f', name];
  try {
    const serialNames = Array.from({ length: n }, (_, i) => `${RUN}-s${i}`);
    const parNames = Array.from({ length: n }, (_, i) => `${RUN}-p${i}`);
    phase = 'serial starts';
    log(`  kuryr: ${n} serial starts`);
    const serial = await burst(serialNames, false, runArgs(net), true);
    phase = 'parallel removal (after serial)';
    log(`  kuryr: ${n} removals at once`);
    const rmAfterSerial = await burst(serialNames, true, rmArgs, true);
    await proxy.quiesce();
    phase = 'parallel starts';
    log(`  kuryr: ${n} starts at once`);
    const i0 = proxy.calls.length;
    const parallel = await burst(parNames, true, runArgs(net), true);
    const startCalls = proxy.calls.slice(i0);
    phase = 'checks';
    const inspect = await docker('inspect', '-f', `{{.Name}} {{(index .NetworkSettings.Networks "${net}").IPAddress}}`, ...parNames);
    const ips = inspect.out
      .split('\n')
      .map((l) => l.trim().split(' ')[1] ?? '')
      .filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
    const dupDocker = ips.length - new Set(ips).size;
    const ports = neutronNet ? await neutron.list<{ fixed_ips: Array<{ ip_address: string }>; device_owner: string }>('ports', `network_id=${neutronNet}&device_owner=compute:kuryr`) : [];
    const portIps = ports.flatMap((p) => p.fixed_ips.map((f) => f.ip_address));
    const dupNeutron = portIps.length - new Set(portIps).size;
    const peak = procReading(daemon!.pid);
    // one more container while n are up: attach latency with n ports on the network
    phase = 'attach with n ports up';
    const extra: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await docker(...runArgs(net)(`${RUN}-x${i}`));
      if (r.ok) extra.push(r.ms);
      await docker('rm', '-f', `${RUN}-x${i}`);
      opsDone += 2;
    }
    phase = 'parallel removal';
    log(`  kuryr: ${n} removals at once`);
    await proxy.quiesce();
    const i1 = proxy.calls.length;
    const rm = await burst(parNames, true, rmArgs, true);
    const rmCalls = proxy.calls.slice(i1);
    phase = 'settle';
    const afterRm = procReading(daemon!.pid);
    const leftPorts = neutronNet ? (await neutron.list('ports', `network_id=${neutronNet}&device_owner=compute:kuryr`)).length : -1;
    await proxy.quiesce();
    await sleep(6_000);
    const settled = procReading(daemon!.pid);
    const s1 = await daemonStats(daemon!.socket);
    const d = diffStats(s0, s1);
    const errors = Object.entries(s1).reduce((a, [k, t]) => a + t.errors - (s0[k]?.errors ?? 0), 0);
    // the same with Docker's bridge driver: how much parallelism Docker itself gets on this machine
    phase = 'bridge';
    log(`  bridge: ${n} serial starts, ${n} at once, removals at once`);
    const bSerialNames = serialNames.map((x) => `${x}b`);
    const bParNames = parNames.map((x) => `${x}b`);
    const bSerial = await burst(bSerialNames, false, runArgs(bnet), false);
    const bRmSerial = await burst(bSerialNames, true, rmArgs, false);
    const bParallel = await burst(bParNames, true, runArgs(bnet), false);
    const bRm = await burst(bParNames, true, rmArgs, false);
    return {
      containers: n,
      serialStartsMs: serial.wallMs,
      serialStartFailures: serial.failures,
      parallelStartsMs: parallel.wallMs,
      parallelStartFailures: parallel.failures,
      parallelOverSerial: r2(parallel.wallMs / serial.wallMs),
      parallelStartLatency: summarize(parallel.times),
      parallelRemovalMs: rm.wallMs,
      parallelRemovalFailures: rm.failures,
      parallelRemovalLatency: summarize(rm.times),
      removalAfterSerialMs: rmAfterSerial.wallMs,
      removalAfterSerialFailures: rmAfterSerial.failures,
      addressesSeen: ips.length,
      duplicateIpsDocker: dupDocker,
      neutronPortsWhileUp: ports.length,
      duplicateIpsNeutron: dupNeutron,
      neutronPortsLeftAfterRemoval: leftPorts,
      attachWithNPortsUpMs: summarize(extra),
      daemonErrors: errors,
      daemonNeutronCalls: d.calls,
      maxNeutronInFlight: Math.max(0, ...samples.map((x) => x.inFlight)),
      neutronDuringStarts: { calls: startCalls.length, busyMs: r1(busyMs(startCalls)), byShape: byShape(startCalls) },
      neutronDuringRemoval: { calls: rmCalls.length, busyMs: r1(busyMs(rmCalls)), byShape: byShape(rmCalls) },
      bridge: {
        serialStartsMs: bSerial.wallMs,
        parallelStartsMs: bParallel.wallMs,
        parallelOverSerial: r2(bParallel.wallMs / bSerial.wallMs),
        parallelRemovalMs: bRm.wallMs,
        failures: [...bSerial.failures, ...bRmSerial.failures, ...bParallel.failures, ...bRm.failures],
      },
      proc: { idle, peak: { rssMB: Math.max(peak.rssMB, ...samples.map((x) => x.rssMB)), fds: Math.max(peak.fds, ...samples.map((x) => x.fds)) }, afterRemoval: afterRm, settled },
      samples,
    };
  } finally {
    clearInterval(sampler);
    await docker('network', 'rm', net);
    await docker('network', 'rm', bnet);
  }
}

// ---------------------------------------------------------------- 4. scale and memory

interface PluginNet {
  nid: string;
  poolId: string;
  cidr: string;
  gw: string;
}
const liveNets = new Map<string, PluginNet>();
const liveEndpoints = new Map<string, { net: PluginNet; ip: string }>();
let addressSpace = 'LocalDefault';

async function createPluginNet(i: number): Promise<{ net: PluginNet; ms: number; calls: number }> {
  const cidr = `10.${231 + Math.floor(i / 250)}.${i % 250}.0/24`;
  const gw = cidr.replace(/0\/24$/, '1');
  const nid = `${NID_PREFIX}${randomHex(56)}`;
  const i0 = proxy.calls.length;
  const t = performance.now();
  const p = await plugin<{ PoolID: string }>(daemon!.socket, 'IpamDriver.RequestPool', { AddressSpace: addressSpace, Pool: cidr, SubPool: '', Options: {}, V6: false });
  const net = { nid, poolId: p.PoolID, cidr, gw };
  await plugin(daemon!.socket, 'IpamDriver.RequestAddress', { PoolID: p.PoolID, Address: gw, Options: { RequestAddressType: 'com.docker.network.gateway' } });
  liveNets.set(nid, net);
  await plugin(daemon!.socket, 'NetworkDriver.CreateNetwork', {
    NetworkID: nid,
    IPv4Data: [{ AddressSpace: addressSpace, Pool: cidr, Gateway: `${gw}/24` }],
    IPv6Data: [],
    Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
  });
  opsDone += 1;
  return { net, ms: performance.now() - t, calls: proxy.calls.length - i0 };
}

async function deletePluginNet(net: PluginNet): Promise<number> {
  const t = performance.now();
  await plugin(daemon!.socket, 'NetworkDriver.DeleteNetwork', { NetworkID: net.nid });
  await plugin(daemon!.socket, 'IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: net.gw });
  await plugin(daemon!.socket, 'IpamDriver.ReleasePool', { PoolID: net.poolId });
  liveNets.delete(net.nid);
  opsDone += 1;
  return performance.now() - t;
}

async function attach(net: PluginNet): Promise<string> {
  const eid = randomHex(64);
  const mac = randomMac();
  const a = await plugin<{ Address: string }>(daemon!.socket, 'IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
  const ip = a.Address.split('/')[0]!;
  liveEndpoints.set(eid, { net, ip });
  await plugin(daemon!.socket, 'NetworkDriver.CreateEndpoint', { NetworkID: net.nid, EndpointID: eid, Interface: { Address: a.Address, AddressIPv6: '', MacAddress: mac }, Options: {} });
  await plugin(daemon!.socket, 'NetworkDriver.Join', { NetworkID: net.nid, EndpointID: eid, SandboxKey: `/var/run/docker/netns/${eid.slice(0, 12)}`, Options: {} });
  opsDone += 1;
  return eid;
}

async function detach(eid: string): Promise<void> {
  const ep = liveEndpoints.get(eid);
  if (!ep) return;
  await plugin(daemon!.socket, 'NetworkDriver.Leave', { NetworkID: ep.net.nid, EndpointID: eid });
  await plugin(daemon!.socket, 'NetworkDriver.DeleteEndpoint', { NetworkID: ep.net.nid, EndpointID: eid });
  await plugin(daemon!.socket, 'IpamDriver.ReleaseAddress', { PoolID: ep.net.poolId, Address: ep.ip });
  liveEndpoints.delete(eid);
  opsDone += 1;
}

async function attachDetachSamples(net: PluginNet, count: number): Promise<{ attach: Summary; detach: Summary }> {
  const a: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < count; i++) {
    let t = performance.now();
    const eid = await attach(net);
    a.push(performance.now() - t);
    t = performance.now();
    await detach(eid);
    d.push(performance.now() - t);
  }
  return { attach: summarize(a), detach: summarize(d) };
}

async function phaseScale(latency: Results['latency']): Promise<NonNullable<Results['scale']>> {
  const spaces = await plugin<{ LocalDefaultAddressSpace: string }>(daemon!.socket, 'IpamDriver.GetDefaultAddressSpaces', {});
  addressSpace = spaces.LocalDefaultAddressSpace;
  const phaseStart = performance.now();
  // A shared, loaded machine can make Neutron so slow that 200 networks would not fit in the
  // time left: then fewer are made, and the report says so.
  const perNetS = (latency?.summaries['kuryr network create + rm']?.median ?? 2_500) / 1000;
  const fits = Math.floor((P.hardBudgetS - elapsedS() - 90) / perNetS);
  const n = Math.max(Math.min(P.networks, 20), Math.min(P.networks, fits));
  if (n < P.networks) log(`  only ${n} networks fit in the time left (BENCH_HARD_BUDGET_S=${P.hardBudgetS}); the report says so`);
  await raiseQuota(n + 20);
  const createMs: number[] = [];
  const createCalls: number[] = [];
  const nets: PluginNet[] = [];
  const one = async (i: number): Promise<void> => {
    const r = await createPluginNet(i);
    createMs[i] = r.ms;
    createCalls[i] = r.calls;
    nets[i] = r.net;
  };
  log(`  network 1 and its attach/detach baseline`);
  await one(0);
  const baseline = await attachDetachSamples(nets[0]!, 6);
  const firstSerial = Math.min(5, n);
  const lastSerial = Math.min(5, Math.max(0, n - firstSerial));
  for (let i = 1; i < firstSerial; i++) await one(i);
  log(`  networks ${firstSerial + 1}..${n - lastSerial} (${P.networkConcurrency} at a time)`);
  const bulkStart = performance.now();
  await pool(
    Array.from({ length: n - firstSerial - lastSerial }, (_, k) => k + firstSerial),
    P.networkConcurrency,
    async (i) => one(i),
  );
  const bulkPerNetMs = (performance.now() - bulkStart) / Math.max(1, n - firstSerial - lastSerial);
  for (let i = n - lastSerial; i < n; i++) await one(i);
  sample();
  log(`  attach/detach with ${n} networks`);
  const withNetworks = await attachDetachSamples(nets[0]!, 6);
  // attach/detach cycles, several at a time over the first networks, until the run's time budget
  // (minus what deleting the networks will take) is spent
  const deleteEstimateS = (n * bulkPerNetMs * 0.8) / 1000 + 20;
  const cycleStart = performance.now();
  const stopAtS = P.budgetS - deleteEstimateS;
  log(`  attach/detach cycles (${P.cycleConcurrency} at a time, at most ${P.cycles}, at least ${P.minCycles}, until ${Math.round(stopAtS)} s into the run)`);
  let cycles = 0;
  let cycleFailures = 0;
  const cycleErrors: string[] = [];
  let capped = false;
  const c0 = proxy.calls.length;
  await pool(
    Array.from({ length: P.cycles }, (_, k) => k),
    P.cycleConcurrency,
    async (k) => {
      if (cycles + cycleFailures >= P.minCycles && elapsedS() > stopAtS) {
        capped = true;
        return;
      }
      try {
        const eid = await attach(nets[k % Math.min(8, nets.length)]!);
        await detach(eid);
        cycles += 1;
      } catch (err) {
        cycleFailures += 1;
        if (cycleErrors.length < 5) cycleErrors.push((err as Error).message.slice(0, 200));
      }
      if (cycles % 25 === 0) sample();
    },
  );
  const cycleMs = performance.now() - cycleStart;
  const cycleCalls = proxy.calls.slice(c0);
  const afterOps = procReading(daemon!.pid);
  sample();
  for (const eid of [...liveEndpoints.keys()]) await detach(eid).catch(() => undefined); // leftovers of failed cycles
  log(`  deleting ${nets.length} networks`);
  const deleteMs: number[] = [];
  // in reverse order; the last 5 one at a time, the very last with one network left
  const order = [...nets].reverse();
  const bulk = Math.max(0, order.length - 5);
  await pool(order.slice(0, bulk), P.networkConcurrency, async (net, i) => {
    deleteMs[i] = await deletePluginNet(net);
  });
  for (let i = bulk; i < order.length; i++) deleteMs[i] = await deletePluginNet(order[i]!);
  await proxy.quiesce();
  const afterCleanup = procReading(daemon!.pid);
  sample();
  await sleep(6_000);
  const settled = procReading(daemon!.pid);
  sample();
  return {
    networks: n,
    networksAsked: P.networks,
    networkCreateFirstMs: r1(createMs[0] ?? NaN),
    networkCreateLastMs: r1(createMs[n - 1] ?? NaN),
    networkCreateFirst5: summarize(createMs.slice(0, firstSerial)),
    networkCreateLast5: summarize(createMs.slice(n - lastSerial)),
    networkCreateCallsFirst: createCalls[0] ?? -1,
    networkCreateCallsLast: createCalls[n - 1] ?? -1,
    networkDeleteFirstMs: r1(deleteMs[0] ?? NaN),
    networkDeleteLastMs: r1(deleteMs[deleteMs.length - 1] ?? NaN),
    attachDetachWith1Network: baseline,
    attachDetachWithAllNetworks: withNetworks,
    cyclesAsked: P.cycles,
    cyclesDone: cycles,
    cycleFailures,
    cycleErrors,
    cappedByBudget: capped,
    cycleWallS: r1(cycleMs / 1000),
    cyclesPerS: r2(cycles / (cycleMs / 1000)),
    neutronDuringCycles: { calls: cycleCalls.length, busyMs: r1(busyMs(cycleCalls)), byShape: byShape(cycleCalls) },
    operations: opsDone,
    proc: { afterOps, afterCleanup, settled },
    phaseS: r1((performance.now() - phaseStart) / 1000),
  };
}

/**
 * Neutron's default quota (100 networks and subnets per project) is below what the scale phase
 * needs next to what already exists in the lab: raise the network and subnet quotas of the
 * daemon's project for the phase, and put the old limits back at cleanup.
 */
const quotaRestore: Record<string, number> = {};
let quotaNote = '';
async function raiseQuota(extra: number): Promise<void> {
  const project = neutron.projectId;
  if (!project) return;
  const r = await neutron.call('GET', `/quotas/${project}/details`);
  const q = r.body.quota as Record<string, { limit: number; used: number; reserved?: number }> | undefined;
  if (r.status !== 200 || !q) return;
  const change: Record<string, number> = {};
  for (const res of ['network', 'subnet', 'subnetpool']) {
    const d = q[res];
    if (!d || d.limit < 0 || d.limit - d.used - (d.reserved ?? 0) >= extra) continue;
    change[res] = d.used + extra + 50;
    quotaRestore[res] = d.limit;
  }
  if (Object.keys(change).length === 0) return;
  await neutron.must('PUT', `/quotas/${project}`, { quota: change });
  quotaNote = `quota of project ${project} raised for the scale phase (${Object.entries(change).map(([k, v]) => `${k} ${quotaRestore[k]} → ${v}`).join(', ')}) and restored afterwards`;
  log(`  ${quotaNote}`);
}

// ---------------------------------------------------------------- cleanup

let cleaning: Promise<Results['cleanup']> | undefined;
function cleanup(): Promise<Results['cleanup']> {
  cleaning ??= (async () => {
    const notes: string[] = [];
    const ids = (await docker('ps', '-aq', '--filter', `name=^/${RUN}-`)).out.split('\n').filter(Boolean);
    if (ids.length > 0) {
      notes.push(`removed ${ids.length} leftover containers`);
      await docker('rm', '-f', ...ids);
    }
    const netNames = (await docker('network', 'ls', '--format', '{{.Name}}', '--filter', `name=${RUN}-`)).out.split('\n').filter(Boolean);
    for (const nm of netNames) {
      const rm = await docker('network', 'rm', nm);
      notes.push(rm.ok ? `removed leftover network ${nm}` : `could not remove leftover network ${nm}: ${rm.out.trim().slice(0, 200)}`);
    }
    await poolDaemon?.stop();
    poolDaemon = undefined;
    await nullDriver?.stop();
    nullDriver = undefined;
    if (daemon) {
      for (const eid of [...liveEndpoints.keys()]) await detach(eid).catch((e: Error) => notes.push(`endpoint ${eid.slice(0, 12)}: ${e.message}`));
      await pool([...liveNets.values()], 4, (net) => deletePluginNet(net).catch((e: Error) => notes.push(`network ${net.nid.slice(0, 12)}: ${e.message}`)));
      await daemon.stop();
      daemon = undefined;
    }
    await proxy.stop();
    if (Object.keys(quotaRestore).length > 0 && neutron.projectId) {
      const restored = await neutron.call('PUT', `/quotas/${neutron.projectId}`, { quota: quotaRestore });
      notes.push(restored.status === 200 ? quotaNote : `could not restore the quota ${JSON.stringify(quotaRestore)}: HTTP ${restored.status}`);
    }
    // what is left in Neutron of this run (each should be 0)
    const leaks = { networks: 0, subnetpools: 0, ports: 0 };
    try {
      const plugNets = await neutron.list<{ id: string }>('networks', `name=kuryr-net-${NID_PREFIX}`);
      const floor = await neutron.list<{ id: string }>('networks', `name=${RUN}-floor`);
      const floorPorts = await neutron.list<{ id: string }>('ports', `name=${RUN}-floor`);
      const dockerNets: string[] = [];
      for (const id of dockerNetworkIds) {
        const nid = await neutronNetworkOf(neutron, id);
        if (nid) dockerNets.push(nid);
      }
      const pools = (await neutron.list<{ id: string; name: string }>('subnetpools', 'fields=id&fields=name')).filter((p) => /^kuryrPool-(10\.23[0-9]\.|fd00:be:)/.test(p.name));
      leaks.networks = plugNets.length + floor.length + dockerNets.length;
      leaks.subnetpools = pools.length;
      leaks.ports = floorPorts.length;
      for (const p of floorPorts) await neutron.call('DELETE', `/ports/${p.id}`);
      for (const net of [...plugNets, ...floor].map((x) => x.id).concat(dockerNets)) {
        for (const p of await neutron.list<{ id: string }>('ports', `network_id=${net}&device_owner=compute:kuryr`)) {
          leaks.ports += 1;
          await neutron.call('DELETE', `/ports/${p.id}`);
        }
        await neutron.call('DELETE', `/networks/${net}`);
      }
      for (const p of pools) await neutron.call('DELETE', `/subnetpools/${p.id}`);
      if (leaks.networks + leaks.subnetpools + leaks.ports > 0) notes.push(`Neutron leftovers deleted by the bench: ${JSON.stringify(leaks)}`);
    } catch (err) {
      notes.push(`leak check failed: ${(err as Error).message}`);
    }
    return { leaks, notes };
  })();
  return cleaning;
}

// ---------------------------------------------------------------- main

/** Is any of the daemon's src/ files newer than the build the bench daemon runs? */
function distIsStale(): boolean {
  const built = statSync(`${REPO}packages/kuryr/dist/src/main/kuryr-cli.js`, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? statSync(`${dir}/${e.name}`).mtimeMs : 0), 0);
  // src/zun is the container service, not part of the daemon
  const daemonDirs = readdirSync(`${REPO}src`).filter((d) => d !== 'zun');
  return Math.max(...daemonDirs.map((d) => newest(`${REPO}src/${d}`))) > built;
}

/**
 * RSS of idle Node.js processes of the same binary: bare (the runtime itself), and with the
 * daemon's runtime dependencies loaded and one fetch made (fastify, pino, commander, yaml, and
 * Node's bundled undici behind fetch) — the floor under the daemon's own memory.
 */
async function nodeBaselinesMB(): Promise<{ bare: number; withDependencies: number }> {
  const measure = async (args: string[]): Promise<number> => {
    const child = spawn(process.execPath, args, { stdio: 'ignore', cwd: REPO });
    await sleep(2_500);
    try {
      return procReading(child.pid!).rssMB;
    } finally {
      child.kill('SIGTERM');
    }
  };
  const deps = "await import('fastify'); await import('pino'); await import('commander'); await import('yaml'); await fetch('http://127.0.0.1:9696/').catch(() => {}); setTimeout(() => {}, 5000);";
  return { bare: await measure(['-e', 'setTimeout(() => {}, 5000)']), withDependencies: await measure(['--input-type=module', '-e', deps]) };
}

async function main(): Promise<number> {
  const meta = {
    date: new Date().toISOString(),
    commit: execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']).toString().trim(),
    uncommittedSrc: execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'bin', ':!src/zun']).toString().trim().split('\n').filter(Boolean),
    node: process.version,
    docker: (await docker('version', '-f', '{{.Server.Version}}')).out,
    cpus: cpus().length,
    loadavgStart: loadavg().map(r2),
    loadavgEnd: [] as number[],
    durationS: 0,
    distStale: distIsStale(),
    params: P as Record<string, unknown>,
  };
  const neutronVersion = await fetch('http://127.0.0.1:9696/').then((r) => r.status, () => 0);
  if (neutronVersion === 0) throw new Error('Neutron does not answer on 127.0.0.1:9696: is the lab up (npm run lab:up)?');
  await neutron.init();
  const port = await proxy.start();
  log(`counting proxy on 127.0.0.1:${port} → ${proxy.upstream.href}`);
  const stop = (signal: string): void => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  const results: Partial<Results> = { meta };
  let sampler: NodeJS.Timeout | undefined;
  if (meta.distStale) log('WARNING: dist/ is older than src/: the daemon measured is the last build (npm run build)');
  try {
    daemon = await startDaemon(DRIVER, port);
    // the daemon probes Neutron's extensions once it has a Keystone token: wait for it, so it is counted as start-up
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && !proxy.calls.some((c) => c.shape.includes('extensions/')); ) await sleep(100);
    await proxy.quiesce(500);
    log(`bench daemon pid ${daemon.pid} on ${daemon.socket} (driver "${DRIVER}")`);
    const fresh = procReading(daemon.pid);
    results.startup = { neutronCalls: proxy.calls.length, shapes: proxy.calls.map((c) => c.shape), proc: fresh };
    sample();
    sampler = setInterval(sample, 2_000);
    const phase = async <T>(name: string, title: string, fn: () => Promise<T>): Promise<T | undefined> => {
      if (!P.phases.includes(name)) return undefined;
      currentPhase = name;
      log(title);
      sample();
      const r = await fn();
      sample();
      return r;
    };
    const calls = await phase('calls', '1/4 Neutron calls per Docker operation', phaseCalls);
    if (calls) results.calls = calls;
    const latency = await phase('latency', `2/4 latency (${P.reps} repetitions)`, phaseLatency);
    if (latency) results.latency = latency;
    const concurrency = await phase('concurrency', `3/4 concurrency (${P.concurrency} containers)`, phaseConcurrency);
    if (concurrency) results.concurrency = concurrency;
    const scale = await phase('scale', `4/4 scale and memory (${P.networks} networks, then attach/detach cycles)`, () => phaseScale(latency));
    if (scale) results.scale = scale;
    currentPhase = 'end';
    await proxy.quiesce();
    await sleep(scale ? 0 : 6_000);
    const final = procReading(daemon.pid);
    const base = await nodeBaselinesMB();
    results.memory = { fresh, final, operations: opsDone, nodeBaselineMB: base.bare, nodeWithDependenciesMB: base.withDependencies, timeline };
  } catch (err) {
    results.error = (err as Error).stack ?? String(err);
    log(`FAILED: ${results.error}`);
  } finally {
    clearInterval(sampler);
    log('cleaning up');
    results.cleanup = await cleanup();
  }
  results.neutronByCall = byShape(proxy.calls);
  results.meta = { ...meta, durationS: r1((performance.now() - started) / 1000), loadavgEnd: loadavg().map(r2) };
  const files = writeReport(results as Results, P.out);
  console.log(files.summary);
  log(`wrote ${files.paths.join(', ')}`);
  return results.error ? 1 : 0;
}

process.exitCode = await main();
