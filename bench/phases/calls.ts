/**
 * Phase 1: Neutron calls per Docker operation. Each operation runs alone
 * through the docker CLI (single and dual stack), and the calls the proxy saw
 * are set next to the daemon's own count and Kuryr-libnetwork's published ones.
 */
import type { BenchContext } from '../context.js';
import { createDockerNet } from '../docker-nets.js';
import { docker, dockerOk } from '../lab.js';
import { counted, type OpWindow } from '../measure.js';
import { POOL_MIN, poolCounted, poolDaemonOf, waitForPool } from '../pools.js';
import type { Results } from '../report.js';
import type { ExecResult } from '../../test/lab-support/exec.js';
import { r1 } from '../stats.js';

const REFERENCE: Readonly<Record<string, { kuryr: string; target?: number }>> = {
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

export async function callsPhase(ctx: BenchContext): Promise<NonNullable<Results['calls']>> {
  const { params: P, log } = ctx;
  const { run: RUN, image: IMAGE } = ctx.names;
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
      add(`${v.label}network create`, await counted(ctx, () => createDockerNet(ctx, net, v.args(rep))));
      add(v.label ? 'dual-stack docker run -d' : 'docker run -d (attach)', await counted(ctx, () => docker('run', '-d', '--name', `${net}-a`, '--net', net, IMAGE, 'sleep', '600')));
      if (!v.label) {
        await dockerOk('run', '-d', '--name', `${net}-b`, IMAGE, 'sleep', '600'); // on Docker's default bridge
        add('network connect', await counted(ctx, () => docker('network', 'connect', net, `${net}-b`)));
        add('network disconnect', await counted(ctx, () => docker('network', 'disconnect', net, `${net}-b`)));
        await docker('rm', '-f', `${net}-b`);
      }
      add(v.label ? 'dual-stack docker rm -f' : 'docker rm -f (detach)', await counted(ctx, () => docker('rm', '-f', `${net}-a`)));
      add(`${v.label}network rm`, await counted(ctx, () => docker('network', 'rm', net)));
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

/**
 * The same single-stack operations on the port-pool daemon, counted by the
 * daemon itself: the calls Docker waits for, and those after the replies
 * (refills, released ports going back to the pool).
 */
export async function poolCallsPhase(ctx: BenchContext): Promise<NonNullable<Results['callsPools']>> {
  const { params: P, log } = ctx;
  const { run: RUN, image: IMAGE } = ctx.names;
  const d = await poolDaemonOf(ctx);
  const rows: Record<string, { foreground: number[]; background: number[]; failures: number }> = {};
  const add = async (op: string, fn: () => Promise<ExecResult>): Promise<void> => {
    const { r, calls } = await poolCounted(d, fn);
    const row = (rows[op] ??= { foreground: [], background: [], failures: 0 });
    if (!r.ok) {
      row.failures += 1;
      log(`  ${op} FAILED: ${r.out.slice(0, 200)}`);
      return;
    }
    row.foreground.push(calls.foreground);
    row.background.push(calls.background);
  };
  for (let rep = 1; rep <= P.countReps; rep++) {
    const net = `${RUN}-cp${rep}`;
    await add('network create', async () => {
      const r = await docker('network', 'create', '-d', d.driver, '--ipam-driver', d.driver, '--subnet', `10.230.${5 + rep}.0/24`, '--gateway', `10.230.${5 + rep}.1`, net);
      if (r.ok) ctx.made.dockerNetworkIds.add(r.out);
      return r;
    });
    // The first container of a network on a host gets a port made on demand and starts the pool.
    await add('first docker run -d on the network', () => docker('run', '-d', '--name', `${net}-w`, '--net', net, IMAGE, 'sleep', '600'));
    await waitForPool(d, POOL_MIN);
    await add('docker run -d (attach)', () => docker('run', '-d', '--name', `${net}-a`, '--net', net, IMAGE, 'sleep', '600'));
    await add('docker rm -f (detach)', () => docker('rm', '-f', `${net}-a`));
    await docker('rm', '-f', `${net}-w`);
    await add('network rm', () => docker('network', 'rm', net));
  }
  return Object.entries(rows).map(([op, r]) => ({ op, ...r }));
}
