/**
 * Creates that survive a lost reply: Neutron carries out the POST but the
 * client times out (the fake's loseReplyOf). Every object kuryr creates has
 * an identity known before its POST, so it is found and used — never made
 * twice, never leaked — and an address a lost port holds is freed for the
 * retry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { POOL_DEVICE_ID } from '../../src/domain/naming.js';
import { buildDriver, dockerId, dockerMac } from '../harness.js';

describe('creates whose reply is lost', () => {
  it('RequestAddress: the port Neutron made is found by its hand-out id and used', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.170.0.0/24', '10.170.0.1');
    d.neutron.loseReplyOf(/POST ports/);
    const ep = await d.attach(net);
    assert.equal(d.neutron.ports.length, 1, 'one port, not two');
    const port = d.neutron.ports[0]!;
    assert.equal(`${port.fixed_ips[0]!.ip_address}/24`, ep.address);
    assert.equal(port.device_id, ep.endpointId, 'and it became the endpoint\'s');
    await d.detach(net, ep);
    assert.equal(d.neutron.ports.length, 0);
  });

  it('RequestAddress --ip: a port whose reply was lost and could not be found then does not keep the address from the retry', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.171.0.0/24', '10.171.0.1');
    d.neutron.loseReplyOf(/POST ports/);
    d.neutron.failNext(/GET ports/, 503); // the look-up after the timeout fails too
    const first = await d.call('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '10.171.0.50', Options: { 'com.docker.network.endpoint.macaddress': dockerMac() } });
    assert.equal(first.status, 503);
    assert.match(String(first.json.Error), /unreachable|timeout/);
    assert.equal(d.neutron.ports.length, 1, 'Neutron did make it');
    const ghost = d.neutron.ports[0]!;
    // Docker's retry (a new MAC): the address is free again.
    const ep = await d.attach(net, '10.171.0.50');
    assert.equal(ep.address, '10.171.0.50/24');
    assert.equal(d.neutron.ports.length, 1);
    assert.notEqual(d.neutron.ports[0]!.id, ghost.id, 'the lost port was removed');
  });

  it('RequestAddress --ip: a port of a request still answered normally is never taken for a lost one', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.172.0.0/24', '10.172.0.1');
    const a = await d.attach(net, '10.172.0.60');
    const res = await d.call('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '10.172.0.60', Options: { 'com.docker.network.endpoint.macaddress': dockerMac() } });
    assert.equal(res.status, 409);
    assert.equal(d.neutron.ports[0]!.device_id, a.endpointId);
  });

  it("CreateEndpoint's own port (no IPAM port to find) is found by the endpoint id", async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.173.0.0/24', '10.173.0.1');
    const mac = dockerMac();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: String(addr.Address).split('/')[0] });
    d.neutron.loseReplyOf(/POST ports/);
    const endpointId = dockerId();
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: endpointId, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac }, Options: {} });
    assert.equal(d.neutron.ports.length, 1);
    assert.equal(d.neutron.ports[0]!.device_id, endpointId);
  });

  it('CreateNetwork: the network (found by its name and description) and the subnets (by network and CIDR) are used', async () => {
    for (const lost of [/POST networks/, /POST subnets/]) {
      const d = buildDriver();
      d.neutron.loseReplyOf(lost);
      const net = await d.createNetwork('10.174.0.0/24', '10.174.0.1');
      assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length], [1, 1], String(lost));
      const ep = await d.attach(net);
      await d.detach(net, ep);
      await d.removeNetwork(net);
      assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length, d.neutron.pools.length], [0, 0, 0]);
    }
  });

  it('RequestPool: the pool is found by its name', async () => {
    const d = buildDriver();
    d.neutron.loseReplyOf(/POST subnetpools/);
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.175.0.0/24', SubPool: '', Options: {}, V6: false });
    assert.equal(d.neutron.pools.length, 1);
    assert.equal(pool.PoolID, d.neutron.pools[0]!.id);
  });

  it('--expose: the security group is found by its name', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.176.0.0/24', '10.176.0.1');
    d.neutron.loseReplyOf(/POST security-groups$/);
    await d.attach(net, '', [{ Proto: 6, Port: 80 }]);
    const groups = [...d.neutron.tables['security-groups'].values()].filter((g) => g.name.endsWith('-exposed_ports'));
    assert.equal(groups.length, 1);
    assert.ok(d.neutron.ports[0]!.security_groups?.includes(groups[0]!.id));
  });

  it('port pool refill: the ports Neutron made are found and become the pool', async () => {
    const d = buildDriver(new FakeNeutron(), { portPool: { min: 2, batch: 3, max: 0 } });
    const net = await d.createNetwork('10.177.0.0/24', '10.177.0.1');
    d.neutron.loseReplyOf(/POST ports \(bulk\)/);
    await d.attach(net);
    await d.idle();
    assert.deepEqual(Object.values(d.portPool!.sizes()), [3]);
    assert.equal(d.neutron.ports.filter((p) => p.device_id === POOL_DEVICE_ID).length, 3);
    const ep = await d.attach(net);
    await d.idle();
    assert.equal(d.neutron.ports.filter((p) => p.device_id === POOL_DEVICE_ID).length, 2, 'the second container took one of them');
    assert.ok(d.neutron.ports.some((p) => p.device_id === ep.endpointId));
  });

  it('a definite refusal (409) is not looked up: it is an answer', async () => {
    const d = buildDriver();
    d.neutron.failNext(/POST networks/, 409);
    await assert.rejects(d.createNetwork('10.179.0.0/24', '10.179.0.1'), /409/);
    const calls = d.neutron.calls;
    assert.ok(!calls.slice(calls.lastIndexOf('POST networks')).includes('GET networks'));
    assert.equal(d.neutron.networks.length, 0);
  });
});
