/**
 * Phase 4: scale and memory, through the libnetwork protocol on the bench
 * daemon's socket. n networks (the first and last 5 one at a time, the others
 * several at a time), attach/detach with 1 and with n networks, attach/detach
 * cycles until the run's time budget, then every network deleted; the
 * daemon's RSS and fds after each step. n shrinks only when n networks would
 * not fit in the hard time cap at the speed Neutron had in phase 2.
 */
import type { BenchContext } from '../context.js';
import { plugin, procReading } from '../lab.js';
import { byShape } from '../measure.js';
import type { PluginNet, PluginNetworks } from '../plugin-nets.js';
import { busyMs } from '../proxy.js';
import type { Results } from '../report.js';
import { r1, r2, summarize, type Summary } from '../stats.js';
import { pool, sleep } from '../util.js';

async function attachDetachSamples(nets: PluginNetworks, net: PluginNet, count: number): Promise<{ attach: Summary; detach: Summary }> {
  const a: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < count; i++) {
    let t = performance.now();
    const eid = await nets.attach(net);
    a.push(performance.now() - t);
    t = performance.now();
    await nets.detach(eid);
    d.push(performance.now() - t);
  }
  return { attach: summarize(a), detach: summarize(d) };
}

export async function scalePhase(ctx: BenchContext): Promise<NonNullable<Results['scale']>> {
  const { params: P, proxy, daemon, log, clock, progress, pluginNets: nets } = ctx;
  const latency = ctx.results.latency;
  const spaces = await plugin<{ LocalDefaultAddressSpace: string }>(daemon.socket, 'IpamDriver.GetDefaultAddressSpaces', {});
  nets.addressSpace = spaces.LocalDefaultAddressSpace;
  const phaseStart = performance.now();
  // A shared, loaded machine can make Neutron so slow that 200 networks would not fit in the
  // time left: then fewer are made, and the report says so.
  const perNetS = (latency?.summaries['kuryr network create + rm']?.median ?? 2_500) / 1000;
  const fits = Math.floor((P.hardBudgetS - clock.elapsedS() - 90) / perNetS);
  const n = Math.max(Math.min(P.networks, 20), Math.min(P.networks, fits));
  if (n < P.networks) log(`  only ${n} networks fit in the time left (BENCH_HARD_BUDGET_S=${P.hardBudgetS}); the report says so`);
  const quotaNote = await ctx.made.quota.raise(n + 20);
  if (quotaNote) log(`  ${quotaNote}`);
  const createMs: number[] = [];
  const createCalls: number[] = [];
  const created: PluginNet[] = [];
  const one = async (i: number): Promise<void> => {
    const r = await nets.create(i);
    createMs[i] = r.ms;
    createCalls[i] = r.calls;
    created[i] = r.net;
  };
  log(`  network 1 and its attach/detach baseline`);
  await one(0);
  const baseline = await attachDetachSamples(nets, created[0]!, 6);
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
  progress.sample();
  log(`  attach/detach with ${n} networks`);
  const withNetworks = await attachDetachSamples(nets, created[0]!, 6);
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
      if (cycles + cycleFailures >= P.minCycles && clock.elapsedS() > stopAtS) {
        capped = true;
        return;
      }
      try {
        const eid = await nets.attach(created[k % Math.min(8, created.length)]!);
        await nets.detach(eid);
        cycles += 1;
      } catch (err) {
        cycleFailures += 1;
        if (cycleErrors.length < 5) cycleErrors.push((err as Error).message.slice(0, 200));
      }
      if (cycles % 25 === 0) progress.sample();
    },
  );
  const cycleMs = performance.now() - cycleStart;
  const cycleCalls = proxy.calls.slice(c0);
  const afterOps = procReading(daemon.pid);
  progress.sample();
  for (const eid of [...nets.endpoints.keys()]) await nets.detach(eid).catch(() => undefined); // leftovers of failed cycles
  log(`  deleting ${created.length} networks`);
  const deleteMs: number[] = [];
  // in reverse order; the last 5 one at a time, the very last with one network left
  const order = [...created].reverse();
  const bulk = Math.max(0, order.length - 5);
  await pool(order.slice(0, bulk), P.networkConcurrency, async (net, i) => {
    deleteMs[i] = await nets.delete(net);
  });
  for (let i = bulk; i < order.length; i++) deleteMs[i] = await nets.delete(order[i]!);
  await proxy.quiesce();
  const afterCleanup = procReading(daemon.pid);
  progress.sample();
  await sleep(6_000);
  const settled = procReading(daemon.pid);
  progress.sample();
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
    operations: progress.ops,
    proc: { afterOps, afterCleanup, settled },
    phaseS: r1((performance.now() - phaseStart) / 1000),
  };
}
