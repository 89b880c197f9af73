import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MacvlanBinder } from '../../src/binding/macvlan-binder.js';
import { lowestFreeVlan, VlanBinder } from '../../src/binding/vlan-binder.js';
import { VmPort } from '../../src/binding/vm-port.js';
import { vethNames } from '../../src/binding/veth-names.js';
import { buildConfig } from '../../src/config/kuryr-config.js';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { portDriverOf } from '../../src/main/binders.js';
import { buildDriver } from '../harness.js';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';

describe('binding drivers', () => {
  it('ovs hybrid plugging: tap → qbr ← qvb/qvo → br-int with vm-id', async () => {
    const d = buildDriver(undefined, { forceVifType: 'ovs_hybrid' });
    const net = await d.createNetwork('10.170.0.0/24', '10.170.0.1');
    const ep = await d.attach(net);
    const port = d.neutron.ports[0]!;
    const short = port.id.slice(0, 11);
    assert.equal(d.links.other.get(`qbr${short}`)?.kind, 'bridge');
    assert.equal(d.links.other.get(`tap${short}`)?.master, `qbr${short}`);
    assert.equal(d.links.other.get(`qvb${short}`)?.master, `qbr${short}`);
    assert.deepEqual(d.ovs.ports.get(`qvo${short}`)?.externalIds['vm-id'], ep.endpointId);
    assert.equal(d.ovs.ports.get(`qvo${short}`)?.externalIds['iface-id'], port.id);
    await d.detach(net, ep);
    assert.equal(d.ovs.ports.size, 0);
    assert.equal([...d.links.other.keys()].filter((k) => k.endsWith(short)).length, 0, 'qbr, qvb and qvo gone');
  });

  it('vif_details.ovs_hybrid_plug selects hybrid plugging without any override', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.171.0.0/24', '10.171.0.1');
    const origCreate = d.neutron.create.bind(d.neutron);
    d.neutron.create = (async (resource: 'ports', body: Record<string, unknown>) => {
      const p = await origCreate(resource, body);
      const row = d.neutron.tables.ports.get(p.id)!;
      row['binding:vif_details'] = { ovs_hybrid_plug: true };
      return { ...p, 'binding:vif_details': { ovs_hybrid_plug: true } };
    }) as typeof d.neutron.create;
    await d.attach(net);
    assert.ok([...d.ovs.ports.keys()].some((k) => k.startsWith('qvo')));
  });

  it('linux bridge plugging: the tap on brq<network id[:11]>, bridge kept for the others', async () => {
    const d = buildDriver(undefined, { forceVifType: 'bridge' });
    const net = await d.createNetwork('10.172.0.0/24', '10.172.0.1');
    const ep = await d.attach(net);
    const brq = `brq${d.neutron.networks[0]!.id.slice(0, 11)}`;
    assert.equal(d.links.other.get(`tap${d.neutron.ports[0]!.id.slice(0, 11)}`)?.master, brq);
    assert.equal(d.ovs.ports.size, 0, 'nothing on OVS');
    await d.detach(net, ep);
    assert.equal(d.links.links.size, 0);
  });

  it('a leftover veth of a crashed attempt is replaced; nothing else is touched', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.9.0.0/24', '10.9.0.1');
    const mac = '02:42:0a:09:00:09';
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    const port = d.neutron.ports.find((p) => p.mac_address === mac)!;
    const host = vethNames(port.id).host;
    await d.links.createVeth({ hostName: host, peerName: 'stale', mtu: 1500, peerMac: mac });
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: 'b'.repeat(64), Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac } });
    assert.equal(d.links.links.get(host)?.peerName, vethNames(port.id).container);
  });

  it('veth: the container end’s offload and the OVS plug both happen; if the offload fails, the plug and the veth are undone', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.174.0.0/24', '10.174.0.1');
    const ep = await d.attach(net);
    const names = vethNames(d.neutron.ports[0]!.id);
    assert.ok(d.links.txOff.has(names.container), 'tx checksum offload off on the container end');
    assert.equal(d.ovs.ports.get(names.host)?.externalIds['vm-uuid'], ep.endpointId);
    await d.detach(net, ep);
    d.links.failTxOff = true;
    await assert.rejects(d.attach(net), /ethtool -K/);
    assert.equal(d.links.links.size + d.ovs.ports.size, 0, 'no veth, no OVS port left');
  });

  it('a vif_type without a driver is a clear error, and nothing is left', async () => {
    const d = buildDriver(undefined, { forceVifType: 'vhostuser' });
    const net = await d.createNetwork('10.173.0.0/24', '10.173.0.1');
    await assert.rejects(d.attach(net), /binding:vif_type=vhostuser: no binding driver for it/);
    assert.equal(d.links.links.size + d.ovs.ports.size, 0);
  });

  it('nested macvlan: a macvlan on link_iface and allowed address pairs on the VM port, without lost updates', async () => {
    const neutron = new FakeNeutron();
    const d = buildDriver(neutron, {
      portDriver: 'nested',
      nested: (links, n) => {
        links.other.set('eth0', { kind: 'nic', mac: 'fa:16:3e:00:00:01' });
        return { nested: new MacvlanBinder(links, new VmPort(n, links, 'eth0'), () => undefined) };
      },
    });
    const net = await d.createNetwork('10.174.0.0/24', '10.174.0.1');
    const vmPortId = (await neutron.create('ports', { network_id: neutron.networks[0]!.id, mac_address: 'fa:16:3e:00:00:01', allowed_address_pairs: [{ ip_address: '192.0.2.9' }] })).id;
    const eps = await Promise.all(Array.from({ length: 8 }, () => d.attach(net)));
    const vm = await neutron.show('ports', vmPortId);
    assert.equal(vm.allowed_address_pairs?.length, 9, "8 containers' pairs plus the one that was there");
    const containerPort = neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === eps[0]!.address.split('/')[0])!;
    assert.equal(containerPort['binding:host_id'], '', 'nested ports stay unbound');
    assert.equal(d.links.other.get(`t_c${containerPort.id.slice(0, 11)}`)?.kind, 'macvlan');
    await Promise.all(eps.map((e) => d.detach(net, e)));
    assert.deepEqual((await neutron.show('ports', vmPortId)).allowed_address_pairs, [{ ip_address: '192.0.2.9' }]);
  });

  it('nested vlan: trunk subports with the lowest free segmentation id, released on unbind', async () => {
    const neutron = new FakeNeutron();
    const d = buildDriver(neutron, {
      portDriver: 'vlan',
      nested: (links, n) => {
        links.other.set('eth0', { kind: 'nic', mac: 'fa:16:3e:00:00:02' });
        return { vlan: new VlanBinder(n, links, new VmPort(n, links, 'eth0'), () => undefined) };
      },
    });
    const net = await d.createNetwork('10.175.0.0/24', '10.175.0.1');
    const vm = await neutron.create('ports', { network_id: neutron.networks[0]!.id, mac_address: 'fa:16:3e:00:00:02' });
    const trunk = neutron.makeTrunk(vm.id);
    const a = await d.attach(net);
    const b = await d.attach(net);
    assert.deepEqual(neutron.trunks.get(trunk)!.subPorts.map((s) => s.segmentation_id).sort(), [1, 2]);
    const vlans = [...d.links.other.values()].filter((l) => l.kind === 'vlan').map((l) => l.vlanId).sort();
    assert.deepEqual(vlans, [1, 2]);
    await d.detach(net, a);
    const c = await d.attach(net);
    assert.deepEqual(neutron.trunks.get(trunk)!.subPorts.map((s) => s.segmentation_id).sort(), [1, 2], 'id 1 reused after release, never leaked');
    await d.detach(net, b);
    await d.detach(net, c);
    assert.equal(neutron.trunks.get(trunk)!.subPorts.length, 0);
    assert.equal(lowestFreeVlan([1, 2, 4]), 3);
    assert.throws(() => lowestFreeVlan(Array.from({ length: 4094 }, (_, i) => i + 1)), /no free VLAN id/);
  });

  it('port/binding driver configuration is checked as Kuryr documents it (and honoured, C1)', () => {
    const conf = (text: string) => buildConfig(parseIni(text, 'kuryr.conf'), {});
    assert.equal(portDriverOf(conf('')), 'veth');
    assert.equal(
      portDriverOf(conf('[DEFAULT]\ndefault_port_driver = kuryr_libnetwork.port_driver.drivers.nested\nenabled_port_drivers = kuryr_libnetwork.port_driver.drivers.nested\n[binding]\ndefault_driver = kuryr.lib.binding.drivers.macvlan\nenabled_drivers = kuryr.lib.binding.drivers.macvlan\n')),
      'nested',
    );
    assert.throws(() => portDriverOf(conf('[DEFAULT]\ndefault_port_driver = nested\n')), /not in enabled_port_drivers/);
    assert.throws(() => portDriverOf(conf('[DEFAULT]\ndefault_port_driver = nested\nenabled_port_drivers = nested\n')), /needs \[binding\] default_driver kuryr\.lib\.binding\.drivers\.macvlan/);
    assert.throws(() => portDriverOf(conf('[binding]\nenabled_drivers = veth, ipvlan\n')), /ipvlan is not allowed/);
  });
});
