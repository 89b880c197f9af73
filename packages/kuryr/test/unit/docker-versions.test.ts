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
