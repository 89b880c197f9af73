/**
 * What Docker after 20.10 sends a remote driver (Docker 28's GwAllocCheck,
 * Docker 29's RequestAddress and RequestPool options, its gateway-role
 * driven ProgramExternalConnectivity), driven through the plugin protocol.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { buildDriver, dockerId, dockerMac } from '../harness.js';

/** GwAllocCheck's Options: what CreateNetwork will get (Docker 28). */
const docker28Options = (generic: Record<string, string>, enableIpv6 = false) => ({
  'com.docker.network.enable_ipv4': true,
  'com.docker.network.enable_ipv6': enableIpv6,
  'com.docker.network.generic': generic,
});

/** A user's Neutron network with an IPv4 subnet without gateway and an IPv6 one with. */
async function userNetwork(neutron: FakeNeutron) {
  const net = await neutron.create('networks', { name: 'provider' });
  const v4 = await neutron.create('subnets', { network_id: net.id, name: 'nogw-v4', cidr: '10.160.0.0/24', ip_version: 4, gateway_ip: null });
  const v6 = await neutron.create('subnets', { network_id: net.id, name: 'gw-v6', cidr: 'fd00:160::/64', ip_version: 6, gateway_ip: 'fd00:160::1' });
  return { net, v4, v6 };
}

describe('Docker 28: GwAllocCheck', () => {
  it('a network kuryr makes the subnets of keeps both gateways (the first host without --gateway)', async () => {
    const d = buildDriver();
    assert.equal((await d.ok('NetworkDriver.GetCapabilities')).GwAllocChecker, true);
    assert.deepEqual(await d.ok('NetworkDriver.GwAllocCheck', { Options: docker28Options({}) }), { SkipIPv4: false, SkipIPv6: false });
    // Docker then reserves the gateway as 20.10 did.
    const net = await d.createNetwork('10.161.0.0/24', undefined);
    assert.equal(net.gateway, '10.161.0.1/24');
    assert.equal(d.neutron.subnets[0]?.gateway_ip, '10.161.0.1');
  });

  it('an existing network whose subnet is chosen by --subnet only: not known yet, the gateway is reserved', async () => {
    const d = buildDriver();
    const { net } = await userNetwork(d.neutron);
    const res = await d.ok('NetworkDriver.GwAllocCheck', { Options: docker28Options({ 'neutron.net.uuid': net.id }) });
    assert.deepEqual(res, { SkipIPv4: false, SkipIPv6: false });
  });

  it('a named subnet without gateway: no gateway is reserved, CreateNetwork gets none, Join answers none', async () => {
    const d = buildDriver();
    const { net, v4, v6 } = await userNetwork(d.neutron);
    const generic = { 'neutron.net.uuid': net.id, 'neutron.subnet.name': v4.name, 'neutron.subnet.v6.uuid': v6.id };
    assert.deepEqual(await d.ok('NetworkDriver.GwAllocCheck', { Options: docker28Options(generic, true) }), { SkipIPv4: true, SkipIPv6: false });
    assert.deepEqual(
      await d.ok('NetworkDriver.GwAllocCheck', { Options: docker28Options({ 'neutron.subnet.v6.name': 'gw-v6', 'neutron.subnet.uuid': v4.id }, true) }),
      { SkipIPv4: true, SkipIPv6: false },
    );

    // Docker 28 with SkipIPv4: RequestPool, no gateway RequestAddress, CreateNetwork without Gateway.
    const networkId = dockerId();
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.160.0.0/24', SubPool: '', Options: { 'neutron.subnet.uuid': v4.id }, V6: false });
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { ...docker28Options({ 'neutron.net.uuid': net.id, 'neutron.subnet.uuid': v4.id }) },
      IPv4Data: [{ AddressSpace: 'x', Pool: pool.Pool }],
      IPv6Data: [],
    });
    const handle = { networkId, poolId: String(pool.PoolID) };
    const ep = await d.attach(handle);
    assert.match(ep.address, /^10\.160\.0\.\d+\/24$/);
    assert.equal(ep.join.Gateway, '');
    assert.equal(ep.join.DisableGatewayService, true);
    await d.detach(handle, ep);
    await d.ok('IpamDriver.ReleasePool', { PoolID: pool.PoolID }); // no gateway to release
    await d.ok('NetworkDriver.DeleteNetwork', { NetworkID: networkId });
    const kept = await d.neutron.show('subnets', v4.id);
    assert.equal(kept.gateway_ip, null, "the user's subnet is untouched");
    assert.equal(d.neutron.networks.length, 1);
    assert.equal(d.neutron.ports.length, 0);
  });

  it('a named subnet with a gateway keeps it reserved; --gateway on a subnet without one is still refused', async () => {
    const d = buildDriver();
    const { v4, v6 } = await userNetwork(d.neutron);
    assert.deepEqual(await d.ok('NetworkDriver.GwAllocCheck', { Options: docker28Options({ 'neutron.subnet.v6.uuid': v6.id }, true) }), {
      SkipIPv4: false,
      SkipIPv6: false,
    });
    // With --gateway Docker asks even when told to skip: the answer is the one 20.10 got.
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.160.0.0/24', SubPool: '', Options: { 'neutron.subnet.uuid': v4.id }, V6: false });
    const gw = await d.call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '10.160.0.1', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    assert.equal(gw.status, 409);
    assert.match(String(gw.json.Err), /has no gateway, but --gateway 10\.160\.0\.1 was requested/);
  });

  it('answers bad options as CreateNetwork would, before anything is allocated', async () => {
    const d = buildDriver();
    const unknown = await d.call('NetworkDriver.GwAllocCheck', { Options: docker28Options({ 'neutron.subnet.nmae': 'x' }) });
    assert.equal(unknown.status, 400);
    assert.match(String(unknown.json.Err), /unknown option -o neutron\.subnet\.nmae=x/);
    const missing = await d.call('NetworkDriver.GwAllocCheck', { Options: docker28Options({ 'neutron.subnet.name': 'nowhere' }) });
    assert.equal(missing.status, 404);
    assert.match(String(missing.json.Err), /option neutron\.subnet\.name=nowhere: no such Neutron subnet/);
    const notMap = await d.call('NetworkDriver.GwAllocCheck', { Options: { 'com.docker.network.generic': 'x' } });
    assert.equal(notMap.status, 400);
    const badBody = await d.call('NetworkDriver.GwAllocCheck', { Options: 'x' });
    assert.equal(badBody.status, 400);
    assert.match(String(badBody.json.Err), /body\/Options must be object,null/);
    assert.deepEqual(await d.ok('NetworkDriver.GwAllocCheck', {}), { SkipIPv4: false, SkipIPv6: false }, 'no options at all');
    assert.equal(d.neutron.pools.length + d.neutron.networks.length, 0);
  });
});

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const ENDPOINT_NAME = 'com.docker.network.endpoint.name';
const EXPOSED = 'com.docker.network.endpoint.exposedports';

/** One container start as Docker 29 sends it, with or without the endpoint's name; what Neutron holds after. */
async function footprint(withName: boolean, portPool: boolean) {
  const d = buildDriver(undefined, portPool ? { portPool: { min: 3, batch: 4, max: 0 } } : {});
  const net = await d.createNetwork('10.170.0.0/24', '10.170.0.1');
  if (portPool) await d.detach(net, await d.attach(net)); // fills the pool: the next address is a pool port's
  await d.idle();
  const mac = portPool ? '' : '02:42:0a:aa:00:05';
  const options = { ...(mac ? { 'com.docker.network.endpoint.macaddress': mac } : {}), ...(withName ? { [ENDPOINT_NAME]: 'web' } : {}) };
  const before = d.neutron.calls.length;
  const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: portPool ? '' : '10.170.0.5', Options: Object.keys(options).length ? options : null });
  const requestAddressCalls = d.neutron.calls.length - before;
  const endpointId = 'e'.repeat(64);
  const created = await d.ok('NetworkDriver.CreateEndpoint', {
    NetworkID: net.networkId,
    EndpointID: endpointId,
    Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac },
    Options: {},
  });
  const join = await d.ok('NetworkDriver.Join', { NetworkID: net.networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/1', Options: {} });
  await d.idle();
  const normal = (v: unknown) => JSON.stringify(v).replace(UUID, '<uuid>').replace(/fa:16:3e(:[0-9a-f]{2}){3}/g, '<mac>').replace(/t_c[0-9a-f-]{11}/g, 't_c<port>');
  return { replies: normal([addr, created, join]), ports: normal(d.neutron.ports), calls: normal(d.neutron.calls), requestAddressCalls };
}

/** RequestAddress + CreateEndpoint + Join of one container on one network (exposing tcp/80), no ProgramExternalConnectivity. */
async function join29(d: ReturnType<typeof buildDriver>, net: { networkId: string; poolId: string }) {
  const endpointId = dockerId();
  const mac = dockerMac();
  const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac, [ENDPOINT_NAME]: 'web' } });
  const exposed = { [EXPOSED]: [{ Proto: 6, Port: 80 }], 'com.docker.network.portmap': [] };
  await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: endpointId, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac }, Options: exposed });
  await d.ok('NetworkDriver.Join', { NetworkID: net.networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/2', Options: exposed });
  await d.idle();
  return { endpointId, address: String(addr.Address), ids: { NetworkID: net.networkId, EndpointID: endpointId }, exposed };
}

describe('Docker 29', () => {
  it('RequestAddress names the endpoint: accepted, and the Neutron footprint is the one without it', async () => {
    for (const portPool of [false, true]) {
      const without = await footprint(false, portPool);
      const named = await footprint(true, portPool);
      assert.equal(named.ports, without.ports, `ports${portPool ? ' (port pools)' : ''}`);
      assert.equal(named.calls, without.calls, 'the same Neutron calls');
      assert.equal(named.replies, without.replies);
      assert.doesNotMatch(named.ports, /web/);
      if (portPool) assert.equal(named.requestAddressCalls, 0, 'a pool port (no Neutron call), as with Options null');
    }
  });

  it('--expose follows the gateway role: Program and Revoke only when it changes, DeleteEndpoint cleans up without Revoke', async () => {
    const d = buildDriver();
    const exposedGroups = () => [...d.neutron.tables['security-groups'].values()].filter((g) => g.name.endsWith('-exposed_ports'));
    const a = await d.createNetwork('10.171.0.0/24', '10.171.0.1');
    const b = await d.createNetwork('10.172.0.0/24', '10.172.0.1');

    // A container on a non-gateway endpoint only (its gateway is elsewhere): no Program, nothing to open or close.
    const quiet = await join29(d, b);
    await d.ok('NetworkDriver.Leave', quiet.ids);
    await d.ok('NetworkDriver.DeleteEndpoint', quiet.ids);
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: b.poolId, Address: quiet.address.split('/')[0] });
    assert.equal(exposedGroups().length, 0);

    // Gateway endpoint on A; a second endpoint on B that is not the gateway.
    const onA = await join29(d, a);
    await d.ok('NetworkDriver.ProgramExternalConnectivity', { ...onA.ids, Options: onA.exposed });
    const onB = await join29(d, b);
    const portOf = (address: string) => d.neutron.ports.find((p) => p.fixed_ips.some((f) => f.ip_address === address.split('/')[0]))!;
    assert.equal(exposedGroups().length, 1);
    assert.equal(exposedGroups()[0]!.name, `${portOf(onA.address).id}-exposed_ports`);
    assert.equal(portOf(onB.address).security_groups!.length, 1, 'B: only its network default group');

    // The gateway role moves to B (--gw-priority, or A disconnected): Revoke A, Program B.
    await d.ok('NetworkDriver.RevokeExternalConnectivity', onA.ids);
    await d.ok('NetworkDriver.ProgramExternalConnectivity', { ...onB.ids, Options: onB.exposed });
    assert.deepEqual(exposedGroups().map((g) => g.name), [`${portOf(onB.address).id}-exposed_ports`]);
    assert.equal(portOf(onA.address).security_groups!.length, 1, 'A: back to its default group');
    // A change of B's role (IPv4+IPv6 → IPv4 only) programs B again: still one group.
    await d.ok('NetworkDriver.ProgramExternalConnectivity', { ...onB.ids, Options: onB.exposed });
    assert.equal(exposedGroups().length, 1);

    // The container stops after a dockerd restart: the proxy no longer knows B was the gateway and sends no Revoke.
    for (const [net, ep] of [
      [a, onA],
      [b, onB],
    ] as const) {
      await d.ok('NetworkDriver.Leave', ep.ids);
      await d.ok('NetworkDriver.DeleteEndpoint', ep.ids);
      await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: ep.address.split('/')[0] });
    }
    assert.equal(exposedGroups().length, 0);
    assert.equal(d.neutron.ports.length, 0);
  });
});

describe('Docker 29: --subnet 0.0.0.0/24 (any block of that size from the default pools)', () => {
  const requestPool = (d: ReturnType<typeof buildDriver>, pool: string, v6 = false, subPool = '') =>
    d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: pool, SubPool: subPool, Options: {}, V6: v6 });

  it('carves a fresh block of that prefix length from the default pool, as without --subnet', async () => {
    const d = buildDriver();
    const kuryr = await d.neutron.create('subnetpools', { name: 'kuryr', prefixes: ['10.180.0.0/16'], default_prefixlen: 26 });
    const first = await requestPool(d, '0.0.0.0/24');
    assert.equal(first.status, 200);
    assert.equal(first.json.Pool, '10.180.0.0/24');
    assert.equal(first.json.PoolID, `${kuryr.id}/10.180.0.0/24`);
    assert.equal((await requestPool(d, '0.0.0.0/24')).json.Pool, '10.180.1.0/24', 'a fresh block on each request');
    assert.equal((await requestPool(d, '0.0.0.0/0')).json.Pool, '10.180.2.0/26', '/0: the default size');
    assert.equal((await requestPool(d, '0.0.0.0/25')).json.Pool, '10.180.2.128/25');
    assert.equal(d.neutron.pools.length, 1, 'no kuryrPool-0.0.0.0/24');

    // The whole network, as Docker 29 creates it: the gateway, the subnet in the default pool, a container.
    const networkId = dockerId();
    const gw = await d.ok('IpamDriver.RequestAddress', { PoolID: first.json.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    assert.equal(gw.Address, '10.180.0.1/24');
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: docker28Options({}),
      IPv4Data: [{ AddressSpace: 'x', Pool: first.json.Pool, Gateway: gw.Address }],
      IPv6Data: [],
    });
    const subnet = d.neutron.subnets.find((s) => s.cidr === '10.180.0.0/24');
    assert.equal(subnet?.subnetpool_id, kuryr.id);
    const net = { networkId, poolId: String(first.json.PoolID), gateway: String(gw.Address) };
    const ep = await d.attach(net);
    assert.match(ep.address, /^10\.180\.0\.\d+\/24$/);
    await d.detach(net, ep);
    await d.removeNetwork(net);
    assert.deepEqual(d.neutron.pools.map((p) => p.id), [kuryr.id], 'the default pool is kept');
    assert.equal(d.neutron.subnets.length, 0);
  });

  it('::/96 takes a block of the IPv6 default pool', async () => {
    const d = buildDriver();
    const kuryr6 = await d.neutron.create('subnetpools', { name: 'kuryr6', prefixes: ['fd00:180::/64'], default_prefixlen: 80, ip_version: 6 });
    const res = await requestPool(d, '::/96', true);
    assert.equal(res.status, 200);
    assert.equal(res.json.Pool, 'fd00:180::/96');
    assert.equal(res.json.PoolID, `${kuryr6.id}/fd00:180::/96`);
  });

  it('refuses what Docker would: --ip-range with it, the other family, a block larger than the pool', async () => {
    const d = buildDriver();
    await d.neutron.create('subnetpools', { name: 'kuryr', prefixes: ['10.181.0.0/16'], default_prefixlen: 24 });
    const range = await requestPool(d, '0.0.0.0/24', false, '10.181.0.0/25');
    assert.equal(range.status, 400);
    assert.match(String(range.json.Error), /SubPool \(--ip-range\) given without Pool/);
    const family = await requestPool(d, '0.0.0.0/24', true);
    assert.equal(family.status, 400);
    assert.match(String(family.json.Error), /is IPv4 but the request is for an IPv6 pool/);
    const large = await requestPool(d, '0.0.0.0/8');
    assert.equal(large.status, 409);
    assert.match(String(large.json.Error), /has no free \/8 left/);
    assert.equal(d.neutron.pools.length, 1);
  });
});
