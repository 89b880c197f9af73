import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exposureRules } from '../../src/domain/exposure-service.js';
import { buildDriver } from '../harness.js';

describe('exposed ports and security groups', () => {
  it('merges exposed ports into one rule per protocol and contiguous range', () => {
    const ports = [80, 5000, 5001, 5002, 5010].map((Port) => ({ Proto: 6, Port }));
    assert.deepEqual(exposureRules([...ports, { Proto: 17, Port: 53 }, { Proto: 17, Port: 54 }]), [
      { protocol: 'tcp', min: 80, max: 80 },
      { protocol: 'tcp', min: 5000, max: 5002 },
      { protocol: 'tcp', min: 5010, max: 5010 },
      { protocol: 'udp', min: 53, max: 54 },
    ]);
    assert.throws(() => exposureRules([{ Proto: 99, Port: 1 }]), /unsupported protocol number 99/);
    assert.deepEqual(exposureRules([]), []);
  });

  it('--expose: a group per port, IPv4 and IPv6 rules, prepended; removed on revoke, found by tag (C3)', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.160.0.0/24', '10.160.0.1');
    const ep = await d.attach(net, '', [
      { Proto: 6, Port: 80 },
      { Proto: 17, Port: 5000 },
      { Proto: 17, Port: 5001 },
    ]);
    const port = d.neutron.ports[0]!;
    const sg = d.neutron.tables['security-groups'].get(port.security_groups![0]!)!;
    assert.equal(sg.name, `${port.id}-exposed_ports`);
    assert.equal(port.security_groups!.length, 2, 'prepended to the default group');
    const rules = [...d.neutron.tables['security-group-rules'].values()].filter((r) => r.security_group_id === sg.id);
    assert.deepEqual(
      rules.map((r) => `${r.ethertype}/${r.protocol}/${r.port_range_min}-${r.port_range_max}`).sort(),
      ['IPv4/tcp/80-80', 'IPv4/udp/5000-5001', 'IPv6/tcp/80-80', 'IPv6/udp/5000-5001'],
    );
    d.restart(); // revoke finds the group by the endpoint's tags, not by the port's name
    await d.detach(net, ep);
    assert.equal([...d.neutron.tables['security-groups'].values()].filter((g) => g.name.endsWith('-exposed_ports')).length, 0);
  });

  it('process_external_connectivity=false turns --expose off', async () => {
    const { settings } = await import('../harness.js');
    const saved = settings.processExternalConnectivity;
    (settings as { processExternalConnectivity: boolean }).processExternalConnectivity = false;
    try {
      const d = buildDriver();
      const net = await d.createNetwork('10.161.0.0/24', '10.161.0.1');
      await d.attach(net, '', [{ Proto: 6, Port: 80 }]);
      assert.equal(d.neutron.tables['security-groups'].size, 1, 'only the default group');
    } finally {
      (settings as { processExternalConnectivity: boolean }).processExternalConnectivity = saved;
    }
  });

  it('-o neutron.security_groups sets the groups of the network ports; --driver-opt overrides them', async () => {
    const d = buildDriver();
    const web = await d.neutron.create('security-groups', { name: 'web' });
    const db = await d.neutron.create('security-groups', { name: 'db' });
    const net = await d.createNetwork('10.162.0.0/24', '10.162.0.1', { 'neutron.security_groups': 'web' });
    assert.ok(d.neutron.networks[0]!.tags.includes(`kuryr.sg:${web.id}`));
    const a = await d.attach(net);
    const b = await d.attach(net, '', [], { 'neutron.security_groups': `db,${web.id}` });
    const portOf = (ep: { address: string }) => d.neutron.ports.find((p) => p.fixed_ips[0]!.ip_address === ep.address.split('/')[0])!;
    assert.deepEqual(portOf(a).security_groups, [web.id]);
    assert.deepEqual(portOf(b).security_groups, [db.id, web.id]);
    const bad = await d.call('NetworkDriver.CreateEndpoint', {
      NetworkID: net.networkId,
      EndpointID: 'f'.repeat(64),
      Interface: { Address: '10.162.0.99/24', AddressIPv6: '', MacAddress: '' },
      Options: { 'neutron.security_groupz': 'x' },
    });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.Err), /unknown option --driver-opt neutron\.security_groupz/);
    const missing = await d.call('NetworkDriver.CreateNetwork', {
      NetworkID: 'e'.repeat(64),
      Options: { 'com.docker.network.generic': { 'neutron.security_groups': 'nope' } },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.163.0.0/24', Gateway: '10.163.0.1/24' }],
      IPv6Data: [],
    });
    assert.equal(missing.status, 404);
    assert.match(String(missing.json.Err), /no security group nope/);
    assert.equal(d.neutron.networks.length, 1, 'nothing made for the failed network');
  });
});
