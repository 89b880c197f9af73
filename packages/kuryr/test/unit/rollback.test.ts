import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDriver, dockerId, dockerMac } from '../harness.js';

describe('failures leave nothing half-made', () => {
  it('CreateNetwork: a failing subnet create removes the network it made', async () => {
    const d = buildDriver();
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.1.0.0/24', SubPool: '', Options: {}, V6: false });
    d.neutron.failNext(/POST subnets/, 500, 'database is locked');
    const res = await d.call('NetworkDriver.CreateNetwork', {
      NetworkID: dockerId(),
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.1.0.0/24', Gateway: '10.1.0.1/24' }],
      IPv6Data: [],
    });
    assert.equal(res.status, 503);
    assert.match(String(res.json.Err), /Neutron .* failed: 500 .*database is locked/);
    assert.equal(res.json.Err, res.json.Error, 'both keys: Docker reads Err (network) or Error (IPAM)');
    assert.equal(d.neutron.networks.length, 0);
    await d.ok('IpamDriver.ReleasePool', { PoolID: pool.PoolID });
    assert.equal(d.neutron.pools.length, 0);
  });

  it('CreateEndpoint: an OVS failure deletes the veth and restores the port tags', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.2.0.0/24', '10.2.0.1');
    const mac = dockerMac();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    d.ovs.failAdd = true;
    const endpointId = dockerId();
    const res = await d.call('NetworkDriver.CreateEndpoint', {
      NetworkID: net.networkId,
      EndpointID: endpointId,
      Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac },
      Options: {},
    });
    assert.equal(res.status, 500);
    assert.match(String(res.json.Err), /ovs-vsctl add-port: injected failure/);
    assert.equal(d.links.links.size, 0, 'veth removed');
    assert.deepEqual(d.neutron.ports[0]?.tags, [], 'endpoint tags removed');
    // Docker's rollback: DeleteEndpoint then ReleaseAddress
    d.ovs.failAdd = false;
    await d.ok('NetworkDriver.DeleteEndpoint', { NetworkID: net.networkId, EndpointID: endpointId });
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: String(addr.Address).split('/')[0] });
    assert.equal(d.neutron.ports.length, 0);
  });

  it('CreateEndpoint: a Neutron failure while the port is updated unplugs the host side', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.3.0.0/24', '10.3.0.1');
    const mac = dockerMac();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    // A security group to set: the update is part of the reply (not left for after it).
    const sg = await d.neutron.create('security-groups', { name: 'web' });
    d.neutron.failNext(/PUT ports\/tags/, 500);
    const res = await d.call('NetworkDriver.CreateEndpoint', {
      NetworkID: net.networkId,
      EndpointID: dockerId(),
      Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac },
      Options: { 'neutron.security_groups': sg.id },
    });
    assert.equal(res.status, 503);
    assert.equal(d.ovs.ports.size + d.links.links.size, 0);
  });

  it('CreateEndpoint: the endpoint record (device_id, tags) after the reply; if it fails, release still finds the port', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.3.1.0/24', '10.3.1.1');
    const mac = dockerMac();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    d.neutron.failNext(/PUT ports\/tags/, 500);
    const endpointId = dockerId();
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: endpointId, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac } });
    await d.ok('NetworkDriver.Join', { NetworkID: net.networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/x', Options: {} });
    await d.idle();
    d.restart(); // the record never reached Neutron, and the daemon forgot the endpoint
    await d.ok('NetworkDriver.DeleteEndpoint', { NetworkID: net.networkId, EndpointID: endpointId });
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: String(addr.Address).split('/')[0] });
    assert.equal(d.neutron.ports.length, 0);
    assert.equal(d.ovs.ports.size + d.links.links.size, 0);
  });

  it('refuses to hijack a port bound to another host (Kuryr bug C10)', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.4.0.0/24', '10.4.0.1');
    const neutronNet = d.neutron.networks[0]!;
    const vmPort = await d.neutron.create('ports', {
      network_id: neutronNet.id,
      fixed_ips: [{ ip_address: '10.4.0.50' }],
      device_owner: 'compute:nova',
      device_id: 'vm-1',
      'binding:host_id': 'compute-7',
    });
    const res = await d.call('NetworkDriver.CreateEndpoint', {
      NetworkID: net.networkId,
      EndpointID: dockerId(),
      Interface: { Address: '10.4.0.50/24', AddressIPv6: '', MacAddress: '' },
    });
    assert.equal(res.status, 409);
    assert.match(String(res.json.Err), /already in use .*compute:nova.*compute-7/);
    const after = await d.neutron.show('ports', vmPort.id);
    assert.equal(after['binding:host_id'], 'compute-7');
    assert.equal(d.links.links.size, 0);
  });

  it('unknown -o options are refused before anything is created', async () => {
    const d = buildDriver();
    const res = await d.call('NetworkDriver.CreateNetwork', {
      NetworkID: dockerId(),
      Options: { 'com.docker.network.generic': { 'neutron.net.uuuid': 'x' } },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.5.0.0/24', Gateway: '10.5.0.1/24' }],
      IPv6Data: [],
    });
    assert.equal(res.status, 400);
    assert.match(String(res.json.Err), /unknown option -o neutron\.net\.uuuid=x/);
    assert.equal(d.neutron.calls.length, 0);
  });
});
