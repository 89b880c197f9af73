import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDriver, dockerId, dockerMac } from '../harness.js';

describe('IPv6 and dual stack', () => {
  it('one dual-stack port per endpoint, tagged so Join and DeleteEndpoint find it (Kuryr bug C2)', async () => {
    const d = buildDriver();
    const networkId = dockerId();
    const p4 = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.120.0.0/24', SubPool: '', Options: {}, V6: false });
    const p6 = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: 'fd00:120::/64', SubPool: '', Options: {}, V6: true });
    const g4 = await d.ok('IpamDriver.RequestAddress', { PoolID: p4.PoolID, Address: '10.120.0.1', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    const g6 = await d.ok('IpamDriver.RequestAddress', { PoolID: p6.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    assert.equal(g6.Address, 'fd00:120::1/64');
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.enable_ipv6': true, 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'x', Pool: p4.Pool, Gateway: g4.Address }],
      IPv6Data: [{ AddressSpace: 'x', Pool: p6.Pool, Gateway: g6.Address }],
    });
    assert.equal(d.neutron.subnets.length, 2);

    const endpointId = dockerId();
    const mac = dockerMac();
    const a4 = await d.ok('IpamDriver.RequestAddress', { PoolID: p4.PoolID, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    const a6 = await d.ok('IpamDriver.RequestAddress', { PoolID: p6.PoolID, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    assert.equal(d.neutron.ports.length, 1, 'one port');
    assert.equal(d.neutron.ports[0]!.fixed_ips.length, 2, 'with both addresses');
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: networkId, EndpointID: endpointId, Interface: { Address: a4.Address, AddressIPv6: a6.Address, MacAddress: mac } });
    d.restart(); // Join and DeleteEndpoint must find it through Neutron's tags
    const join = await d.ok('NetworkDriver.Join', { NetworkID: networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/x' });
    assert.equal(join.Gateway, '10.120.0.1');
    assert.equal(join.GatewayIPv6, 'fd00:120::1');
    await d.ok('NetworkDriver.Leave', { NetworkID: networkId, EndpointID: endpointId });
    await d.ok('NetworkDriver.DeleteEndpoint', { NetworkID: networkId, EndpointID: endpointId });
    assert.equal(d.ovs.ports.size + d.links.links.size, 0);
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: p4.PoolID, Address: String(a4.Address).split('/')[0] });
    assert.equal(d.neutron.ports[0]?.fixed_ips.length, 1, 'the v6 address stays until its own release');
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: p6.PoolID, Address: String(a6.Address).split('/')[0] });
    assert.equal(d.neutron.ports.length, 0);
    for (const p of [p4, p6]) {
      await d.ok('IpamDriver.ReleaseAddress', { PoolID: p.PoolID, Address: p === p4 ? '10.120.0.1' : 'fd00:120::1' });
      await d.ok('IpamDriver.ReleasePool', { PoolID: p.PoolID });
    }
    await d.ok('NetworkDriver.DeleteNetwork', { NetworkID: networkId });
    assert.equal(d.neutron.networks.length + d.neutron.subnets.length + d.neutron.pools.length, 0);
  });

  it('refuses an IPv4 --subnet for the IPv6 pool', async () => {
    const d = buildDriver();
    const res = await d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.121.0.0/24', SubPool: '', Options: {}, V6: true });
    assert.equal(res.status, 400);
    assert.match(String(res.json.Error), /is IPv4 but the request is for an IPv6 pool/);
  });
});
