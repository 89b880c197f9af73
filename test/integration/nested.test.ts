/**
 * Nested containers, with a "VM" made of a network namespace plugged into
 * br-int as a Neutron port (as Nova would plug it), a kuryr daemon running
 * inside that VM (port driver nested, macvlan on its eth0), and the plugin
 * protocol driven as Docker drives it — including Docker's move of the
 * interface into a container namespace. Packets go container → macvlan →
 * VM NIC → OVN, admitted by the allowed address pairs kuryr put on the VM
 * port. Also: trunk subports of the VLAN driver against the real Neutron
 * (this kernel has no 802.1q, so its host side is unit-tested).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { VlanBinder } from '@kuryr-ts/kuryr/binding/vlan-binder';
import { VmPort } from '@kuryr-ts/kuryr/binding/vm-port';
import type { LinkOps } from '@kuryr-ts/kuryr/ports/host-net';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { startDaemon, type TestDaemon } from './daemons.js';
import { RUN_PREFIX, hostId, neutron, pluginCall, sh, waitFor } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  if (process.env.KURYR_TEST_PAUSE) await new Promise((r) => setTimeout(r, Number(process.env.KURYR_TEST_PAUSE) * 1000));
  for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
});

const ip = (...args: string[]) => sh('ip', args);
const id64 = (c: string) => c.repeat(64);

/** A namespace plugged into br-int as Neutron port `port` (bind before plug), tx checksum offload off. */
async function plugNamespace(ns: string, port: NeutronPort, tap: string): Promise<void> {
  await ip('netns', 'add', ns);
  cleanups.push(() => ip('netns', 'del', ns));
  await ip('link', 'add', tap, 'type', 'veth', 'peer', 'name', `${tap}p`);
  cleanups.push(() => ip('link', 'del', tap));
  await ip('link', 'set', `${tap}p`, 'netns', ns);
  await ip('-n', ns, 'link', 'set', `${tap}p`, 'name', 'eth0');
  await ip('-n', ns, 'link', 'set', 'eth0', 'address', port.mac_address);
  await ip('-n', ns, 'addr', 'add', `${port.fixed_ips[0]!.ip_address}/24`, 'dev', 'eth0');
  await ip('-n', ns, 'link', 'set', 'eth0', 'up');
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  await sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
  await sh('ovs-vsctl', ['add-port', 'br-int', tap, '--', 'set', 'Interface', tap, `external_ids:iface-id=${port.id}`, `external_ids:attached-mac=${port.mac_address}`, 'external_ids:iface-status=active']);
  cleanups.push(() => sh('ovs-vsctl', ['--if-exists', 'del-port', 'br-int', tap]));
  await ip('link', 'set', tap, 'up');
}

/** TCP relay on `listenHost` to 127.0.0.1 (the VM reaches Neutron and Keystone through it). */
function relay(listenHost: string, port: number): Promise<Server> {
  const server = createServer((c) => {
    const up = createConnection({ host: '127.0.0.1', port });
    c.pipe(up).pipe(c);
    const close = () => { c.destroy(); up.destroy(); };
    c.on('error', close);
    up.on('error', close);
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, listenHost, () => resolve(server)));
}

describe('nested containers (kuryr inside a VM)', { timeout: 300_000 }, () => {
  it('macvlan on the VM NIC + allowed address pairs: a container in the VM pings a Neutron port', async () => {
    const tag = RUN_PREFIX.slice(-5);
    const net = await neutron.create('networks', { name: `${RUN_PREFIX}-vmnet` });
    cleanups.push(() => neutron.delete('networks', net.id));
    const subnet = await neutron.create('subnets', { network_id: net.id, cidr: '10.193.0.0/24', ip_version: 4, gateway_ip: '10.193.0.1' });
    const vmPort = await neutron.create('ports', { network_id: net.id, name: `${RUN_PREFIX}-vm`, device_owner: 'compute:nova', device_id: `${RUN_PREFIX}-vm`, 'binding:host_id': hostId() });
    cleanups.push(() => neutron.delete('ports', vmPort.id));
    const peer = await neutron.create('ports', { network_id: net.id, name: `${RUN_PREFIX}-peer`, port_security_enabled: false, 'binding:host_id': hostId() });
    cleanups.push(() => neutron.delete('ports', peer.id));
    const [vmNs, peerNs, ctrNs] = [`kvm${tag}`, `kpe${tag}`, `kct${tag}`];
    await plugNamespace(vmNs, vmPort, `tvm${tag}`);
    await plugNamespace(peerNs, peer, `tpe${tag}`);

    // The VM's path to the control plane: a link to the root namespace and a relay there.
    // A link-local /30 of our own per run: concurrent runs (other developers' test runs) do not collide.
    const third = 20 + (process.pid % 200);
    const [hostSide, vmSide] = [`169.254.${third}.1`, `169.254.${third}.2`];
    await ip('link', 'add', `rl${tag}`, 'type', 'veth', 'peer', 'name', `rl${tag}p`);
    cleanups.push(() => ip('link', 'del', `rl${tag}`));
    await ip('link', 'set', `rl${tag}p`, 'netns', vmNs);
    await ip('addr', 'add', `${hostSide}/30`, 'dev', `rl${tag}`);
    await ip('link', 'set', `rl${tag}`, 'up');
    await ip('-n', vmNs, 'addr', 'add', `${vmSide}/30`, 'dev', `rl${tag}p`);
    await ip('-n', vmNs, 'link', 'set', `rl${tag}p`, 'up');
    for (const port of [9696, 5000]) {
      const server = await relay(hostSide, port);
      cleanups.push(() => new Promise((r) => server.close(r)));
    }

    const socket = `/run/kuryr-lab/test/${RUN_PREFIX}-nested.sock`;
    const daemon: TestDaemon = await startDaemon(
      `${RUN_PREFIX}nested`,
      [
        'default_port_driver = kuryr_libnetwork.port_driver.drivers.nested',
        'enabled_port_drivers = kuryr_libnetwork.port_driver.drivers.nested',
        '[binding]',
        'default_driver = kuryr.lib.binding.drivers.macvlan',
        'enabled_drivers = kuryr.lib.binding.drivers.macvlan',
        'link_iface = eth0',
        '[neutron]',
        `auth_url = http://${hostSide}:5000/v3`,
        `endpoint_override = http://${hostSide}:9696`,
      ].join('\n'),
      { prefix: ['ip', 'netns', 'exec', vmNs], socket },
    );
    cleanups.push(() => daemon.stop());
    const call = async (method: string, body: unknown) => {
      const res = await pluginCall(method, JSON.stringify(body), socket);
      assert.equal(res.status, 200, `${method}: ${res.body}`);
      return JSON.parse(res.body) as Record<string, unknown>;
    };

    // docker network create -d kuryr --ipam-driver kuryr --subnet 10.193.0.0/24 (no -o: the VM's network)
    const networkId = randomBytes(32).toString('hex');
    const pool = await call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.193.0.0/24', SubPool: '', Options: {}, V6: false });
    const gw = await call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '10.193.0.1', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    await call('NetworkDriver.CreateNetwork', { NetworkID: networkId, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ AddressSpace: 'x', Pool: '10.193.0.0/24', Gateway: gw.Address }], IPv6Data: [] });
    assert.ok((await neutron.show('networks', net.id)).tags.some((t) => t.startsWith('kuryr.net.existing:')), 'the VM network was adopted');

    // docker run: RequestAddress, CreateEndpoint, Join, then Docker moves SrcName into the container
    const endpointId = randomBytes(32).toString('hex');
    const mac = `02:42:0a:c1:${randomBytes(2).toString('hex').replace(/(..)(..)/, '$1:$2')}`;
    const addr = await call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    await call('NetworkDriver.CreateEndpoint', { NetworkID: networkId, EndpointID: endpointId, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac }, Options: {} });
    const join = await call('NetworkDriver.Join', { NetworkID: networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/0123456789ab', Options: {} });
    const src = (join.InterfaceName as { SrcName: string }).SrcName;
    const containerIp = String(addr.Address).split('/')[0]!;
    const pairs = (await neutron.show('ports', vmPort.id)).allowed_address_pairs ?? [];
    assert.deepEqual(pairs.map((p) => [p.ip_address, p.mac_address]), [[containerIp, mac]], 'the container is an allowed address pair of the VM port');
    const containerPort = (await neutron.list('ports', { network_id: net.id })).find((p) => p.fixed_ips.some((f) => f.ip_address === containerIp))!;
    assert.equal(containerPort['binding:host_id'], '', 'nested container ports stay unbound');

    await ip('netns', 'add', ctrNs);
    cleanups.push(() => ip('netns', 'del', ctrNs));
    await ip('-n', vmNs, 'link', 'set', src, 'netns', ctrNs);
    await ip('-n', ctrNs, 'link', 'set', src, 'name', 'eth0');
    await ip('-n', ctrNs, 'addr', 'add', String(addr.Address), 'dev', 'eth0');
    await ip('-n', ctrNs, 'link', 'set', 'eth0', 'up');
    const ping = await waitFor('ping from the nested container', async () =>
      sh('ip', ['netns', 'exec', ctrNs, 'busybox', 'ping', '-c', '2', '-W', '2', peer.fixed_ips[0]!.ip_address]).catch(() => undefined),
    ).catch(async (err: Error) => {
      // What the namespaces looked like, for whoever reads the failure.
      const state = await Promise.all([
        ip('-n', ctrNs, '-d', 'addr'),
        ip('-n', vmNs, '-d', 'link'),
        sh('ovs-vsctl', ['list-ports', 'br-int']),
        sh('ovn-nbctl', ['lsp-get-port-security', vmPort.id]),
        sh('ovn-nbctl', ['lsp-get-addresses', vmPort.id]),
        sh('ovn-nbctl', ['lsp-get-addresses', peer.id]),
        sh('ip', ['netns', 'exec', ctrNs, 'ip', 'neigh']),
        neutron.show('ports', vmPort.id).then((p) => JSON.stringify([p.status, p.allowed_address_pairs, p.security_groups])),
      ]).catch((e: Error) => e.message);
      throw new Error(`${err.message}\n${String(state)}`, { cause: err });
    });
    assert.match(ping, /2 packets received/);

    // docker stop: Leave, the interface goes back to the VM, DeleteEndpoint, ReleaseAddress
    await call('NetworkDriver.Leave', { NetworkID: networkId, EndpointID: endpointId });
    await ip('-n', ctrNs, 'link', 'set', 'eth0', 'down');
    await ip('-n', ctrNs, 'link', 'set', 'eth0', 'name', src);
    await ip('-n', ctrNs, 'link', 'set', src, 'netns', vmNs);
    await call('NetworkDriver.DeleteEndpoint', { NetworkID: networkId, EndpointID: endpointId });
    await call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: containerIp });
    assert.deepEqual((await neutron.show('ports', vmPort.id)).allowed_address_pairs, [], 'pairs removed');
    assert.deepEqual(await neutron.list('ports', { id: containerPort.id }), [], 'container port deleted');
    assert.doesNotMatch(await ip('-n', vmNs, '-br', 'link'), /t_c/, 'macvlan gone');
    // docker network rm
    await call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: '10.193.0.1' });
    await call('IpamDriver.ReleasePool', { PoolID: pool.PoolID });
    await call('NetworkDriver.DeleteNetwork', { NetworkID: networkId });
    const after = await neutron.show('networks', net.id);
    assert.deepEqual(after.tags, [], 'the VM network is kept, untagged');
    assert.deepEqual((await neutron.show('subnets', subnet.id)).tags, []);
  });

  it('VLAN driver: trunk subports with the lowest free segmentation id on the real Neutron', async () => {
    const net = await neutron.create('networks', { name: `${RUN_PREFIX}-trunknet` });
    cleanups.push(() => neutron.delete('networks', net.id));
    await neutron.create('subnets', { network_id: net.id, cidr: '10.194.0.0/24', ip_version: 4 });
    const parent = await neutron.create('ports', { network_id: net.id, name: `${RUN_PREFIX}-trunk-parent` });
    cleanups.push(() => neutron.delete('ports', parent.id));
    const trunkRes = await sh('openstack', ['--os-cloud', 'lab-admin', 'network', 'trunk', 'create', '--parent-port', parent.id, `${RUN_PREFIX}-trunk`, '-f', 'value', '-c', 'id']);
    const trunkId = trunkRes.trim();
    cleanups.push(() => sh('openstack', ['--os-cloud', 'lab-admin', 'network', 'trunk', 'delete', trunkId]));
    const children = await Promise.all([1, 2, 3].map((i) => neutron.create('ports', { network_id: net.id, name: `${RUN_PREFIX}-sub${i}` })));
    for (const c of children) cleanups.push(() => neutron.delete('ports', c.id));
    // The host side is a stub: this kernel has no 802.1q (ip link add type vlan fails here).
    const hostStub = { macOf: async () => parent.mac_address, deleteLink: async () => false, createVlan: async () => undefined } as unknown as LinkOps;
    const vm = new VmPort(neutron, hostStub, 'eth0');
    const binder = new VlanBinder(neutron, hostStub, vm, () => undefined);
    for (const c of children.slice(0, 2)) await binder.bind({ port: c, endpointId: id64('c'), mtu: 1442 });
    const segs = async () => ((await neutron.show('ports', parent.id)).trunk_details?.sub_ports ?? []).map((s) => [s.port_id, s.segmentation_id]).sort((a, b) => Number(a[1]) - Number(b[1]));
    assert.deepEqual(await segs(), [[children[0]!.id, 1], [children[1]!.id, 2]]);
    await binder.unbind({ portId: children[0]!.id, endpointId: id64('c') });
    await binder.bind({ port: children[2]!, endpointId: id64('c'), mtu: 1442 });
    assert.deepEqual(await segs(), [[children[2]!.id, 1], [children[1]!.id, 2]], 'id 1 reused, nothing leaked');
    for (const c of children.slice(1)) await binder.unbind({ portId: c.id, endpointId: id64('c') });
    assert.deepEqual(await segs(), []);
  });
});
