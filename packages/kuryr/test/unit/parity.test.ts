import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDriver, dockerId, dockerMac } from '../harness.js';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';

const lh = (id: string) => `kuryr.net.uuid.lh:${id.slice(0, 32)}`;

describe('Kuryr-libnetwork parity: existing Neutron resources', () => {
  it('-o neutron.net.uuid adopts and tags an existing network; rm untags it, never deletes it', async () => {
    const d = buildDriver();
    const userNet = await d.neutron.create('networks', { name: 'tenant-net', shared: false });
    const net = await d.createNetwork('10.100.0.0/24', '10.100.0.1', { 'neutron.net.uuid': userNet.id });
    assert.equal(d.neutron.networks.length, 1, 'no new network');
    const tags = d.neutron.networks[0]!.tags;
    assert.ok(tags.includes(lh(net.networkId)));
    assert.ok(tags.includes(`kuryr.net.existing:${net.networkId.slice(0, 12)}`));
    const ep = await d.attach(net);
    assert.equal(d.neutron.ports[0]?.network_id, userNet.id);
    await d.detach(net, ep);
    await d.removeNetwork(net);
    assert.equal(d.neutron.networks.length, 1, 'the user network is kept');
    assert.deepEqual(d.neutron.networks[0]!.tags, [], 'and untagged');
    assert.equal(d.neutron.subnets.length, 0, 'the subnet kuryr made is gone');
    assert.equal(d.neutron.pools.length, 0, 'and its pool');
  });

  it('-o neutron.net.name; an unknown or ambiguous name is a clear error with nothing left', async () => {
    const d = buildDriver();
    await d.neutron.create('networks', { name: 'dup' });
    await d.neutron.create('networks', { name: 'dup' });
    await assert.rejects(d.createNetwork('10.101.0.0/24', '10.101.0.1', { 'neutron.net.name': 'nope' }), /neutron\.net\.name=nope: no such Neutron network/);
    await assert.rejects(d.createNetwork('10.101.0.0/24', '10.101.0.1', { 'neutron.net.name': 'dup' }), /2 Neutron networks have that name/);
    assert.ok(d.neutron.networks.every((n) => n.tags.length === 0));
  });

  it('neutron.net.shared that disagrees is refused before anything is tagged (Kuryr bug C9)', async () => {
    const d = buildDriver();
    const userNet = await d.neutron.create('networks', { name: 'private', shared: false });
    await assert.rejects(
      d.createNetwork('10.102.0.0/24', '10.102.0.1', { 'neutron.net.uuid': userNet.id, 'neutron.net.shared': 'true' }),
      /neutron\.net\.shared=true disagrees/,
    );
    assert.deepEqual(d.neutron.networks[0]!.tags, []);
    assert.equal(d.neutron.subnets.length, 0);
  });

  it('two Docker networks (two hosts, local scope) share one Neutron network; the last rm cleans up', async () => {
    const d = buildDriver();
    const userNet = await d.neutron.create('networks', { name: 'shared-by-hosts' });
    const n1 = await d.createNetwork('10.103.0.0/24', '10.103.0.1', { 'neutron.net.uuid': userNet.id });
    const n2 = await d.createNetwork('10.103.0.0/24', '10.103.0.1', { 'neutron.net.uuid': userNet.id });
    assert.equal(d.neutron.subnets.length, 1, 'the second Docker network reuses the subnet');
    assert.equal(n1.poolId, n2.poolId);
    const e2 = await d.attach(n2);
    await d.removeNetwork(n1);
    assert.equal(d.neutron.subnets.length, 1, 'still used by the other Docker network');
    const e3 = await d.attach(n2);
    assert.notEqual(e2.address, e3.address);
    await d.detach(n2, e2);
    await d.detach(n2, e3);
    await d.removeNetwork(n2);
    assert.equal(d.neutron.subnets.length + d.neutron.pools.length + d.neutron.ports.length, 0);
    assert.equal(d.neutron.networks.length, 1);
  });

  it('two hosts make the same pool within one second: the later one yields, one pool is left (Kuryr bug C14)', async () => {
    const neutron = new FakeNeutron();
    neutron.holdClock(); // every created_at the same, as within one second of Neutron's clock
    const [host1, host2] = [buildDriver(neutron), buildDriver(neutron)];
    // ids are random: a tie broken by id would keep both copies about half of the time
    for (let i = 0; i < 8; i++) {
      const cidr = `10.105.${i}.0/24`;
      const userNet = await neutron.create('networks', { name: `shared-${i}` });
      const n1 = await host1.createNetwork(cidr, `10.105.${i}.1`, { 'neutron.net.uuid': userNet.id });
      const n2 = await host2.createNetwork(cidr, `10.105.${i}.1`, { 'neutron.net.uuid': userNet.id });
      assert.deepEqual(neutron.pools.filter((p) => p.name === `kuryrPool-${cidr}`).map((p) => p.id), [n1.poolId], 'the second host kept the first host\'s pool');
      assert.equal(n2.poolId, n1.poolId);
      await host1.removeNetwork(n1);
      await host2.removeNetwork(n2);
    }
    assert.equal(neutron.pools.length + neutron.subnets.length, 0, 'nothing left');
  });

  it('a network kuryr created on one host and adopted by name on another is deleted by the last user', async () => {
    const d = buildDriver();
    const n1 = await d.createNetwork('10.104.0.0/24', '10.104.0.1');
    const name = d.neutron.networks[0]!.name;
    const n2 = await d.createNetwork('10.104.0.0/24', '10.104.0.1', { 'neutron.net.name': name });
    await d.removeNetwork(n1);
    assert.equal(d.neutron.networks.length, 1, 'kept: host 2 still uses it');
    await d.removeNetwork(n2);
    assert.equal(d.neutron.networks.length, 0, 'kuryr made it: the last Docker network using it deletes it, whichever host made it');
    assert.equal(d.neutron.pools.length + d.neutron.subnets.length, 0);
  });

  it('overlapping CIDRs in different Neutron networks, same IP on both (neutron.subnet.uuid + PoolID tags)', async () => {
    const d = buildDriver();
    const nets = [];
    for (const name of ['a', 'b']) {
      const n = await d.neutron.create('networks', { name });
      const s = await d.neutron.create('subnets', { network_id: n.id, cidr: '10.105.0.0/24', ip_version: 4, name: `sub-${name}` });
      nets.push(await d.createNetwork('10.105.0.0/24', '10.105.0.1', { 'neutron.net.uuid': n.id, 'neutron.subnet.uuid': s.id }, {}, { 'neutron.subnet.uuid': s.id }));
    }
    assert.notEqual(nets[0]!.poolId, nets[1]!.poolId, 'two pools for the same CIDR, told apart by the subnet tag');
    const a = await d.attach(nets[0]!, '10.105.0.50');
    const b = await d.attach(nets[1]!, '10.105.0.50');
    assert.equal(a.address, b.address);
    await d.detach(nets[0]!, a);
    assert.equal(d.neutron.ports.length, 1, 'releasing one network\'s 10.105.0.50 leaves the other\'s (Kuryr bug 1782947)');
    await d.detach(nets[1]!, b);
    for (const n of nets) await d.removeNetwork(n);
    assert.equal(d.neutron.pools.length, 0);
    assert.equal(d.neutron.subnets.length, 2, 'user subnets kept');
    assert.ok(d.neutron.subnets.every((s) => s.tags.length === 0), 'and untagged');
  });

  it('neutron.pool.uuid: the user pool is used, tagged existing, and never deleted', async () => {
    const d = buildDriver();
    const pool = await d.neutron.create('subnetpools', { name: 'testpool', prefixes: ['10.106.0.0/24'] });
    const net = await d.createNetwork('10.106.0.0/24', '10.106.0.1', { 'neutron.pool.uuid': pool.id }, {}, { 'neutron.pool.uuid': pool.id });
    assert.equal(net.poolId, pool.id);
    assert.ok(d.neutron.pools[0]!.tags.includes('kuryr.subnetpool.existing'));
    assert.equal(d.neutron.subnets[0]?.subnetpool_id, pool.id);
    await d.removeNetwork(net);
    assert.equal(d.neutron.pools.length, 1);
    assert.deepEqual(d.neutron.pools[0]!.tags, []);
  });
});

describe('Kuryr-libnetwork parity: pre-created ports', () => {
  it('docker run --ip adopts a free pre-created port, binds it, and resets it on release', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.110.0.0/24', '10.110.0.1');
    const neutronNet = d.neutron.networks[0]!;
    const userPort = await d.neutron.create('ports', { network_id: neutronNet.id, name: 'my-port', fixed_ips: [{ ip_address: '10.110.0.9' }] });
    const ep = await d.attach(net, '10.110.0.9');
    let p = await d.neutron.show('ports', userPort.id);
    assert.equal(p['binding:host_id'], 'testhost');
    assert.equal(p.device_owner, 'compute:kuryr');
    assert.equal(p.mac_address, ep.mac, 'the port takes Docker\'s MAC (Kuryr bug K9)');
    assert.ok(p.tags.includes('kuryr.port.existing'));
    assert.ok(p.tags.includes(lh(ep.endpointId)));
    assert.equal(p.name, 'my-port', 'never renamed (Kuryr bug 1810219)');
    await d.detach(net, ep);
    p = await d.neutron.show('ports', userPort.id);
    assert.equal(p['binding:host_id'], '');
    assert.equal(p.device_owner, '');
    assert.equal(p.device_id, '');
    assert.deepEqual(p.tags, []);
    await d.neutron.delete('ports', userPort.id);
    await d.removeNetwork(net);
  });

  it('docker run --mac-address adopts the port with that MAC', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.111.0.0/24', '10.111.0.1');
    const userPort = await d.neutron.create('ports', { network_id: d.neutron.networks[0]!.id, mac_address: '02:aa:bb:cc:dd:ee' });
    const endpointId = dockerId();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': '02:aa:bb:cc:dd:ee' } });
    assert.equal(String(addr.Address), `${userPort.fixed_ips[0]!.ip_address}/24`);
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: endpointId, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '02:aa:bb:cc:dd:ee' } });
    assert.ok((await d.neutron.show('ports', userPort.id)).tags.includes('kuryr.port.existing'));
  });

  it('a port bound to a VM (another host, compute:nova) is refused, never hijacked (Kuryr bug C10)', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.112.0.0/24', '10.112.0.1');
    const vm = await d.neutron.create('ports', {
      network_id: d.neutron.networks[0]!.id,
      fixed_ips: [{ ip_address: '10.112.0.20' }],
      device_owner: 'compute:nova',
      device_id: 'vm-1',
      'binding:host_id': 'compute-3',
    });
    const res = await d.call('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '10.112.0.20', Options: { 'com.docker.network.endpoint.macaddress': dockerMac() } });
    assert.equal(res.status, 409);
    assert.match(String(res.json.Error), /port .* is already in use \(device_owner=compute:nova, binding:host_id=compute-3/);
    const after = await d.neutron.show('ports', vm.id);
    assert.equal(after['binding:host_id'], 'compute-3');
    assert.deepEqual(after.tags, []);
  });

  it('a Zun-prepared port (compute:kuryr, this host, the container uuid as device_id) is adopted', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.113.0.0/24', '10.113.0.1');
    const zunPort = await d.neutron.create('ports', {
      network_id: d.neutron.networks[0]!.id,
      fixed_ips: [{ ip_address: '10.113.0.7' }],
      device_owner: 'compute:kuryr',
      device_id: 'container-uuid',
      'binding:host_id': 'testhost',
    });
    const ep = await d.attach(net, '10.113.0.7');
    const p = await d.neutron.show('ports', zunPort.id);
    assert.equal(p.device_id, 'container-uuid', 'kept');
    await d.detach(net, ep);
    assert.equal((await d.neutron.show('ports', zunPort.id)).device_owner, '');
  });
});

describe('Kuryr-libnetwork parity: gateways and routes', () => {
  it('host routes of the subnets become Join StaticRoutes; a subnet without gateway works', async () => {
    const d = buildDriver();
    const n = await d.neutron.create('networks', { name: 'nogw' });
    const s = await d.neutron.create('subnets', {
      network_id: n.id,
      cidr: '10.140.0.0/24',
      ip_version: 4,
      gateway_ip: null,
      host_routes: [{ destination: '192.0.2.0/24', nexthop: '10.140.0.254' }],
    });
    const networkId = dockerId();
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.140.0.0/24', SubPool: '', Options: { 'neutron.subnet.uuid': s.id }, V6: false });
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.generic': { 'neutron.net.uuid': n.id, 'neutron.subnet.uuid': s.id } },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.140.0.0/24' }],
      IPv6Data: [],
    });
    const gw = await d.ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    assert.equal(gw.Address, '0.0.0.0/0', 'Kuryr bug 1881910: a subnet without gateway');
    const ep = await d.attach({ networkId, poolId: String(pool.PoolID) });
    assert.equal(ep.join.Gateway, '');
    assert.deepEqual(ep.join.StaticRoutes, [{ Destination: '192.0.2.0/24', RouteType: 0, NextHop: '10.140.0.254' }]);
    assert.equal(ep.join.DisableGatewayService, true, 'no docker_gwbridge either');
  });

  it('-o neutron.net.* over a subnet whose gateway is not the first host, no --gateway: the subnet is reused with its own gateway', async () => {
    const d = buildDriver();
    const n = await d.neutron.create('networks', { name: 'gw-254' });
    const s = await d.neutron.create('subnets', { network_id: n.id, cidr: '10.142.0.0/24', ip_version: 4, gateway_ip: '10.142.0.254' });
    const net = await d.createNetwork('10.142.0.0/24', undefined, { 'neutron.net.uuid': n.id });
    assert.equal(net.gateway, '10.142.0.1/24', 'IPAM answered before the subnet was known');
    assert.deepEqual(d.neutron.subnets.map((x) => x.id), [s.id], 'reused, no second subnet');
    assert.equal(d.neutron.subnets[0]!.gateway_ip, '10.142.0.254', 'its gateway kept');
    assert.ok(d.neutron.subnets[0]!.tags.includes(net.poolId));
    const ep = await d.attach(net);
    assert.equal(ep.join.Gateway, '10.142.0.254', "Join answers the subnet's real gateway");
    await d.detach(net, ep);
    await d.removeNetwork(net);
    assert.deepEqual(d.neutron.subnets.map((x) => [x.id, x.tags]), [[s.id, []]], 'kept and untagged');
    assert.equal(d.neutron.networks.length, 1);
    assert.equal(d.neutron.ports.length, 0);
  });

  it('-o neutron.net.* over a subnet without gateway, no --gateway: reused, Join answers no gateway', async () => {
    const d = buildDriver();
    const n = await d.neutron.create('networks', { name: 'no-gw' });
    await d.neutron.create('subnets', { network_id: n.id, cidr: '10.143.0.0/24', ip_version: 4, gateway_ip: null });
    const net = await d.createNetwork('10.143.0.0/24', undefined, { 'neutron.net.name': 'no-gw' });
    assert.equal(d.neutron.subnets.length, 1);
    assert.equal(d.neutron.subnets[0]!.gateway_ip, null);
    const ep = await d.attach(net);
    assert.equal(ep.join.Gateway, '');
    // A second Docker network on it: IPAM now knows the subnet and answers the placeholder, as Kuryr does.
    const net2 = await d.createNetwork('10.143.0.0/24', undefined, { 'neutron.net.name': 'no-gw' });
    assert.equal(net2.gateway, '0.0.0.0/0');
    await d.detach(net, ep);
    await d.removeNetwork(net2);
    await d.removeNetwork(net);
    assert.equal(d.neutron.subnets.length, 1);
  });

  it('an explicit --gateway that differs from the existing subnet found by CIDR stays refused, made-up gateway or not before', async () => {
    const d = buildDriver();
    const n = await d.neutron.create('networks', { name: 'gw-explicit' });
    await d.neutron.create('subnets', { network_id: n.id, cidr: '10.144.0.0/24', ip_version: 4, gateway_ip: '10.144.0.254' });
    await assert.rejects(d.createNetwork('10.144.0.0/24', '10.144.0.1', { 'neutron.net.uuid': n.id }), /--gateway 10\.144\.0\.1 does not match gateway 10\.144\.0\.254/);
    // Docker asked without an address first (made up), then with one: the explicit one counts.
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.144.0.0/24', SubPool: '', Options: {}, V6: false });
    await d.ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    await d.ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '10.144.0.1', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    const res = await d.call('NetworkDriver.CreateNetwork', {
      NetworkID: dockerId(),
      Options: { 'com.docker.network.generic': { 'neutron.net.uuid': n.id } },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.144.0.0/24', Gateway: '10.144.0.1/24' }],
      IPv6Data: [],
    });
    assert.equal(res.status, 409);
    assert.deepEqual(d.neutron.networks[0]!.tags, [], 'nothing left tagged');
    // The matching --gateway is accepted.
    const ok = await d.createNetwork('10.144.0.0/24', '10.144.0.254', { 'neutron.net.uuid': n.id });
    assert.equal(ok.gateway, '10.144.0.254/24');
  });

  it('a --gateway that disagrees with an existing subnet is a clear error', async () => {
    const d = buildDriver();
    const n = await d.neutron.create('networks', { name: 'gw' });
    const s = await d.neutron.create('subnets', { network_id: n.id, cidr: '10.141.0.0/24', ip_version: 4, gateway_ip: '10.141.0.1' });
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.141.0.0/24', SubPool: '', Options: { 'neutron.subnet.uuid': s.id }, V6: false });
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: dockerId(),
      Options: { 'com.docker.network.generic': { 'neutron.net.uuid': n.id, 'neutron.subnet.uuid': s.id } },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.141.0.0/24', Gateway: '10.141.0.1/24' }],
      IPv6Data: [],
    });
    const res = await d.call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '10.141.0.9', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    assert.equal(res.status, 409);
    assert.match(String(res.json.Error), /requested gateway 10\.141\.0\.9 does not match gateway 10\.141\.0\.1/);
  });
});
