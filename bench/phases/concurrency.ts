/**
 * Phase 3: concurrency. n `docker run -d` on one kuryr network one after
 * another, then all removed at once; then n started at once, checked (no
 * duplicate address in Docker or Neutron), and removed at once; the same with
 * Docker's bridge driver, and with the port-pool daemon (bench/pools.ts). The
 * daemon's fds and RSS are sampled meanwhile.
 */
import { DEVICE_OWNER } from '@kuryr-ts/kuryr/domain/naming';
import type { BenchContext } from '../context.js';
import { createDockerNetOk } from '../docker-nets.js';
import { daemonStats, docker, dockerOk, neutronNetworkOf, procReading } from '../lab.js';
import { byShape, diffStats } from '../measure.js';
import { POOL_MIN, poolCalls, poolDaemonOf, poolReading, waitForPool } from '../pools.js';
import { busyMs, inFlightByShape, maxInFlight } from '../proxy.js';
import type { Results } from '../report.js';
import { r1, r2, summarize } from '../stats.js';
import { pool, sleep } from '../util.js';
import { exec, type ExecResult } from '../../test/lab-support/exec.js';

interface Burst {
  wallMs: number;
  failures: string[];
  times: number[];
}

/** The same docker command for each name, all at once or one after another; `countOps`: each success is an operation of the bench daemon. */
async function burst(ctx: BenchContext, names: string[], parallel: boolean, args: (name: string) => string[], countOps: boolean): Promise<Burst> {
  const t = performance.now();
  const one = async (nm: string): Promise<ExecResult> => {
    const r = await exec('docker', args(nm), 300_000);
    if (r.ok && countOps) ctx.progress.ops += 1;
    return r;
  };
  const results = parallel ? await Promise.all(names.map(one)) : await pool(names, 1, one);
  return {
    wallMs: r1(performance.now() - t),
    failures: results.filter((r) => !r.ok).map((r) => r.out.slice(0, 200)),
    times: results.filter((r) => r.ok).map((r) => r.ms),
  };
}

export async function concurrencyPhase(ctx: BenchContext): Promise<NonNullable<Results['concurrency']>> {
  const { params: P, proxy, neutron, daemon, log } = ctx;
  const { run: RUN, driver: DRIVER, image: IMAGE } = ctx.names;
  const n = P.concurrency;
  const net = `${RUN}-cc`;
  const bnet = `${RUN}-ccb`;
  await createDockerNetOk(ctx, DRIVER, net, ['--subnet', '10.230.32.0/23', '--gateway', '10.230.32.1']);
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
  const idle = procReading(daemon.pid);
  const samples: Array<{ t: number; phase: string; rssMB: number; fds: number; inFlight: number }> = [];
  let phase = 'idle';
  const t0 = performance.now();
  const sampler = setInterval(() => {
    try {
      samples.push({ t: r1((performance.now() - t0) / 1000), phase, ...procReading(daemon.pid), inFlight: proxy.inFlight });
    } catch {
      /* the daemon is gone: reported by the phase itself */
    }
  }, 500);
  const s0 = await daemonStats(daemon.socket);
  const runArgs = (network: string) => (name: string): string[] => ['run', '-d', '--name', name, '--net', network, IMAGE, 'sleep', '600'];
  const rmArgs = (name: string): string[] => ['rm', '-f', name];
  try {
    const serialNames = Array.from({ length: n }, (_, i) => `${RUN}-s${i}`);
    const parNames = Array.from({ length: n }, (_, i) => `${RUN}-p${i}`);
    phase = 'serial starts';
    log(`  kuryr: ${n} serial starts`);
    const serial = await burst(ctx, serialNames, false, runArgs(net), true);
    phase = 'parallel removal (after serial)';
    log(`  kuryr: ${n} removals at once`);
    const rmAfterSerial = await burst(ctx, serialNames, true, rmArgs, true);
    await proxy.quiesce();
    phase = 'parallel starts';
    log(`  kuryr: ${n} starts at once`);
    const i0 = proxy.calls.length;
    const parallel = await burst(ctx, parNames, true, runArgs(net), true);
    const startCalls = proxy.calls.slice(i0);
    phase = 'checks';
    const inspect = await docker('inspect', '-f', `{{.Name}} {{(index .NetworkSettings.Networks "${net}").IPAddress}}`, ...parNames);
    const ips = inspect.out
      .split('\n')
      .map((l) => l.trim().split(' ')[1] ?? '')
      .filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
    const dupDocker = ips.length - new Set(ips).size;
    const ports = neutronNet ? await neutron.list('ports', { network_id: neutronNet, device_owner: DEVICE_OWNER }) : [];
    const portIps = ports.flatMap((p) => p.fixed_ips.map((f) => f.ip_address));
    const dupNeutron = portIps.length - new Set(portIps).size;
    const peak = procReading(daemon.pid);
    // one more container while n are up: attach latency with n ports on the network
    phase = 'attach with n ports up';
    const extra: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await docker(...runArgs(net)(`${RUN}-x${i}`));
      if (r.ok) extra.push(r.ms);
      await docker('rm', '-f', `${RUN}-x${i}`);
      ctx.progress.ops += 2;
    }
    phase = 'parallel removal';
    log(`  kuryr: ${n} removals at once`);
    await proxy.quiesce();
    const i1 = proxy.calls.length;
    const rm = await burst(ctx, parNames, true, rmArgs, true);
    const rmCalls = proxy.calls.slice(i1);
    phase = 'settle';
    const afterRm = procReading(daemon.pid);
    const leftPorts = neutronNet ? (await neutron.list('ports', { network_id: neutronNet, device_owner: DEVICE_OWNER })).length : -1;
    await proxy.quiesce();
    await sleep(6_000);
    const settled = procReading(daemon.pid);
    const s1 = await daemonStats(daemon.socket);
    const d = diffStats(s0, s1);
    const errors = Object.entries(s1).reduce((a, [k, t]) => a + t.errors - (s0[k]?.errors ?? 0), 0);
    // the same with Docker's bridge driver: how much parallelism Docker itself gets on this machine
    phase = 'bridge';
    log(`  bridge: ${n} serial starts, ${n} at once, removals at once`);
    const bSerialNames = serialNames.map((x) => `${x}b`);
    const bParNames = parNames.map((x) => `${x}b`);
    const bSerial = await burst(ctx, bSerialNames, false, runArgs(bnet), false);
    const bRmSerial = await burst(ctx, bSerialNames, true, rmArgs, false);
    const bParallel = await burst(ctx, bParNames, true, runArgs(bnet), false);
    const bRm = await burst(ctx, bParNames, true, rmArgs, false);
    phase = 'port pools';
    log(`  kuryr with port pools: ${n} serial starts, removals at once, ${n} at once, removals at once`);
    const pools = await withPools(ctx, n);
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
      neutronDuringStarts: { calls: startCalls.length, busyMs: r1(busyMs(startCalls)), maxInFlight: maxInFlight(startCalls), maxInFlightByShape: inFlightByShape(startCalls), byShape: byShape(startCalls) },
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
      pools,
    };
  } finally {
    clearInterval(sampler);
    await docker('network', 'rm', net);
    await docker('network', 'rm', bnet);
  }
}

/**
 * The same bursts on the port-pool daemon: n serial starts, their removal at
 * once (the ports go back to the pool; the burst waits, up to 2 min, until
 * the pool holds n ports again), n starts at once, their removal at once. Its
 * Neutron calls come from its own counter (it does not use the proxy).
 */
async function withPools(ctx: BenchContext, n: number): Promise<NonNullable<NonNullable<Results['concurrency']>['pools']>> {
  const { run: RUN, image: IMAGE } = ctx.names;
  const d = await poolDaemonOf(ctx);
  const net = `${RUN}-ccp`;
  await createDockerNetOk(ctx, d.driver, net, ['--subnet', '10.230.46.0/23', '--gateway', '10.230.46.1']);
  const runArgs = (name: string): string[] => ['run', '-d', '--name', name, '--net', net, IMAGE, 'sleep', '600'];
  const rmArgs = (name: string): string[] => ['rm', '-f', name];
  try {
    // A host that has run a container on the network before: its pool is filled.
    await dockerOk(...runArgs(`${RUN}-qw`));
    await waitForPool(d, POOL_MIN);
    const idle = procReading(d.pid);
    const r0 = await poolReading(d);
    const serialNames = Array.from({ length: n }, (_, i) => `${RUN}-qs${i}`);
    const parNames = Array.from({ length: n }, (_, i) => `${RUN}-qp${i}`);
    const serial = await burst(ctx, serialNames, false, runArgs, false);
    const rmAfterSerial = await burst(ctx, serialNames, true, rmArgs, false);
    // The removals gave their ports back; each is handed out again once its reset (after Docker's answer) is done.
    await waitForPool(d, n, 120_000);
    const freeBefore = (await poolReading(d)).free;
    const parallel = await burst(ctx, parNames, true, runArgs, false);
    const inspect = await docker('inspect', '-f', `{{.Name}} {{(index .NetworkSettings.Networks "${net}").IPAddress}}`, ...parNames);
    const ips = inspect.out
      .split('\n')
      .map((l) => l.trim().split(' ')[1] ?? '')
      .filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
    const peak = procReading(d.pid);
    const rm = await burst(ctx, parNames, true, rmArgs, false);
    await sleep(6_000);
    const calls = poolCalls(r0, await poolReading(d));
    return {
      serialStartsMs: serial.wallMs,
      parallelStartsMs: parallel.wallMs,
      parallelOverSerial: r2(parallel.wallMs / serial.wallMs),
      parallelStartLatency: summarize(parallel.times),
      removalAfterSerialMs: rmAfterSerial.wallMs,
      parallelRemovalMs: rm.wallMs,
      parallelRemovalLatency: summarize(rm.times),
      freePortsBeforeBurst: freeBefore,
      failures: [...serial.failures, ...rmAfterSerial.failures, ...parallel.failures, ...rm.failures],
      addressesSeen: ips.length,
      duplicateIpsDocker: ips.length - new Set(ips).size,
      foregroundNeutronCalls: calls.foreground,
      backgroundNeutronCalls: calls.background,
      proc: { idle, peak, settled: procReading(d.pid) },
    };
  } finally {
    await docker('rm', '-f', `${RUN}-qw`);
    await docker('network', 'rm', net);
  }
}
