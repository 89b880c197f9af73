import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POOL_DEVICE_ID } from '../../src/domain/naming.js';
import { buildDriver } from '../harness.js';

const pool = { min: 3, batch: 4, max: 0 };

describe('port pools ([vif_pool])', () => {
  it('asks Docker for no MAC; the first container gets a port made on demand and fills the pool', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    assert.deepEqual(await d.ok('IpamDriver.GetCapabilities'), { RequiresMACAddress: false, RequiresRequestReplay: false });
    const net = await d.createNetwork('10.70.0.0/24', '10.70.0.1');
    const ep = await d.attach(net);
    const port = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ep.address.split('/')[0]);
    assert.ok(port);
    // Docker takes the port's MAC from CreateEndpoint.
    assert.deepEqual(ep.createEndpoint, { Interface: { MacAddress: port.mac_address } });
    await d.idle();
    assert.deepEqual(Object.values(d.portPool!.sizes()), [4]);
    const free = d.neutron.ports.filter((p) => p.device_id === POOL_DEVICE_ID);
    assert.equal(free.length, 4);
    for (const p of free) assert.equal(p['binding:host_id'], 'testhost');
  });

  it('hands out a bound pool port with no Neutron call in RequestAddress; it becomes an ordinary endpoint port', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.71.0.0/24', '10.71.0.1');
    await d.detach(net, await d.attach(net));
    await d.idle();
    const before = d.neutron.calls.length;
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    assert.deepEqual(d.neutron.calls.slice(before), [], 'the address comes from the pool');
    const ip = String(addr.Address).split('/')[0];
    const port = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ip)!;
    assert.equal(port.device_id, POOL_DEVICE_ID);
    await d.ok('NetworkDriver.CreateEndpoint', {
      NetworkID: net.networkId,
      EndpointID: 'e'.repeat(64),
      Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' },
      Options: {},
    });
    const used = d.neutron.ports.find((p) => p.id === port.id)!;
    assert.equal(used.device_id, 'e'.repeat(64));
    assert.ok(used.tags.includes('compute:kuryr'));
  });

  it('network rm deletes the pool ports first; nothing is left', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.72.0.0/24', '10.72.0.1');
    const ep = await d.attach(net);
    await d.idle();
    await d.detach(net, ep);
    await d.ok('NetworkDriver.DeleteNetwork', { NetworkID: net.networkId });
    await d.idle();
    assert.deepEqual([d.neutron.networks.length, d.neutron.ports.length], [0, 0]);
  });

  it('a restarted daemon finds its pool ports in Neutron again', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.73.0.0/24', '10.73.0.1');
    await d.attach(net);
    await d.idle();
    d.restart();
    assert.equal(await d.portPool!.recover(), 4);
    const poolPorts = new Set(d.neutron.ports.filter((p) => p.device_id === POOL_DEVICE_ID).map((p) => p.id));
    const ep = await d.attach(net);
    const port = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ep.address.split('/')[0])!;
    assert.ok(poolPorts.has(port.id), 'the endpoint got a recovered pool port');
  });

  it('after a crash, a pool port already plugged for a container is not handed out again', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.76.0.0/24', '10.76.0.1');
    await d.attach(net);
    await d.idle();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    const ip = String(addr.Address).split('/')[0];
    const taken = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ip)!;
    d.neutron.failNext(/PUT ports/, 500); // the endpoint record after the reply does not reach Neutron
    d.neutron.failNext(/PUT ports\/tags/, 500);
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: 'c'.repeat(64), Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' }, Options: {} });
    await d.idle();
    assert.equal(d.neutron.ports.find((p) => p.id === taken.id)?.device_id, POOL_DEVICE_ID, 'still marked as a pool port');
    d.restart();
    assert.equal(await d.portPool!.recover(), 3, 'the plugged one is left out');
  });

  it('--mac-address: the bound pool port is replaced by one with that MAC and the same address', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.74.0.0/24', '10.74.0.1');
    await d.attach(net);
    await d.idle();
    const ep = await d.attach(net, '', [], {}, '02:42:0a:4a:00:99');
    assert.deepEqual(ep.createEndpoint, {});
    const ports = d.neutron.ports.filter((p) => p.fixed_ips[0]?.ip_address === ep.address.split('/')[0]);
    assert.equal(ports.length, 1);
    assert.equal(ports[0]?.mac_address, '02:42:0a:4a:00:99');
    assert.equal(ports[0]?.device_id, ep.endpointId);
  });

  it('dual stack without a MAC: the two addresses end on one port', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const networkId = 'd'.repeat(64);
    const p4 = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.75.0.0/24', Options: {}, V6: false });
    const p6 = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: 'fd00:75::/64', Options: {}, V6: true });
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.enable_ipv6': true, 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.75.0.0/24', Gateway: '10.75.0.1/24' }],
      IPv6Data: [{ AddressSpace: 'x', Pool: 'fd00:75::/64', Gateway: 'fd00:75::1/64' }],
    });
    const a4 = await d.ok('IpamDriver.RequestAddress', { PoolID: p4.PoolID, Address: '', Options: null });
    const a6 = await d.ok('IpamDriver.RequestAddress', { PoolID: p6.PoolID, Address: '', Options: null });
    const ep = await d.ok('NetworkDriver.CreateEndpoint', {
      NetworkID: networkId,
      EndpointID: 'f'.repeat(64),
      Interface: { Address: a4.Address, AddressIPv6: a6.Address, MacAddress: '' },
      Options: {},
    });
    const ports = d.neutron.ports.filter((p) => p.device_id === 'f'.repeat(64));
    assert.equal(ports.length, 1);
    assert.deepEqual(ports[0]!.fixed_ips.map((f) => f.ip_address).sort(), [String(a4.Address).split('/')[0], String(a6.Address).split('/')[0]].sort());
    assert.deepEqual(ep, { Interface: { MacAddress: ports[0]!.mac_address } });
    assert.equal(d.neutron.ports.length, 1, 'no pool for a dual-stack network, no leftover port');
  });
});
