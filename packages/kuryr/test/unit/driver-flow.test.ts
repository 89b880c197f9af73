import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDriver } from '../harness.js';
import { idTags } from '../../src/domain/naming.js';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';

describe('Docker → driver → Neutron (fakes): the skeleton flow', () => {
  it('creates a tagged network, subnet and pool, binds a port, and leaves nothing behind', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.10.0.0/24', '10.10.0.1');
    assert.equal(net.gateway, '10.10.0.1/24');

    const [network] = d.neutron.networks;
    assert.ok(network);
    assert.equal(network.name, `kuryr-net-${net.networkId.slice(0, 8)}`);
    assert.deepEqual(network.tags, [`kuryr.net.uuid.lh:${net.networkId.slice(0, 32)}`, `kuryr.net.uuid.uh:${net.networkId.slice(32)}`]);
    const [pool] = d.neutron.pools;
    assert.equal(pool?.name, 'kuryrPool-10.10.0.0/24');
    assert.equal(pool?.id, net.poolId);
    const [subnet] = d.neutron.subnets;
    assert.equal(subnet?.name, 'kuryr-subnet-10.10.0.0/24');
    assert.equal(subnet?.gateway_ip, '10.10.0.1');
    assert.equal(subnet?.subnetpool_id, net.poolId);
    assert.deepEqual(subnet?.tags, [net.poolId]);

    const ep = await d.attach(net);
    assert.match(ep.address, /^10\.10\.0\.\d+\/24$/);
    assert.deepEqual(ep.createEndpoint, {}, 'Docker sent the MAC: nothing may be echoed');
    const [port] = d.neutron.ports;
    assert.ok(port);
    assert.equal(port.mac_address, ep.mac);
    assert.equal(port['binding:host_id'], 'testhost');
    assert.equal(port.device_owner, 'compute:kuryr');
    assert.equal(port.device_id, ep.endpointId);
    assert.deepEqual(new Set(port.tags), new Set(['compute:kuryr', `kuryr.net.uuid.lh:${ep.endpointId.slice(0, 32)}`, `kuryr.net.uuid.uh:${ep.endpointId.slice(32)}`]));
    const tap = `tap${port.id.slice(0, 11)}`;
    assert.deepEqual(d.ovs.ports.get(tap)?.externalIds, {
      'iface-id': port.id,
      'attached-mac': ep.mac,
      'iface-status': 'active',
      'vm-uuid': ep.endpointId,
      owner: 'kuryr',
    });
    assert.equal(d.links.links.get(tap)?.peerName, `t_c${port.id.slice(0, 11)}`);
    assert.equal(d.links.links.get(tap)?.mtu, 1442, 'the network MTU');
    assert.deepEqual(ep.join, {
      InterfaceName: { SrcName: `t_c${port.id.slice(0, 11)}`, DstPrefix: 'eth' },
      Gateway: '10.10.0.1',
      GatewayIPv6: '',
      StaticRoutes: [],
      DisableGatewayService: true,
    });

    await d.detach(net, ep);
    assert.equal(d.neutron.ports.length, 0);
    assert.equal(d.ovs.ports.size, 0);
    assert.equal(d.links.links.size, 0);

    await d.removeNetwork(net);
    assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length, d.neutron.pools.length, d.neutron.ports.length], [0, 0, 0, 0]);
    // A pool's hand-out lapses after its hold (ledger.test.ts); nothing else is held in memory.
    const held = d.ledger.sizes();
    assert.deepEqual([held.busy, held.handedOut, held.liveEndpoints, held.lost], [0, 0, 0, 0], 'nothing held in memory either');
  });

  it('keeps the Neutron call budget (≤ a third of Kuryr-libnetwork: 13/13/13/8)', async () => {
    const d = buildDriver();
    const count = async (work: () => Promise<unknown>) => {
      const before = d.neutron.calls.length;
      await work();
      return d.neutron.calls.slice(before);
    };
    let net!: Awaited<ReturnType<typeof d.createNetwork>>;
    const create = await count(async () => (net = await d.createNetwork('10.20.0.0/24', '10.20.0.1')));
    let ep!: Awaited<ReturnType<typeof d.attach>>;
    const attach = await count(async () => (ep = await d.attach(net)));
    const detach = await count(() => d.detach(net, ep));
    const rm = await count(() => d.removeNetwork(net));
    assert.ok(attach.length <= 4, `attach: ${attach.join(', ')}`);
    assert.ok(detach.length <= 3, `detach: ${detach.join(', ')}`);
    // network create: the pool (POST + duplicate check), the network, its tags, the subnet,
    // its PoolID tag. Tags go into the POSTs where Neutron takes them (below).
    assert.deepEqual(create, ['POST subnetpools', 'GET subnetpools', 'POST networks', 'PUT networks/tags', 'POST subnets (bulk)', 'PUT subnets/tags']);
    assert.ok(rm.length <= 5, `rm: ${rm.join(', ')}`);
  });

  it('network create in 4 calls when Neutron takes tags in the POST (tag-creation), with the same footprint', async () => {
    const neutron = new FakeNeutron();
    neutron.extensions.add('tag-creation');
    const d = buildDriver(neutron);
    const before = d.neutron.calls.length;
    const net = await d.createNetwork('10.21.0.0/24', '10.21.0.1');
    assert.deepEqual(d.neutron.calls.slice(before), ['POST subnetpools', 'GET subnetpools', 'POST networks', 'POST subnets (bulk)']);
    const [n] = d.neutron.networks;
    assert.deepEqual(n?.tags, idTags(net.networkId));
    assert.deepEqual(d.neutron.subnets[0]?.tags, [net.poolId]);
    const ep = await d.attach(net);
    await d.detach(net, ep);
    await d.removeNetwork(net);
    assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length, d.neutron.pools.length, d.neutron.ports.length], [0, 0, 0, 0]);
  });

  it('a CIDR whose pool exists already (made before a restart, or by another host): one pool, reused', async () => {
    const d = buildDriver();
    const first = await d.createNetwork('10.22.0.0/24', '10.22.0.1');
    d.restart();
    // A second network on the same CIDR (another Neutron network): the daemon does not know
    // the pool any more, creates one, sees the older one and drops its own.
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'global_scope', Pool: '10.22.0.0/24', Options: {}, V6: false });
    assert.equal(pool.PoolID, first.poolId);
    assert.equal(d.neutron.pools.length, 1);
  });

  it('a repeated CreateNetwork (Docker retrying after a daemon restart) finds the network it made', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.23.0.0/24', '10.23.0.1');
    d.restart();
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: net.networkId,
      Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'global_scope', Pool: '10.23.0.0/24', Gateway: '10.23.0.1/24' }],
      IPv6Data: [],
    });
    assert.equal(d.neutron.networks.length, 1);
    assert.equal(d.neutron.subnets.length, 1);
  });

  it('works across a daemon restart between every step (Neutron is the only state)', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.30.0.0/24', '10.30.0.1');
    d.restart();
    const ep = await d.attach(net);
    d.restart();
    const join = await d.ok('NetworkDriver.Join', { NetworkID: net.networkId, EndpointID: ep.endpointId, SandboxKey: '/var/run/docker/netns/abc' });
    assert.deepEqual(join, ep.join);
    d.restart();
    await d.detach(net, ep);
    d.restart();
    await d.removeNetwork(net);
    assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length, d.neutron.pools.length, d.neutron.ports.length], [0, 0, 0, 0]);
    assert.equal(d.ovs.ports.size + d.links.links.size, 0);
  });

  it('picks the first host address as gateway when --gateway is omitted (Kuryr bug K1)', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.40.0.0/24', undefined);
    assert.equal(net.gateway, '10.40.0.1/24');
    assert.equal(d.neutron.subnets[0]?.gateway_ip, '10.40.0.1');
  });

  it('keeps --aux-address out of Neutron allocation on a new network (Kuryr bug C11)', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.50.0.0/29', '10.50.0.1', {}, { printer: '10.50.0.2' });
    const subnet = d.neutron.subnets[0] as unknown as { allocation_pools: unknown };
    assert.deepEqual(subnet.allocation_pools, [{ start: '10.50.0.3', end: '10.50.0.6' }]);
    await d.removeNetwork(net);
    assert.equal(d.neutron.networks.length + d.neutron.pools.length, 0);
  });

  it('honours docker run --ip', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.60.0.0/24', '10.60.0.1');
    const ep = await d.attach(net, '10.60.0.77');
    assert.equal(ep.address, '10.60.0.77/24');
    const taken = await d.call('IpamDriver.RequestAddress', {
      PoolID: net.poolId,
      Address: '10.60.0.77',
      Options: { 'com.docker.network.endpoint.macaddress': '02:42:00:00:00:01' },
    });
    assert.equal(taken.status, 409);
    assert.match(String(taken.json.Error), /10\.60\.0\.77 is already used by kuryr port/);
  });

  it('idempotent deletes: unknown network, endpoint, address and pool are success', async () => {
    const d = buildDriver();
    const id = 'a'.repeat(64);
    await d.ok('NetworkDriver.DeleteNetwork', { NetworkID: id });
    await d.ok('NetworkDriver.DeleteEndpoint', { NetworkID: id, EndpointID: id });
    await d.ok('NetworkDriver.Leave', { NetworkID: id, EndpointID: id });
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: '6b1a1f56-3f0e-4bd0-9d57-2ae0bb2b6b59', Address: '10.0.0.5' });
    await d.ok('IpamDriver.ReleasePool', { PoolID: '6b1a1f56-3f0e-4bd0-9d57-2ae0bb2b6b59' });
  });

  it('reuses one kuryrPool per CIDR under concurrent RequestPool calls', async () => {
    const d = buildDriver();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.70.0.0/24', SubPool: '', Options: {}, V6: false })),
    );
    assert.equal(new Set(results.map((r) => r.PoolID)).size, 1);
    assert.equal(d.neutron.pools.length, 1);
  });

  it('runs many attaches in parallel without duplicate addresses', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.80.0.0/24', '10.80.0.1');
    const eps = await Promise.all(Array.from({ length: 30 }, () => d.attach(net)));
    assert.equal(new Set(eps.map((e) => e.address)).size, 30);
    await Promise.all(eps.map((e) => d.detach(net, e)));
    await d.removeNetwork(net);
    assert.equal(d.neutron.ports.length + d.ovs.ports.size + d.links.links.size, 0);
  });
});
