/**
 * `--ip-range` against the real Neutron, through the Docker CLI: by default
 * the footprint of Kuryr-libnetwork (the range is the Docker pool, the subnet
 * pool `kuryrPool-<range>` and the Neutron subnet, and an existing subnet with
 * the range's CIDR is reused); with `[DEFAULT] ip_range_as_allocation_pool =
 * true` (a second daemon) Docker's own meaning (the subnet is `--subnet`, the
 * range its allocation pool).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, dockerFails, neutron, networkId, portsOfNetwork, taggedWith } from './support.js';

const containers: string[] = [];
const networks: string[] = [];
const daemons: TestDaemon[] = [];
const neutronCleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  await cleanupDocker(containers, networks);
  for (const d of daemons) await d.stop();
  for (const undo of neutronCleanup.reverse()) await undo().catch(() => undefined);
});

const name = (s: string): string => `${RUN_PREFIX}-${s}`;

async function create(driver: string, netName: string, ...args: string[]): Promise<string> {
  networks.push(netName);
  await docker('network', 'create', '-d', driver, '--ipam-driver', driver, ...args, netName);
  return networkId(netName);
}

async function start(netName: string, label: string): Promise<{ name: string; ip: string; prefixLen: string }> {
  const c = name(label);
  containers.push(c);
  await docker('run', '-d', '--name', c, '--net', netName, IMAGE, 'sleep', '600');
  const prefixLen = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${netName}").IPPrefixLen}}`, c);
  return { name: c, ip: await containerIp(c, netName), prefixLen };
}

describe('--ip-range on real Neutron', { timeout: 300_000 }, () => {
  it("default: Kuryr's footprint — kuryrPool-<range>, the subnet is the range, containers get its prefix", async () => {
    const n = name('ipr');
    const id = await create('kuryr', n, '--subnet', '10.160.0.0/16', '--ip-range', '10.160.5.0/24', '--gateway', '10.160.5.1');
    assert.equal(await docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).IPRange}}', n), '10.160.0.0/16 10.160.5.0/24');
    const [net] = await taggedWith('networks', id);
    assert.ok(net, 'the Neutron network');
    const pools = await neutron.list('subnetpools', { name: 'kuryrPool-10.160.5.0/24' });
    assert.equal(pools.length, 1, 'kuryrPool-<range>');
    assert.deepEqual(pools[0]!.prefixes, ['10.160.5.0/24']);
    assert.equal(Number(pools[0]!.default_prefixlen), 24);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.160.0.0/16' }), [], 'no pool for --subnet');
    const subnets = await neutron.list('subnets', { network_id: net!.id });
    assert.equal(subnets.length, 1);
    const [subnet] = subnets;
    assert.equal(subnet!.cidr, '10.160.5.0/24');
    assert.equal(subnet!.name, 'kuryr-subnet-10.160.5.0/24');
    assert.equal(subnet!.gateway_ip, '10.160.5.1');
    assert.equal(subnet!.subnetpool_id, pools[0]!.id);
    assert.deepEqual(subnet!.tags, [pools[0]!.id]);
    assert.deepEqual((subnet as unknown as { allocation_pools: unknown }).allocation_pools, [{ start: '10.160.5.2', end: '10.160.5.254' }], "Neutron's own, no range applied");

    const a = await start(n, 'ipra');
    const b = await start(n, 'iprb');
    for (const c of [a, b]) {
      assert.match(c.ip, /^10\.160\.5\.\d+$/);
      assert.equal(c.prefixLen, '24', "the range's prefix, as under Kuryr");
    }
    assert.match(await docker('exec', a.name, 'ping', '-c', '2', '-W', '2', b.ip), /2 packets received/);
    await docker('rm', '-f', a.name, b.name);
    await docker('network', 'rm', n);
    assert.deepEqual(await taggedWith('networks', id), []);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.160.5.0/24' }), []);
  });

  it('default: a --gateway outside the range is refused, and nothing is left in Neutron', async () => {
    const n = name('iprgw');
    const err = await dockerFails('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.161.0.0/16', '--ip-range', '10.161.6.0/24', '--gateway', '10.161.0.1', n);
    assert.match(err, /--gateway 10\.161\.0\.1 is outside pool 10\.161\.6\.0\/24.*ip_range_as_allocation_pool = true/);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.161.6.0/24' }), [], 'Docker released the pool');
    assert.deepEqual(await neutron.list('subnets', { cidr: '10.161.6.0/24' }), []);
  });

  it('default: an existing /24 is found by the range with a /16 --subnet (-o neutron.net.uuid)', async () => {
    const userNet = await neutron.create('networks', { name: name('iprnet') });
    neutronCleanup.push(() => neutron.delete('networks', userNet.id));
    const existing = await neutron.create('subnets', { network_id: userNet.id, cidr: '10.162.0.0/24', ip_version: 4, gateway_ip: '10.162.0.1', name: name('iprsub') });
    neutronCleanup.push(() => neutron.delete('subnets', existing.id));
    const n = name('iprex');
    const id = await create('kuryr', n, '--subnet', '10.162.0.0/16', '--ip-range', '10.162.0.0/24', '--gateway', '10.162.0.1', '-o', `neutron.net.uuid=${userNet.id}`);
    const subnets = await neutron.list('subnets', { network_id: userNet.id });
    assert.deepEqual(subnets.map((s) => s.id), [existing.id], 'no new subnet');
    const [pool] = await neutron.list('subnetpools', { name: 'kuryrPool-10.162.0.0/24' });
    assert.ok(pool, 'kuryrPool-<range>');
    assert.deepEqual(subnets[0]!.tags, [pool.id], 'the existing subnet carries the PoolID');
    assert.ok((await neutron.show('networks', userNet.id)).tags.includes(`kuryr.net.existing:${id.slice(0, 12)}`));

    const a = await start(n, 'iprexa');
    const b = await start(n, 'iprexb');
    assert.match(a.ip, /^10\.162\.0\.\d+$/);
    assert.equal(a.prefixLen, '24');
    const ports = (await portsOfNetwork(userNet.id)).filter((p) => p.device_owner === 'compute:kuryr');
    assert.equal(ports.length, 2);
    assert.ok(ports.every((p) => p.fixed_ips.every((f) => f.subnet_id === existing.id)), 'ports on the existing subnet');
    assert.match(await docker('exec', a.name, 'ping', '-c', '2', '-W', '2', b.ip), /2 packets received/);
    await docker('rm', '-f', a.name, b.name);
    await docker('network', 'rm', n);
    assert.deepEqual((await neutron.show('subnets', existing.id)).tags, [], 'the existing subnet is kept, untagged');
    assert.deepEqual((await neutron.show('networks', userNet.id)).tags, [], 'the user network is kept, untagged');
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.162.0.0/24' }), []);
    assert.deepEqual(await portsOfNetwork(userNet.id).then((ps) => ps.filter((p) => p.device_owner === 'compute:kuryr')), []);
  });

  it('[DEFAULT] ip_range_as_allocation_pool = true: the subnet is --subnet, the range its allocation pool', async () => {
    const d = await startDaemon(`${RUN_PREFIX}ipr`, 'ip_range_as_allocation_pool = true');
    daemons.push(d);
    const n = name('iprap');
    const id = await create(d.name, n, '--subnet', '10.163.0.0/24', '--ip-range', '10.163.0.128/25', '--gateway', '10.163.0.1');
    const [net] = await taggedWith('networks', id);
    const [subnet, ...more] = await neutron.list('subnets', { network_id: net!.id });
    assert.equal(more.length, 0);
    assert.equal(subnet!.cidr, '10.163.0.0/24');
    assert.equal(subnet!.gateway_ip, '10.163.0.1', 'a gateway outside the range is fine here');
    assert.deepEqual((subnet as unknown as { allocation_pools: unknown }).allocation_pools, [{ start: '10.163.0.128', end: '10.163.0.254' }]);
    const [pool] = await neutron.list('subnetpools', { name: 'kuryrPool-10.163.0.0/24' });
    assert.equal(subnet!.subnetpool_id, pool?.id);
    const a = await start(n, 'iprapa');
    assert.ok(Number(a.ip.split('.')[3]) >= 128, `${a.ip} is inside --ip-range`);
    assert.equal(a.prefixLen, '24', "--subnet's prefix");
    await docker('rm', '-f', a.name);
    await docker('network', 'rm', n);
    assert.deepEqual(await taggedWith('networks', id), []);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.163.0.0/24' }), []);
  });
});
