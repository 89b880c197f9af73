/**
 * The run's second kuryr daemon, with port pools on (`[vif_pool]`, driver
 * `<driver>pool`), which every phase measures next to the bench daemon
 * (pools off). It talks to Neutron straight, not through the proxy (its
 * background refills and port resets would blur the proxy's per-operation
 * counts): its calls come from its own counter, foreground (what Docker
 * waits for) and background apart.
 */
import type { BenchContext } from './context.js';
import { FRESH_IDLE_MS, daemonReading, startBenchDaemon, type BenchDaemon, type DaemonOpTotals } from './lab.js';
import { sleep } from './util.js';
import { kuryrStats } from '../test/lab-support/plugin-socket.js';
import type { ExecResult } from '../test/lab-support/exec.js';

export const POOL_MIN = 5;
export const POOL_CONF = `[vif_pool]\nenabled = true\nports_pool_min = ${POOL_MIN}\nports_pool_batch = 10\n`;

/** The pool daemon of the run, started on first use (cleanup stops it). */
export async function poolDaemonOf(ctx: BenchContext): Promise<BenchDaemon> {
  if (ctx.made.poolDaemon) return ctx.made.poolDaemon;
  const d = await startBenchDaemon(`${ctx.names.driver}pool`, undefined, POOL_CONF);
  ctx.made.poolDaemon = d;
  await sleep(FRESH_IDLE_MS); // its start-up (Keystone, the extension probe) is over and collected
  ctx.made.poolDaemonFresh = await daemonReading(d);
  return d;
}

export interface PoolReading {
  ops: Record<string, DaemonOpTotals>;
  /** Neutron calls after the replies (refills, port resets, endpoint records) */
  background: number;
  /** free pool ports, all subnets */
  free: number;
}

export async function poolReading(d: BenchDaemon): Promise<PoolReading> {
  const st = await kuryrStats(d.socket, 120_000);
  return { ops: st.operations, background: st.backgroundNeutronCalls, free: Object.values(st.portPools ?? {}).reduce((n, x) => n + x, 0) };
}

/** Waits (at most `ms`) until the pools hold at least `n` free ports. */
export async function waitForPool(d: BenchDaemon, n: number, ms = 30_000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline && (await poolReading(d)).free < n; ) await sleep(200);
}

/** Neutron calls between two readings: those of Docker's requests (what Docker waited for) and those after the replies. */
export function poolCalls(a: PoolReading, b: PoolReading): { foreground: number; background: number; plugin: Record<string, number>; pluginMs: Record<string, number> } {
  let foreground = 0;
  const plugin: Record<string, number> = {};
  const pluginMs: Record<string, number> = {};
  for (const [op, t] of Object.entries(b.ops)) {
    const before = a.ops[op] ?? { requests: 0, errors: 0, neutronCalls: 0, totalMs: 0 };
    foreground += t.neutronCalls - before.neutronCalls;
    if (t.requests > before.requests) {
      plugin[op] = t.requests - before.requests;
      pluginMs[op] = t.totalMs - before.totalMs;
    }
  }
  return { foreground, background: b.background - a.background, plugin, pluginMs };
}

/** One docker command on the pool daemon, timed, with the daemon's Neutron calls during it. */
export async function poolCounted(d: BenchDaemon, fn: () => Promise<ExecResult>): Promise<{ r: ExecResult; calls: ReturnType<typeof poolCalls> }> {
  const before = await poolReading(d);
  const r = await fn();
  return { r, calls: poolCalls(before, await poolReading(d)) };
}
