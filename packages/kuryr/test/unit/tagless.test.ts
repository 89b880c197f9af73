import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDriver } from '../harness.js';

describe('Neutron without the tag extension (Kuryr\'s name-based fallback)', () => {
  it('names the network by the Docker id and the port <EID>-port; works across restarts; leaves nothing', async () => {
    const d = buildDriver(undefined, { tagging: false });
    const net = await d.createNetwork('10.200.0.0/24', '10.200.0.1');
    assert.equal(d.neutron.networks[0]!.name, net.networkId);
    assert.deepEqual(d.neutron.networks[0]!.tags, []);
    const ep = await d.attach(net, '', [{ Proto: 6, Port: 80 }]);
    assert.equal(d.neutron.ports[0]!.name, `${ep.endpointId}-port`);
    d.restart();
    const join = await d.ok('NetworkDriver.Join', { NetworkID: net.networkId, EndpointID: ep.endpointId, SandboxKey: '/var/run/docker/netns/x' });
    assert.deepEqual(join, ep.join);
    d.restart();
    await d.detach(net, ep);
    assert.equal([...d.neutron.tables['security-groups'].values()].filter((g) => g.name.endsWith('-exposed_ports')).length, 0, 'exposure group found by name and removed');
    await d.removeNetwork(net);
    assert.equal(d.neutron.networks.length + d.neutron.subnets.length + d.neutron.pools.length + d.neutron.ports.length, 0);
    assert.equal(d.ovs.ports.size + d.links.links.size, 0);
  });

  it('refuses what needs tags, with a clear error and nothing made', async () => {
    const d = buildDriver(undefined, { tagging: false });
    const userNet = await d.neutron.create('networks', { name: 'tenant' });
    await assert.rejects(d.createNetwork('10.201.0.0/24', '10.201.0.1', { 'neutron.net.uuid': userNet.id }), /needs Neutron's tag extension/);
    assert.equal(d.neutron.networks.length, 1);
    // An existing subnet lives on an existing network: reused only with it (Kuryr renamed and deleted that network, C8).
    const userSubnet = await d.neutron.create('subnets', { network_id: userNet.id, cidr: '10.203.0.0/24', ip_version: 4, name: 'tenant-subnet' });
    const viaSubnet = { 'neutron.net.uuid': userNet.id, 'neutron.subnet.uuid': userSubnet.id };
    await assert.rejects(d.createNetwork('10.203.0.0/24', undefined, viaSubnet, {}, { 'neutron.subnet.uuid': userSubnet.id }), /needs Neutron's tag extension/);
    await assert.rejects(d.createNetwork('10.203.0.0/24', undefined, { 'neutron.net.uuid': userNet.id }), /needs Neutron's tag extension/);
    assert.deepEqual(
      d.neutron.subnets.map((x) => [x.id, x.name]),
      [[userSubnet.id, 'tenant-subnet']],
      "the user's subnet is untouched",
    );
    assert.equal(d.neutron.networks[0]!.name, 'tenant');
    const net = await d.createNetwork('10.202.0.0/24', '10.202.0.1');
    await d.neutron.create('ports', { network_id: d.neutron.networks.find((n) => n.name === net.networkId)!.id, fixed_ips: [{ ip_address: '10.202.0.9' }], name: 'users-port' });
    await assert.rejects(d.attach(net, '10.202.0.9'), /adopting the pre-created port .* needs Neutron's tag extension/);
    assert.ok(d.neutron.ports.some((p) => p.name === 'users-port'), "the user's port is untouched");
  });
});
