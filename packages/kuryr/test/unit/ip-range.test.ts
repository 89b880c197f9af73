import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDriver, dockerId, dockerMac } from '../harness.js';

type Driver = ReturnType<typeof buildDriver>;
const GATEWAY = { RequestAddressType: 'com.docker.network.gateway' };

interface Family {
  subnet: string;
  range: string;
  /** --gateway ('' = none given) */
  gateway: string;
  aux?: Record<string, string>;
}

/** `docker network create --subnet S --ip-range R [--gateway G] [--aux-address …] [--ipv6 --subnet S6 --ip-range R6 …]`, as Docker sends it. */
async function createWithRange(d: Driver, v4: Family | undefined, v6?: Family, generic: Record<string, string> = {}, ipamOpts: Record<string, string> = {}) {
  const networkId = dockerId();
  const pools: Array<{ poolId: string; pool: string; gateway: string; aux: string[] }> = [];
  const data: Array<Record<string, unknown>> = [];
  for (const [f, isV6] of [
    [v4, false],
    [v6, true],
  ] as const) {
    if (!f) continue;
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: f.subnet, SubPool: f.range, Options: ipamOpts, V6: isV6 });
    const gw = await d.ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: f.gateway, Options: GATEWAY });
    const aux: Record<string, string> = {};
    for (const [k, ip] of Object.entries(f.aux ?? {})) aux[k] = String((await d.ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: ip, Options: null })).Address);
    pools.push({ poolId: String(pool.PoolID), pool: String(pool.Pool), gateway: String(gw.Address), aux: Object.values(aux) });
    data.push({ AddressSpace: 'x', Pool: pool.Pool, Gateway: gw.Address, ...(f.aux ? { AuxAddresses: aux } : {}) });
  }
  await d.ok('NetworkDriver.CreateNetwork', {
    NetworkID: networkId,
    Options: { 'com.docker.network.enable_ipv6': v6 !== undefined, 'com.docker.network.generic': generic },
    IPv4Data: v4 ? data.slice(0, 1) : [],
    IPv6Data: v6 ? data.slice(v4 ? 1 : 0) : [],
  });
  return { networkId, pools };
}

/** `docker run` on it: one address per pool, then CreateEndpoint and Join. */
async function run(d: Driver, net: Awaited<ReturnType<typeof createWithRange>>) {
  const endpointId = dockerId();
  const mac = dockerMac();
  const addresses: string[] = [];
  for (const p of net.pools) {
    addresses.push(String((await d.ok('IpamDriver.RequestAddress', { PoolID: p.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } })).Address));
  }
  const v6 = (a: string) => a.includes(':');
  await d.ok('NetworkDriver.CreateEndpoint', {
    NetworkID: net.networkId,
    EndpointID: endpointId,
    Interface: { Address: addresses.find((a) => !v6(a)) ?? '', AddressIPv6: addresses.find(v6) ?? '', MacAddress: mac },
  });
  const join = await d.ok('NetworkDriver.Join', { NetworkID: net.networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/0123456789ab' });
  await d.idle();
  return { endpointId, addresses, join };
}

async function stop(d: Driver, net: Awaited<ReturnType<typeof createWithRange>>, ep: Awaited<ReturnType<typeof run>>) {
  await d.ok('NetworkDriver.Leave', { NetworkID: net.networkId, EndpointID: ep.endpointId });
  await d.ok('NetworkDriver.DeleteEndpoint', { NetworkID: net.networkId, EndpointID: ep.endpointId });
  for (const [i, p] of net.pools.entries()) await d.ok('IpamDriver.ReleaseAddress', { PoolID: p.poolId, Address: ep.addresses[i]!.split('/')[0] });
}

/** `docker network rm`. */
async function remove(d: Driver, net: Awaited<ReturnType<typeof createWithRange>>) {
  await d.ok('NetworkDriver.DeleteNetwork', { NetworkID: net.networkId });
  for (const p of net.pools) {
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: p.poolId, Address: p.gateway.split('/')[0] });
    for (const a of p.aux) await d.ok('IpamDriver.ReleaseAddress', { PoolID: p.poolId, Address: a.split('/')[0] });
    await d.ok('IpamDriver.ReleasePool', { PoolID: p.poolId });
  }
}

const allocationPools = (s: unknown) => (s as { allocation_pools?: unknown }).allocation_pools;

describe('--ip-range: Kuryr-libnetwork footprint (the default)', () => {
  it('IPv4: the range is the Docker pool, kuryrPool-<range> and the subnet; containers get its prefix', async () => {
    const d = buildDriver();
    const net = await createWithRange(d, { subnet: '10.50.0.0/16', range: '10.50.1.0/24', gateway: '10.50.1.1' });
    assert.equal(net.pools[0]!.pool, '10.50.1.0/24', 'RequestPool answers Pool = the range');
    assert.equal(net.pools[0]!.gateway, '10.50.1.1/24');
    const [pool] = d.neutron.pools;
    assert.equal(pool!.id, net.pools[0]!.poolId);
    assert.equal(pool!.name, 'kuryrPool-10.50.1.0/24');
    assert.deepEqual(pool!.prefixes, ['10.50.1.0/24']);
    assert.equal(pool!.default_prefixlen, 24);
    assert.equal((pool as unknown as Record<string, unknown>).min_prefixlen, undefined, "Neutron's default, as Kuryr");
    const [subnet] = d.neutron.subnets;
    assert.equal(d.neutron.subnets.length, 1);
    assert.equal(subnet!.name, 'kuryr-subnet-10.50.1.0/24');
    assert.equal(subnet!.cidr, '10.50.1.0/24');
    assert.equal(subnet!.gateway_ip, '10.50.1.1');
    assert.equal(subnet!.subnetpool_id, pool!.id);
    assert.deepEqual(subnet!.tags, [pool!.id]);
    assert.equal(allocationPools(subnet), undefined, 'no allocation pools: the subnet is the range');

    const ep = await run(d, net);
    assert.match(ep.addresses[0]!, /^10\.50\.1\.\d+\/24$/);
    assert.equal(ep.join.Gateway, '10.50.1.1');
    await stop(d, net, ep);
    d.restart();
    await remove(d, net);
    assert.equal(d.neutron.networks.length + d.neutron.subnets.length + d.neutron.pools.length + d.neutron.ports.length, 0);
  });

  it('no --gateway: the first host of the range (Docker would pick it from the range too)', async () => {
    const d = buildDriver();
    const net = await createWithRange(d, { subnet: '10.51.0.0/16', range: '10.51.4.0/22', gateway: '' });
    assert.equal(net.pools[0]!.gateway, '10.51.4.1/22');
    assert.equal(d.neutron.subnets[0]!.gateway_ip, '10.51.4.1');
  });

  it('a --gateway of --subnet outside the range is refused before anything is made (Kuryr: no container could start)', async () => {
    const d = buildDriver();
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.52.0.0/16', SubPool: '10.52.1.0/24', Options: {}, V6: false });
    const gw = await d.call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '10.52.0.1', Options: GATEWAY });
    assert.equal(gw.status, 400);
    assert.match(String(gw.json.Error), /--gateway 10\.52\.0\.1 is outside pool 10\.52\.1\.0\/24.*ip_range_as_allocation_pool = true/);
    // Docker gives the pool back after the failure.
    await d.ok('IpamDriver.ReleasePool', { PoolID: pool.PoolID });
    assert.equal(d.neutron.pools.length + d.neutron.networks.length + d.neutron.subnets.length, 0);
  });

  it('--aux-address: outside the range nothing to reserve; inside it, kept out of the allocation pools', async () => {
    const d = buildDriver();
    const net = await createWithRange(d, { subnet: '10.53.0.0/16', range: '10.53.1.0/24', gateway: '10.53.1.1', aux: { router: '10.53.0.5', printer: '10.53.1.9' } });
    assert.deepEqual(net.pools[0]!.aux.sort(), ['10.53.0.5/24', '10.53.1.9/24']);
    assert.deepEqual(allocationPools(d.neutron.subnets[0]), [
      { start: '10.53.1.2', end: '10.53.1.8' },
      { start: '10.53.1.10', end: '10.53.1.254' },
    ]);
    assert.equal(d.neutron.ports.length, 0, 'no port for either');
    await remove(d, net);
    assert.equal(d.neutron.networks.length + d.neutron.subnets.length + d.neutron.pools.length, 0);
  });

  it('IPv6: the range is the subnet; a range shorter than /64 gets the min_prefixlen Neutron needs', async () => {
    const d = buildDriver();
    const net = await createWithRange(d, undefined, { subnet: 'fd00:54::/48', range: 'fd00:54:0:1::/64', gateway: 'fd00:54:0:1::1' });
    assert.equal(net.pools[0]!.pool, 'fd00:54:0:1::/64');
    assert.equal(net.pools[0]!.gateway, 'fd00:54:0:1::1/64');
    assert.equal(d.neutron.pools[0]!.name, 'kuryrPool-fd00:54:0:1::/64');
    assert.equal((d.neutron.pools[0] as unknown as Record<string, unknown>).min_prefixlen, undefined);
    assert.equal(d.neutron.subnets[0]!.cidr, 'fd00:54:0:1::/64');
    assert.equal(d.neutron.subnets[0]!.ip_version, 6);

    const wide = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: 'fd00:55::/48', SubPool: 'fd00:55::/56', Options: {}, V6: true });
    assert.equal(wide.Pool, 'fd00:55::/56');
    const widePool = d.neutron.pools.find((p) => p.id === wide.PoolID) as unknown as Record<string, unknown>;
    assert.equal(widePool.min_prefixlen, 56, "Neutron's default IPv6 minimum (/64) would refuse a /56 default prefix");
  });

  it('dual stack: one range per family, each its own subnet; one port with both addresses', async () => {
    const d = buildDriver();
    const net = await createWithRange(
      d,
      { subnet: '10.56.0.0/16', range: '10.56.7.0/24', gateway: '10.56.7.1' },
      { subnet: 'fd00:56::/48', range: 'fd00:56:0:7::/64', gateway: 'fd00:56:0:7::1' },
    );
    assert.deepEqual(net.pools.map((p) => p.pool), ['10.56.7.0/24', 'fd00:56:0:7::/64']);
    assert.deepEqual(d.neutron.subnets.map((s) => s.cidr).sort(), ['10.56.7.0/24', 'fd00:56:0:7::/64']);
    assert.deepEqual(d.neutron.pools.map((p) => p.name).sort(), ['kuryrPool-10.56.7.0/24', 'kuryrPool-fd00:56:0:7::/64']);
    const ep = await run(d, net);
    assert.match(ep.addresses[0]!, /^10\.56\.7\.\d+\/24$/);
    assert.match(ep.addresses[1]!, /^fd00:56:0:7::[0-9a-f]+\/64$/);
    assert.equal(d.neutron.ports.length, 1);
    assert.equal(ep.join.Gateway, '10.56.7.1');
    assert.equal(ep.join.GatewayIPv6, 'fd00:56:0:7::1');
    await stop(d, net, ep);
    await remove(d, net);
    assert.equal(d.neutron.networks.length + d.neutron.subnets.length + d.neutron.pools.length + d.neutron.ports.length, 0);
  });

  it('an existing subnet whose CIDR is the range is reused (--subnet /16 --ip-range /24 -o neutron.net.uuid)', async () => {
    const d = buildDriver();
    const userNet = await d.neutron.create('networks', { name: 'tenant-net' });
    const existing = await d.neutron.create('subnets', { network_id: userNet.id, cidr: '10.57.0.0/24', ip_version: 4, name: 'tenant-subnet', gateway_ip: '10.57.0.1' });
    const net = await createWithRange(d, { subnet: '10.57.0.0/16', range: '10.57.0.0/24', gateway: '10.57.0.1' }, undefined, { 'neutron.net.uuid': userNet.id });
    assert.equal(d.neutron.subnets.length, 1, 'no new subnet');
    const poolId = net.pools[0]!.poolId;
    assert.equal(d.neutron.pools.find((p) => p.id === poolId)?.name, 'kuryrPool-10.57.0.0/24');
    assert.deepEqual(d.neutron.subnets[0]!.tags, [poolId], 'the existing subnet carries the PoolID');
    const ep = await run(d, net);
    assert.match(ep.addresses[0]!, /^10\.57\.0\.\d+\/24$/);
    assert.equal(d.neutron.ports[0]!.fixed_ips[0]!.subnet_id, existing.id);
    await stop(d, net, ep);
    d.restart();
    await remove(d, net);
    assert.deepEqual(
      d.neutron.subnets.map((s) => [s.id, s.tags]),
      [[existing.id, []]],
      'the existing subnet is kept, untagged',
    );
    assert.deepEqual(d.neutron.networks.map((n) => [n.id, n.tags]), [[userNet.id, []]]);
    assert.equal(d.neutron.pools.length, 0);
  });

  it('--ipam-opt neutron.subnet.uuid names the existing subnet by the range CIDR; the pool is tagged with it', async () => {
    const d = buildDriver();
    const userNet = await d.neutron.create('networks', { name: 'tenant-net' });
    const existing = await d.neutron.create('subnets', { network_id: userNet.id, cidr: '10.58.0.0/24', ip_version: 4, gateway_ip: '10.58.0.1' });
    const opts = { 'neutron.net.uuid': userNet.id, 'neutron.subnet.uuid': existing.id };
    const net = await createWithRange(d, { subnet: '10.58.0.0/16', range: '10.58.0.0/24', gateway: '10.58.0.1' }, undefined, opts, { 'neutron.subnet.uuid': existing.id });
    const pool = d.neutron.pools.find((p) => p.id === net.pools[0]!.poolId);
    assert.equal(pool?.name, 'kuryrPool-10.58.0.0/24');
    assert.deepEqual(pool?.tags, [existing.id]);
    assert.equal(d.neutron.subnets.length, 1);
  });
});

describe('--ip-range with [DEFAULT] ip_range_as_allocation_pool = true (Docker\'s meaning)', () => {
  it('the subnet is --subnet and the range its allocation pool', async () => {
    const d = buildDriver(undefined, { settings: { ipRangeAsAllocationPool: true } });
    const net = await createWithRange(d, { subnet: '10.40.0.0/24', range: '10.40.0.128/25', gateway: '10.40.0.1' });
    assert.equal(net.pools[0]!.pool, '10.40.0.0/24');
    assert.equal(d.neutron.pools[0]!.name, 'kuryrPool-10.40.0.0/24');
    assert.equal(d.neutron.subnets[0]!.cidr, '10.40.0.0/24');
    assert.equal(d.neutron.subnets[0]!.gateway_ip, '10.40.0.1', 'a gateway outside the range is fine here');
    assert.deepEqual(allocationPools(d.neutron.subnets[0]), [{ start: '10.40.0.128', end: '10.40.0.254' }]);
    await remove(d, net);
    assert.equal(d.neutron.networks.length + d.neutron.subnets.length + d.neutron.pools.length, 0);
  });

  it('IPv6 too', async () => {
    const d = buildDriver(undefined, { settings: { ipRangeAsAllocationPool: true } });
    const net = await createWithRange(d, undefined, { subnet: 'fd00:41::/64', range: 'fd00:41:0:0:8000::/65', gateway: 'fd00:41::1' });
    assert.equal(net.pools[0]!.pool, 'fd00:41::/64');
    assert.equal(d.neutron.subnets[0]!.cidr, 'fd00:41::/64');
    assert.deepEqual(allocationPools(d.neutron.subnets[0]), [{ start: 'fd00:41:0:0:8000::', end: 'fd00:41::ffff:ffff:ffff:ffff' }]);
  });
});

describe('--ip-range validation (either way)', () => {
  it('a range outside --subnet, or without --subnet, is refused', async () => {
    const d = buildDriver();
    const bad = await d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.41.0.0/24', SubPool: '10.42.0.0/25', Options: {}, V6: false });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.Error), /--ip-range 10\.42\.0\.0\/25 is not inside --subnet 10\.41\.0\.0\/24/);
    const hostBits = await d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.41.0.0/24', SubPool: '10.41.0.5/25', Options: {}, V6: false });
    assert.equal(hostBits.status, 400);
    assert.match(String(hostBits.json.Error), /invalid --ip-range 10\.41\.0\.5\/25: host bits set \(did you mean 10\.41\.0\.0\/25\?\)/);
    const alone = await d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '', SubPool: '10.42.0.0/25', Options: {}, V6: false });
    assert.equal(alone.status, 400);
    assert.equal(d.neutron.pools.length, 0);
  });
});

describe('reusing an existing subnet named by neutron.subnet.* (Zun): the gateway is the subnet\'s', () => {
  async function tenant(d: Driver, cidr: string, gateway: string | null) {
    const net = await d.neutron.create('networks', { name: 'tenant-net' });
    const subnet = await d.neutron.create('subnets', { network_id: net.id, cidr, ip_version: 4, gateway_ip: gateway });
    const opts = { 'neutron.net.uuid': net.id, 'neutron.subnet.uuid': subnet.id };
    return { net, subnet, opts, ipamOpts: { 'neutron.subnet.uuid': subnet.id } };
  }

  it('a subnet without a gateway and no --gateway: the placeholder 0.0.0.0/0, as Kuryr (bug 1881910); no gateway in Join', async () => {
    const d = buildDriver();
    const t = await tenant(d, '10.59.0.0/24', null);
    const net = await d.createNetwork('10.59.0.0/24', undefined, t.opts, {}, t.ipamOpts);
    assert.equal(net.gateway, '0.0.0.0/0');
    assert.equal(d.neutron.subnets.length, 1);
    assert.equal(d.neutron.subnets[0]!.gateway_ip, null);
    const ep = await d.attach(net);
    assert.match(ep.address, /^10\.59\.0\.\d+\/24$/);
    assert.ok(!ep.join.Gateway, 'no gateway');
    await d.detach(net, ep);
    await d.removeNetwork(net);
    assert.deepEqual(d.neutron.subnets.map((s) => s.tags), [[]]);
  });

  it("a subnet whose gateway is not the first host, no --gateway: that gateway (with --ip-range over a wider --subnet too)", async () => {
    const d = buildDriver();
    const t = await tenant(d, '10.60.0.0/24', '10.60.0.254');
    const networkId = dockerId();
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.60.0.0/16', SubPool: '10.60.0.0/24', Options: t.ipamOpts, V6: false });
    const gw = await d.ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: GATEWAY });
    assert.equal(gw.Address, '10.60.0.254/24');
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.generic': t.opts },
      IPv4Data: [{ AddressSpace: 'x', Pool: pool.Pool, Gateway: gw.Address }],
      IPv6Data: [],
    });
    assert.deepEqual(d.neutron.subnets[0]!.tags, [pool.PoolID]);
  });

  it('a --gateway that differs from the subnet\'s is refused at once, before anything is tagged', async () => {
    const d = buildDriver();
    const t = await tenant(d, '10.61.0.0/24', '10.61.0.1');
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.61.0.0/24', SubPool: '', Options: t.ipamOpts, V6: false });
    const gw = await d.call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '10.61.0.9', Options: GATEWAY });
    assert.equal(gw.status, 409);
    assert.match(String(gw.json.Error), /requested gateway 10\.61\.0\.9 does not match gateway 10\.61\.0\.1/);
    await d.ok('IpamDriver.ReleasePool', { PoolID: pool.PoolID });
    assert.deepEqual(d.neutron.subnets[0]!.tags, []);
    assert.equal(d.neutron.pools.length, 0);
  });
});
