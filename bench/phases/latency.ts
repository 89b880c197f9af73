/**
 * Phase 2: latency, interleaved in each repetition: kuryr (network create +
 * rm, run -d + rm -f), the same with port pools (a second daemon), run -d +
 * rm -f with ports deleted after the reply (a third daemon, no pools), Docker's
 * bridge driver, a null remote driver (the floor of any remote driver), the
 * docker CLI's own round trip, and the Neutron floor (a bound port, a network
 * and subnet, created and deleted straight against Neutron).
 */
import { NeutronError } from '@kuryr-ts/openstack/errors';
import { DEVICE_OWNER } from '@kuryr-ts/kuryr/domain/naming';
import type { BenchContext } from '../context.js';
import { createDockerNet, createDockerNetOk } from '../docker-nets.js';
import { docker, dockerOk, neutronNetworkOf, startBenchDaemon } from '../lab.js';
import { byShape, counted } from '../measure.js';
import { startNullDriver } from '../null-driver.js';
import { POOL_MIN, poolCounted, poolDaemonOf, waitForPool } from '../pools.js';
import type { Results } from '../report.js';
import { r1, r2, summarize, type Summary } from '../stats.js';
import { randomMac } from '../util.js';
import type { ExecResult } from '../../test/lab-support/exec.js';
import { hostId } from '../../test/lab-support/lab-host.js';

type Timed<T> = { ok: true; value: T; ms: number } | { ok: false; error: string; ms: number };

/** A Neutron call straight from the bench, timed; Neutron's refusal is a value (its HTTP status), an unreachable Neutron throws. */
async function timed<T>(call: () => Promise<T>): Promise<Timed<T>> {
  const t0 = performance.now();
  try {
    const value = await call();
    return { ok: true, value, ms: performance.now() - t0 };
  } catch (err) {
    if (!(err instanceof NeutronError && err.status !== undefined)) throw err;
    return { ok: false, error: `HTTP ${err.status}`, ms: performance.now() - t0 };
  }
}

export async function latencyPhase(ctx: BenchContext): Promise<NonNullable<Results['latency']>> {
  const { params: P, proxy, neutron, log, made } = ctx;
  const { run: RUN, driver: DRIVER, image: IMAGE } = ctx.names;
  const samples: Record<string, number[]> = {};
  const push = (k: string, v: number): void => void (samples[k] ??= []).push(v);
  const callCounts: Record<string, number[]> = {};
  const neutronMs: Record<string, number[]> = {};
  const methodMs: Record<string, Record<string, number[]>> = {};
  const failures: string[] = [];
  const kNet = `${RUN}-lk`;
  const bNet = `${RUN}-lb`;
  await createDockerNetOk(ctx, DRIVER, kNet, ['--subnet', '10.230.20.0/24', '--gateway', '10.230.20.1']);
  await dockerOk('network', 'create', '-d', 'bridge', '--subnet', '10.230.21.0/24', bNet);
  const kNetId = await dockerOk('network', 'inspect', '-f', '{{.Id}}', kNet);
  const netId = await neutronNetworkOf(neutron, kNetId);
  const subnet = netId ? (await neutron.list('subnets', { network_id: netId }))[0] : undefined;
  if (!netId || !subnet) throw new Error('latency: no Neutron network/subnet for the kuryr network');
  const host = hostId();
  const l0 = proxy.calls.length;

  const kuryrOp = async (key: string, fn: () => Promise<ExecResult>): Promise<void> => {
    const w = await counted(ctx, fn, false);
    if (!w.ok) {
      failures.push(`${key}: ${w.error}`);
      return;
    }
    push(key, w.wallMs);
    (callCounts[key] ??= []).push(w.calls);
    (neutronMs[key] ??= []).push(w.neutronBusyMs);
    for (const [m, v] of Object.entries(w.pluginMs)) ((methodMs[key] ??= {})[m] ??= []).push(v);
  };
  const plainOp = async (key: string, fn: () => Promise<ExecResult>): Promise<void> => {
    const r = await fn();
    if (!r.ok) failures.push(`${key}: ${r.out.slice(0, 200)}`);
    else push(key, r.ms);
  };

  // The same daemon with port pools on ([vif_pool], bench/pools.ts), straight to Neutron: its calls
  // per operation come from its own counter (what Docker waited for; refills and resets apart).
  const poolDaemon = await poolDaemonOf(ctx);
  const pNet = `${RUN}-lp`;
  await createDockerNetOk(ctx, poolDaemon.driver, pNet, ['--subnet', '10.230.22.0/24', '--gateway', '10.230.22.1']);
  await dockerOk('run', '-d', '--name', `${RUN}-pwarm`, '--net', pNet, IMAGE, 'sleep', '600'); // the first container fills the pool
  await waitForPool(poolDaemon, POOL_MIN);
  const poolOp = async (key: string, fn: () => Promise<ExecResult>): Promise<void> => {
    const { r, calls } = await poolCounted(poolDaemon, fn);
    if (!r.ok) return void failures.push(`${key}: ${r.out.slice(0, 200)}`);
    push(key, r.ms);
    (callCounts[key] ??= []).push(calls.foreground);
    for (const [m, v] of Object.entries(calls.pluginMs)) ((methodMs[key] ??= {})[m] ??= []).push(v);
  };

  // The floor of any remote driver: a plugin that only makes a veth pair (bench/null-driver.ts).
  const nullDriver = await startNullDriver(`${DRIVER}null`);
  made.nullDriver = nullDriver;
  const zNet = `${RUN}-lz`;
  await dockerOk('network', 'create', '-d', nullDriver.driver, '--ipam-driver', nullDriver.driver, '--subnet', '10.230.26.0/24', zNet);

  // Without pools, ReleaseAddress answering before Neutron's DELETE ([DEFAULT] delete_ports_after_reply), straight to Neutron.
  const afterReply = await startBenchDaemon(`${DRIVER}dr`, undefined, 'delete_ports_after_reply = true');
  made.afterReplyDaemon = afterReply;
  const dNet = `${RUN}-ld`;
  await createDockerNetOk(ctx, afterReply.driver, dNet, ['--subnet', '10.230.28.0/24', '--gateway', '10.230.28.1']);

  for (let i = 0; i < P.reps; i++) {
    if (i % 5 === 0) log(`  latency repetition ${i + 1}/${P.reps}`);
    await plainOp('null remote driver run -d', () => docker('run', '-d', '--name', `${RUN}-z${i}`, '--net', zNet, IMAGE, 'sleep', '600'));
    await plainOp('null remote driver rm -f', () => docker('rm', '-f', `${RUN}-z${i}`));
    // docker run -d + rm -f with port pools
    await poolOp('kuryr pools run -d', () => docker('run', '-d', '--name', `${RUN}-p${i}`, '--net', pNet, IMAGE, 'sleep', '600'));
    await poolOp('kuryr pools rm -f', () => docker('rm', '-f', `${RUN}-p${i}`));
    const lpn = `${RUN}-lpn`;
    await poolOp('kuryr pools network create', async () => {
      const r = await docker('network', 'create', '-d', poolDaemon.driver, '--ipam-driver', poolDaemon.driver, '--subnet', '10.230.27.0/24', '--gateway', '10.230.27.1', lpn);
      if (r.ok) made.dockerNetworkIds.add(r.out); // checked for leaks at cleanup
      return r;
    });
    await poolOp('kuryr pools network rm', () => docker('network', 'rm', lpn));
    // network create + rm
    const ln = `${RUN}-ln`;
    await kuryrOp('kuryr network create', () => createDockerNet(ctx, ln, ['--subnet', '10.230.23.0/24', '--gateway', '10.230.23.1']));
    await kuryrOp('kuryr network rm', () => docker('network', 'rm', ln));
    await plainOp('bridge network create', () => docker('network', 'create', '-d', 'bridge', '--subnet', '10.230.24.0/24', `${RUN}-lbn`));
    await plainOp('bridge network rm', () => docker('network', 'rm', `${RUN}-lbn`));
    // docker run -d + rm -f
    await kuryrOp('kuryr run -d', () => docker('run', '-d', '--name', `${RUN}-k${i}`, '--net', kNet, IMAGE, 'sleep', '600'));
    await kuryrOp('kuryr rm -f', () => docker('rm', '-f', `${RUN}-k${i}`));
    await plainOp('kuryr delete after reply run -d', () => docker('run', '-d', '--name', `${RUN}-d${i}`, '--net', dNet, IMAGE, 'sleep', '600'));
    await plainOp('kuryr delete after reply rm -f', () => docker('rm', '-f', `${RUN}-d${i}`));
    await plainOp('bridge run -d', () => docker('run', '-d', '--name', `${RUN}-b${i}`, '--net', bNet, IMAGE, 'sleep', '600'));
    await plainOp('bridge rm -f', () => docker('rm', '-f', `${RUN}-b${i}`));
    // the docker CLI's own round trip (no network work)
    await plainOp('docker CLI round trip', () => docker('network', 'inspect', '-f', '{{.Id}}', bNet));
    // Neutron floor: the calls no design can avoid, straight to Neutron
    const port = await timed(() =>
      neutron.create('ports', {
        name: `${RUN}-floor`,
        network_id: netId,
        admin_state_up: true,
        fixed_ips: [{ subnet_id: subnet.id }],
        mac_address: randomMac(),
        device_owner: DEVICE_OWNER,
        'binding:host_id': host,
      }),
    );
    if (!port.ok) failures.push(`floor port create: ${port.error}`);
    else {
      // The port pool's hand-out mark: device_id set only if the port is still at the revision read (If-Match).
      // Like the pool, read the port first (ML2 binds it after answering the create, so that answer's revision
      // is stale); a bind that lands between the read and the mark is a 412: read again and time the retry.
      const markOnce = async (): Promise<Timed<unknown>> => {
        const rev = (await neutron.show('ports', port.value.id)).revision_number;
        return timed(() => neutron.update('ports', port.value.id, { device_id: `${RUN}-floor` }, rev !== undefined ? { ifRevision: rev } : {}));
      };
      let mark = await markOnce();
      if (!mark.ok && mark.error === 'HTTP 412') mark = await markOnce();
      const del = await timed(() => neutron.delete('ports', port.value.id));
      push('floor: bound port create', port.ms);
      if (mark.ok) push('floor: port update', mark.ms);
      else failures.push(`floor port update: ${mark.error}`);
      push('floor: port delete', del.ms);
    }
    const fnet = await timed(() => neutron.create('networks', { name: `${RUN}-floor`, admin_state_up: true }));
    if (!fnet.ok) failures.push(`floor network create: ${fnet.error}`);
    else {
      const fsub = await timed(() => neutron.create('subnets', { name: `${RUN}-floor`, network_id: fnet.value.id, ip_version: 4, cidr: '10.230.25.0/24', gateway_ip: '10.230.25.1' }));
      // The rest of the Kuryr footprint of a network create, on the same objects: the network's two tags
      // and the subnet's tag (one PUT each on this Neutron), a subnet pool and its duplicate check.
      const ntag = await timed(() => neutron.replaceTags('networks', fnet.value.id, [`${RUN}-floor-a`, `${RUN}-floor-b`]));
      const stag = fsub.ok ? await timed(() => neutron.replaceTags('subnets', fsub.value.id, [`${RUN}-floor`])) : undefined;
      const fpool = await timed(() => neutron.create('subnetpools', { name: `${RUN}-floor`, prefixes: ['10.230.25.0/24'], default_prefixlen: 24 }));
      const fdup = await timed(() => neutron.list('subnetpools', { name: `${RUN}-floor` }));
      const fdel = await timed(() => neutron.delete('networks', fnet.value.id));
      const pdel = fpool.ok ? await timed(() => neutron.delete('subnetpools', fpool.value.id)) : undefined;
      if (pdel && !pdel.ok) failures.push(`floor subnet pool delete: ${pdel.error}`); // the cleanup's leak check finds it
      // a network already gone (delete answers 404) is a failed floor too
      const deleted = fdel.ok && fdel.value;
      if (!fsub.ok || !deleted) failures.push(`floor subnet/delete: ${fsub.ok ? 'ok' : fsub.error}/${fdel.ok ? (fdel.value ? 'ok' : 'HTTP 404') : fdel.error}`);
      else {
        push('floor: network + subnet create', fnet.ms + fsub.ms);
        push('floor: network delete', fdel.ms);
        if (ntag.ok && stag?.ok && fpool.ok && fdup.ok) push('floor: Kuryr footprint network create', fnet.ms + fsub.ms + ntag.ms + stag.ms + fpool.ms + fdup.ms);
        else failures.push(`floor Kuryr footprint: tags ${ntag.ok ? 'ok' : ntag.error}/${stag ? (stag.ok ? 'ok' : stag.error) : '–'}, pool ${fpool.ok ? 'ok' : fpool.error}, duplicate check ${fdup.ok ? 'ok' : fdup.error}`);
      }
    }
  }
  await docker('network', 'rm', kNet);
  await docker('network', 'rm', bNet);
  await docker('rm', '-f', `${RUN}-pwarm`);
  await docker('network', 'rm', pNet);
  await docker('network', 'rm', zNet);
  await nullDriver.stop();
  made.nullDriver = undefined;
  await docker('network', 'rm', dNet);
  await afterReply.stop();
  made.afterReplyDaemon = undefined;
  const kuryrCalls = proxy.calls.slice(l0);

  const sums = (a: string, b: string): number[] => (samples[a] ?? []).map((x, i) => x + (samples[b]?.[i] ?? NaN)).filter((x) => Number.isFinite(x));
  samples['kuryr network create + rm'] = sums('kuryr network create', 'kuryr network rm');
  samples['bridge network create + rm'] = sums('bridge network create', 'bridge network rm');
  samples['kuryr run -d + rm -f'] = sums('kuryr run -d', 'kuryr rm -f');
  samples['bridge run -d + rm -f'] = sums('bridge run -d', 'bridge rm -f');
  samples['kuryr pools run -d + rm -f'] = sums('kuryr pools run -d', 'kuryr pools rm -f');
  samples['kuryr pools network create + rm'] = sums('kuryr pools network create', 'kuryr pools network rm');
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
        overNull: ratio('kuryr run -d', 'null remote driver run -d'),
      },
      // With pools no port is made on the critical path: the floor is a remote driver that does nothing but a veth.
      'run -d, port pools': { kuryrOverBridge: ratio('kuryr pools run -d', 'bridge run -d'), floorRatio: ratio('null remote driver run -d', 'bridge run -d'), overNull: ratio('kuryr pools run -d', 'null remote driver run -d') },
      'run -d + rm -f, port pools': {
        kuryrOverBridge: ratio('kuryr pools run -d + rm -f', 'bridge run -d + rm -f'),
        floorRatio: r2((med('bridge run -d + rm -f') + med('floor: port delete')) / med('bridge run -d + rm -f')),
      },
      // Each operation alone, with and without pools, against the bridge driver and the null remote driver.
      'network create': { kuryrOverBridge: ratio('kuryr network create', 'bridge network create'), floorRatio: r2((med('bridge network create') + med('floor: network + subnet create')) / med('bridge network create')) },
      'network rm': { kuryrOverBridge: ratio('kuryr network rm', 'bridge network rm'), floorRatio: r2((med('bridge network rm') + med('floor: network delete')) / med('bridge network rm')) },
      'rm -f': { kuryrOverBridge: ratio('kuryr rm -f', 'bridge rm -f'), floorRatio: r2((med('bridge rm -f') + med('floor: port delete')) / med('bridge rm -f')), overNull: ratio('kuryr rm -f', 'null remote driver rm -f') },
      'network create, port pools': { kuryrOverBridge: ratio('kuryr pools network create', 'bridge network create'), floorRatio: r2((med('bridge network create') + med('floor: network + subnet create')) / med('bridge network create')) },
      'network rm, port pools': { kuryrOverBridge: ratio('kuryr pools network rm', 'bridge network rm'), floorRatio: r2((med('bridge network rm') + med('floor: network delete')) / med('bridge network rm')) },
      // With pools a released port goes back to the pool after the reply: the floor is the null driver's.
      'rm -f, port pools': { kuryrOverBridge: ratio('kuryr pools rm -f', 'bridge rm -f'), floorRatio: ratio('null remote driver rm -f', 'bridge rm -f'), overNull: ratio('kuryr pools rm -f', 'null remote driver rm -f') },
      // Ports deleted after the reply: Docker waits for no Neutron call on removal, the floor is the null driver's.
      'rm -f, delete after reply': {
        kuryrOverBridge: ratio('kuryr delete after reply rm -f', 'bridge rm -f'),
        floorRatio: ratio('null remote driver rm -f', 'bridge rm -f'),
        overNull: ratio('kuryr delete after reply rm -f', 'null remote driver rm -f'),
      },
    },
    failures,
  };
}
