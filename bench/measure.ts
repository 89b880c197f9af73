/**
 * Measuring one operation of the bench daemon: the Neutron calls the proxy
 * saw while it ran (until Neutron went quiet), and what the daemon's own
 * counters say it did; Neutron calls grouped by shape.
 */
import type { BenchContext } from './context.js';
import { daemonStats, type DaemonOpTotals } from './lab.js';
import { busyMs, type ProxiedCall } from './proxy.js';
import type { ExecResult } from '../test/lab-support/exec.js';
import { summarize, type Summary } from './stats.js';

export interface OpWindow {
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

/** Neutron calls and libnetwork requests (count and time per method) between two readings of the daemon's counters. */
export function diffStats(a: Record<string, DaemonOpTotals>, b: Record<string, DaemonOpTotals>): { calls: number; plugin: Record<string, number>; pluginMs: Record<string, number> } {
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
export async function counted(ctx: BenchContext, fn: () => Promise<ExecResult | void>, settleFirst = true): Promise<OpWindow> {
  const { proxy, daemon } = ctx;
  if (settleFirst) await proxy.quiesce(100);
  const i0 = proxy.calls.length;
  const s0 = await daemonStats(daemon.socket);
  const t0 = performance.now();
  const r = await fn();
  const wallMs = performance.now() - t0;
  await proxy.quiesce(100);
  const calls: ProxiedCall[] = proxy.calls.slice(i0);
  const d = diffStats(s0, await daemonStats(daemon.socket));
  ctx.progress.ops += 1;
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

/** Neutron calls grouped by shape: how many, and how long each took (ms). */
export function byShape(calls: readonly ProxiedCall[]): Array<{ shape: string } & Summary> {
  const by = new Map<string, number[]>();
  for (const c of calls) {
    const list = by.get(c.shape);
    if (list) list.push(c.ms);
    else by.set(c.shape, [c.ms]);
  }
  return [...by].map(([shape, v]) => ({ shape, ...summarize(v) })).sort((a, b) => b.n * b.mean - a.n * a.mean);
}
