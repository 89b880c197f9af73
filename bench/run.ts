/**
 * `npm run bench`: kuryr-ts on the real lab (Docker 20.10, Neutron ML2/OVN
 * behind Keystone, OVS), side by side with Docker's bridge driver and with
 * Kuryr-libnetwork's published call counts.
 *
 * The bench starts its own kuryr daemon (plugin socket kbench.sock, so Docker
 * knows it as driver "kbench") whose Neutron endpoint is a counting proxy in
 * this process: every Neutron call is counted and timed outside the daemon.
 * Phases (bench/phases/), each also on a port-pool daemon (bench/pools.ts): 1 Neutron calls per Docker operation, 2 latency vs
 * bridge and the Neutron floor, 3 concurrency (50 at once), 4 scale and
 * memory. It writes bench/results/<date>.json, <date>.md,
 * <date>-{latency,memory}.svg and latest.md, prints a summary, and removes
 * everything it made (containers, networks, the daemons, the proxy). The
 * daemon measured is the last build of packages/kuryr and packages/openstack
 * (`npm run build`); the report says so when their sources are newer.
 *
 * Knobs (env, bench/params.ts): BENCH_REPS (30), BENCH_CONCURRENCY (50), BENCH_NETWORKS (200),
 * BENCH_CYCLES (most attach/detach cycles of the scale phase; they stop
 * early to keep the whole run within BENCH_BUDGET_S, 840; fewer networks
 * are made only if they would not fit in BENCH_HARD_BUDGET_S, 1320), BENCH_PHASES
 * (calls,latency,concurrency,scale), BENCH_OUT (results folder); also BENCH_COUNT_REPS (2),
 * BENCH_NETWORK_CONCURRENCY (4), BENCH_CYCLE_CONCURRENCY (4), BENCH_MIN_CYCLES (20) and
 * BENCH_DRIVER (kbench).
 */
import { loadavg } from 'node:os';
import { cleanupOnce } from './cleanup.js';
import { Clock, Progress, consoleLog, type BenchContext, type Lab } from './context.js';
import { FRESH_IDLE_MS, daemonReading, labNeutron, neutronApiWorkers, startBenchDaemon } from './lab.js';
import { byShape } from './measure.js';
import { nodeBaselinesMB, runMeta } from './meta.js';
import { readParams, runNames } from './params.js';
import { callsPhase, poolCallsPhase } from './phases/calls.js';
import { concurrencyPhase } from './phases/concurrency.js';
import { latencyPhase } from './phases/latency.js';
import { scalePhase } from './phases/scale.js';
import { PluginNetworks } from './plugin-nets.js';
import { CountingProxy } from './proxy.js';
import { QuotaRaise } from './quota.js';
import { writeReport, type Results } from './report.js';
import { r1, r2 } from './stats.js';
import { sleep } from './util.js';
import { REPO } from '../test/lab-support/lab-host.js';

/** How long the daemons stay idle after the run before the memory's last reading. */
const SETTLE_MS = 30_000;

/** Runs the phases asked for, in order, each with its title in the log and a memory sample around it. */
async function runPhases(ctx: BenchContext): Promise<void> {
  const { params: P, results, progress, log } = ctx;
  const phase = async <T>(name: string, title: string, fn: (c: BenchContext) => Promise<T>): Promise<T | undefined> => {
    if (!P.phases.includes(name)) return undefined;
    progress.phase = name;
    log(title);
    progress.sample();
    const r = await fn(ctx);
    progress.sample();
    return r;
  };
  const calls = await phase('calls', '1/4 Neutron calls per Docker operation', callsPhase);
  if (calls) results.calls = calls;
  const callsPools = await phase('calls', '1/4 the same with port pools', poolCallsPhase);
  if (callsPools) results.callsPools = callsPools;
  const latency = await phase('latency', `2/4 latency (${P.reps} repetitions)`, latencyPhase);
  if (latency) results.latency = latency;
  const concurrency = await phase('concurrency', `3/4 concurrency (${P.concurrency} containers)`, concurrencyPhase);
  if (concurrency) results.concurrency = concurrency;
  const scale = await phase('scale', `4/4 scale and memory (${P.networks} networks, then attach/detach cycles)`, scalePhase);
  if (scale) results.scale = scale;
}

async function main(): Promise<number> {
  const clock = new Clock();
  const params = readParams(process.env, { out: `${REPO}bench/results`, neutronApiWorkers: neutronApiWorkers() });
  const meta = await runMeta(REPO, params);
  const neutronVersion = await fetch('http://127.0.0.1:9696/').then((r) => r.status, () => 0);
  if (neutronVersion === 0) throw new Error('Neutron does not answer on 127.0.0.1:9696: is the lab up (npm run lab:up)?');
  const neutron = labNeutron();
  await neutron.auth.endpoint(); // logs in now: wrong credentials fail here, not in a phase
  const lab: Lab = {
    params,
    names: runNames(process.pid, process.env),
    proxy: new CountingProxy(new URL('http://127.0.0.1:9696')),
    neutron,
    clock,
    log: consoleLog(clock),
    progress: new Progress(clock),
    made: { dockerNetworkIds: new Set(), quota: new QuotaRaise(neutron.auth) },
    results: { meta },
  };
  const { proxy, log, progress, made, results } = lab;
  const cleanup = cleanupOnce(lab);
  const port = await proxy.start();
  log(`counting proxy on 127.0.0.1:${port} → ${proxy.upstream.href}`);
  const stop = (signal: string): void => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  let sampler: NodeJS.Timeout | undefined;
  if (meta.distStale) log('WARNING: the daemon\'s build is older than its sources: the daemon measured is the last build (npm run build)');
  try {
    const daemon = await startBenchDaemon(lab.names.driver, port);
    made.daemon = daemon;
    progress.watch(daemon.pid);
    const pluginNets = new PluginNetworks(daemon.socket, proxy, progress, lab.names.nidPrefix);
    made.pluginNets = pluginNets;
    // the daemon probes Neutron's extensions once it has a Keystone token: wait for it, so it is counted as start-up
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && !proxy.calls.some((c) => c.shape.includes('extensions/')); ) await sleep(100);
    await proxy.quiesce(500);
    await sleep(FRESH_IDLE_MS);
    log(`bench daemon pid ${daemon.pid} on ${daemon.socket} (driver "${lab.names.driver}")`);
    const fresh = await daemonReading(daemon);
    results.startup = { neutronCalls: proxy.calls.length, shapes: proxy.calls.map((c) => c.shape), proc: fresh };
    progress.sample();
    sampler = setInterval(() => progress.sample(), 2_000);
    await runPhases({ ...lab, daemon, pluginNets });
    progress.phase = 'end';
    await proxy.quiesce();
    await sleep(results.scale ? 0 : 6_000);
    const final = await daemonReading(daemon);
    const poolFinal = made.poolDaemon ? await daemonReading(made.poolDaemon) : undefined;
    const ended = Date.now();
    const base = await nodeBaselinesMB(REPO);
    // Whether what the run added stays: both daemons read again once idle for 30 s.
    await sleep(Math.max(0, ended + SETTLE_MS - Date.now()));
    const settled = await daemonReading(daemon);
    const pools = made.poolDaemon && made.poolDaemonFresh && poolFinal ? { fresh: made.poolDaemonFresh, final: poolFinal, settled: await daemonReading(made.poolDaemon) } : undefined;
    results.memory = { fresh, final, settled, operations: progress.ops, nodeBaselineMB: base.bare, nodeWithDependenciesMB: base.withDependencies, nodeWithDependenciesLoads: base.loads, timeline: progress.timeline, ...(pools ? { pools } : {}) };
  } catch (err) {
    results.error = (err as Error).stack ?? String(err);
    log(`FAILED: ${results.error}`);
  } finally {
    clearInterval(sampler);
    log('cleaning up');
    results.cleanup = await cleanup();
  }
  results.neutronByCall = byShape(proxy.calls);
  results.meta = { ...meta, durationS: r1(clock.elapsedS()), loadavgEnd: loadavg().map(r2) };
  const files = writeReport(results as Results, params.out);
  console.log(files.summary);
  log(`wrote ${files.paths.join(', ')}`);
  return results.error ? 1 : 0;
}

process.exitCode = await main();
