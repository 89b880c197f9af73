/**
 * CNI attachments over the fakes, through the daemon's CNI routes: ADD makes
 * a bound port and plugs it as for Docker (veth, OVS external_ids) with the
 * container end in the namespace; CHECK, DEL (idempotent), pre-created ports,
 * port pools, undo on failure, the CNI error codes, and the reconciler's
 * removal of what a crash or a namespace deleted without DEL leaves.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { CNI_DEVICE_OWNER, cniPortName, cniTags } from '../../src/domain/cni-naming.js';
import { FakeDocker } from '../fake-docker.js';
import { buildDriver, type DriverOptions } from '../harness.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const NETNS = '/var/run/netns/cni-test';

function setup(opts: DriverOptions = {}) {
  const neutron = new FakeNeutron();
  const net = neutron.add('networks', { name: 'pods', mtu: 1442 });
  const subnet = neutron.add('subnets', { name: 'pods-v4', network_id: net.id, cidr: '10.175.0.0/24', gateway_ip: '10.175.0.1', ip_version: 4, dns_nameservers: ['10.175.0.2'] });
  net.subnets.push(subnet.id);
  const clock = { now: T0 };
  const docker = new FakeDocker();
  const d = buildDriver(neutron, { ...opts, reconcile: { docker, graceS: 600, now: () => clock.now } });
  // As ovn-controller does: the port turns ACTIVE once its iface-id is on the integration bridge.
  d.ovs.onAdd = (_name, ids) => {
    const p = neutron.tables.ports.get(ids['iface-id'] ?? '');
    if (p) p.status = 'ACTIVE';
  };
  d.netns.create(NETNS);
  const containerId = randomBytes(32).toString('hex');
  const body = (extra: Record<string, unknown> = {}, config: Record<string, unknown> = { neutron: { network: 'pods' } }) => ({
    cniVersion: '1.0.0',
    containerId,
    netns: NETNS,
    ifname: 'eth0',
    args: {},
    config: { cniVersion: '1.0.0', name: 'kuryr', type: 'kuryr-cni', ...config },
    ...extra,
  });
  const cni = (verb: string, b: unknown) => d.call(`kuryr/cni/${verb}`, b);
  return { d, neutron, net, subnet, clock, containerId, body, cni };
}

describe('CNI attachments', () => {
  it('ADD: a port bound here with the CNI footprint, plugged into OVS as for Docker, the container end in the namespace; the result in CNI 1.0.0', async () => {
    const { d, neutron, net, containerId, body, cni } = setup();
    const res = await cni('add', body());
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const [port] = neutron.ports;
    assert.ok(port);
    assert.equal(port.network_id, net.id);
    assert.equal(port.device_owner, CNI_DEVICE_OWNER);
    assert.equal(port.device_id, containerId);
    assert.equal(port.name, cniPortName(containerId, 'eth0'));
    assert.equal(port.name, `kuryr-cni-${containerId.slice(0, 12)}-eth0`);
    assert.equal(port['binding:host_id'], 'testhost');
    assert.deepEqual([...port.tags].sort(), cniTags(containerId, 'eth0', 'testhost').sort());
    const tap = `tap${port.id.slice(0, 11)}`;
    assert.ok(d.links.links.has(tap));
    assert.deepEqual(d.ovs.ports.get(tap)?.externalIds, {
      'iface-id': port.id,
      'attached-mac': port.mac_address,
      'iface-status': 'active',
      'vm-uuid': `cni:${containerId}:eth0`,
      owner: 'kuryr',
    });
    const inside = await d.netns.inspect(NETNS, 'eth0');
    assert.deepEqual(inside, { mac: port.mac_address, addresses: [`${port.fixed_ips[0]!.ip_address}/24`], up: true });
    assert.equal(d.netns.namespaces.get(NETNS)!.get('eth0')!.mtu, 1442);
    assert.deepEqual(res.json, {
      cniVersion: '1.0.0',
      interfaces: [{ name: tap }, { name: 'eth0', mac: port.mac_address, sandbox: NETNS }],
      ips: [{ address: `${port.fixed_ips[0]!.ip_address}/24`, gateway: '10.175.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.175.0.1' }],
      dns: { nameservers: ['10.175.0.2'] },
    });
  });

  it('ADD in CNI 0.4.0 gives each address its version; security groups and the subnet come from the configuration', async () => {
    const { neutron, net, body, cni } = setup();
    neutron.add('subnets', { name: 'other', network_id: net.id, cidr: '10.176.0.0/24', gateway_ip: '10.176.0.1', ip_version: 4 });
    const sg = neutron.add('security-groups', { name: 'pods-sg' });
    const res = await cni('add', { ...body(undefined, { neutron: { network: net.id, subnet: 'other', security_groups: ['pods-sg'] } }), cniVersion: '0.4.0' });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const ips = res.json.ips as Array<Record<string, unknown>>;
    assert.equal(ips[0]!.version, '4');
    assert.match(String(ips[0]!.address), /^10\.176\.0\.\d+\/24$/);
    assert.deepEqual(neutron.ports[0]!.security_groups, [sg.id]);
  });

  it('CHECK passes on a fresh attachment and names what is wrong once the veth is gone', async () => {
    const { d, neutron, body, cni } = setup();
    await cni('add', body());
    assert.deepEqual(await cni('check', body()), { status: 200, json: {} });
    await d.links.deleteLink(`tap${neutron.ports[0]!.id.slice(0, 11)}`);
    const res = await cni('check', body());
    assert.equal(res.status, 409);
    assert.equal(res.json.code, 106);
    assert.match(String(res.json.details), /host end tap[\w-]+ of port .* is gone/);
  });

  it('DEL removes the port, the veth and the OVS port; DEL again, or without a namespace, succeeds', async () => {
    const { d, neutron, body, cni } = setup();
    await cni('add', body());
    assert.deepEqual(await cni('del', body()), { status: 200, json: {} });
    assert.deepEqual([neutron.ports.length, d.links.links.size, d.ovs.ports.size, d.netns.namespaces.get(NETNS)!.size], [0, 0, 0, 0]);
    assert.equal((await cni('del', body())).status, 200);
    assert.equal((await cni('del', body({ netns: '' }))).status, 200);
    d.netns.namespaces.delete(NETNS);
    assert.equal((await cni('del', body())).status, 200);
  });

  it('a repeated ADD replaces the attachment: one port, one veth', async () => {
    const { d, neutron, body, cni } = setup();
    await cni('add', body());
    assert.equal((await cni('add', body())).status, 200);
    assert.deepEqual([neutron.ports.length, d.links.links.size, d.ovs.ports.size], [1, 1, 1]);
  });

  it('a failure inside the namespace undoes everything: no port, no veth, no OVS port (CNI code 101)', async () => {
    const { d, neutron, body, cni } = setup();
    d.netns.failSetUp = true;
    const res = await cni('add', body());
    assert.equal(res.json.code, 101);
    assert.equal(res.json.kuryrCode, 'KURYR_ERR_HOST');
    assert.deepEqual([neutron.ports.length, d.links.links.size, d.ovs.ports.size], [0, 0, 0]);
  });

  it('a port that never turns ACTIVE fails ADD with "try again later" and leaves nothing', async () => {
    const { d, neutron, body, cni } = setup({ settings: { vifPluggingTimeoutS: 1 } });
    d.ovs.onAdd = undefined;
    const res = await cni('add', body());
    assert.equal(res.status, 503);
    assert.equal(res.json.code, 11);
    assert.deepEqual([neutron.ports.length, d.links.links.size, d.ovs.ports.size], [0, 0, 0]);
  });

  it('CNI errors: no network (102), no neutron section (7), no namespace (3), a bad interface name (4)', async () => {
    const { body, cni } = setup();
    assert.equal((await cni('add', body(undefined, { neutron: { network: 'nope' } }))).json.code, 102);
    assert.equal((await cni('add', body(undefined, {}))).json.code, 7);
    assert.equal((await cni('add', body({ netns: '/var/run/netns/gone' }))).json.code, 3);
    const bad = await cni('add', body({ ifname: 'a/b' }));
    assert.equal(bad.json.code, 4);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.cniVersion, '1.0.0');
  });

  it("a pre-created port (CNI_ARGS NEUTRON_PORT) is adopted, and DEL gives it back unbound and unmarked; another host's port is refused", async () => {
    const { neutron, net, body, cni } = setup();
    const user = neutron.add('ports', { name: 'mine', network_id: net.id, mac_address: 'fa:16:3e:00:00:01', fixed_ips: [{ subnet_id: net.subnets[0]!, ip_address: '10.175.0.50' }], tags: ['keep'] });
    const res = await cni('add', body({ args: { IgnoreUnknown: '1', NEUTRON_PORT: user.id } }, {}));
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(neutron.ports.length, 1);
    assert.equal((res.json.ips as Array<{ address: string }>)[0]!.address, '10.175.0.50/24');
    assert.equal(neutron.ports[0]!.device_owner, CNI_DEVICE_OWNER);
    await cni('del', body());
    const back = neutron.ports[0]!;
    assert.deepEqual([back.id, back.device_owner, back.device_id, back['binding:host_id'], back.tags], [user.id, '', '', '', ['keep']]);
    const foreign = neutron.add('ports', { network_id: net.id, 'binding:host_id': 'otherhost', device_owner: 'compute:nova', device_id: 'vm' });
    const refused = await cni('add', body({ args: { NEUTRON_PORT: foreign.id } }));
    assert.equal(refused.json.code, 103);
    assert.equal(refused.json.kuryrCode, 'KURYR_ERR_PORT_IN_USE');
  });

  it('port pools: a pool port bound ahead of time serves ADD', async () => {
    const { d, neutron, body, cni, containerId } = setup({ portPool: { min: 2, batch: 2, max: 0 } });
    await cni('add', body());
    await d.idle();
    assert.equal(neutron.ports.length, 3, 'one made on demand, two in the pool');
    const pooled = neutron.ports.filter((p) => p.device_owner !== CNI_DEVICE_OWNER).map((p) => p.id);
    d.netns.create('/var/run/netns/cni-test-2');
    const second = { ...body({ netns: '/var/run/netns/cni-test-2' }), containerId: containerId.startsWith('f') ? `e${containerId.slice(1)}` : `f${containerId.slice(1)}` };
    const res = await cni('add', second);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const mine = neutron.ports.find((p) => p.device_id === second.containerId)!;
    assert.ok(pooled.includes(mine.id), 'the pool port was taken');
    assert.equal(mine.device_owner, CNI_DEVICE_OWNER);
    assert.equal(mine.name, cniPortName(second.containerId, 'eth0'));
  });

  it('STATUS answers {} when Neutron is usable', async () => {
    const { cni } = setup();
    assert.deepEqual(await cni('status', { cniVersion: '1.1.0', config: {} }), { status: 200, json: {} });
  });

  it('GC removes this host\'s attachments the runtime no longer lists', async () => {
    const { neutron, body, cni, containerId } = setup();
    await cni('add', body());
    await cni('add', body({ ifname: 'net1' }));
    await cni('gc', { cniVersion: '1.1.0', config: { neutron: { network: 'pods' }, 'cni.dev/valid-attachments': [{ containerID: containerId, ifname: 'eth0' }] } });
    assert.deepEqual(neutron.ports.map((p) => p.name), [cniPortName(containerId, 'eth0')]);
  });
});

describe('CNI attachments and the reconciler', () => {
  it('leaves a live attachment alone (its veth is no Docker endpoint\'s)', async () => {
    const { d, body, cni } = setup();
    await cni('add', body());
    const report = await d.reconciler.run({ dryRun: false });
    assert.deepEqual(report.findings, []);
    assert.deepEqual([d.neutron.ports.length, d.links.links.size, d.ovs.ports.size], [1, 1, 1]);
  });

  it('a crash mid-ADD (port made, no veth yet) leaves nothing once the grace period has passed', async () => {
    const { d, neutron, net, clock, containerId } = setup();
    const port = await neutron.create('ports', {
      name: cniPortName(containerId, 'eth0'),
      network_id: net.id,
      device_owner: CNI_DEVICE_OWNER,
      device_id: containerId,
      'binding:host_id': 'testhost',
    });
    await neutron.replaceTags('ports', port.id, cniTags(containerId, 'eth0', 'testhost'));
    clock.now = Date.parse(neutron.ports[0]!.updated_at ?? neutron.ports[0]!.created_at!) + 1000;
    const young = await d.reconciler.run({ dryRun: false });
    assert.equal(young.findings[0]?.outcome, 'left');
    assert.equal(neutron.ports.length, 1);
    clock.now = T0;
    const report = await d.reconciler.run({ dryRun: false });
    assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.outcome}`), ['port removed']);
    assert.equal(neutron.ports.length, 0);
  });

  it('a namespace deleted without DEL (the veth went with it): the port and the OVS port are removed', async () => {
    const { d, neutron, body, cni, clock } = setup();
    await cni('add', body());
    const tap = `tap${neutron.ports[0]!.id.slice(0, 11)}`;
    d.links.links.delete(tap); // the kernel removed the pair; OVS keeps its record
    assert.equal(d.ovs.ports.size, 1);
    clock.now = T0 + 601_000; // past the time this daemon holds a port it just bound
    const report = await d.reconciler.run({ dryRun: false });
    assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.outcome}`), ['port removed']);
    assert.deepEqual([neutron.ports.length, d.ovs.ports.size], [0, 0]);
  });

  it('plumbing of an attachment whose port is gone is removed', async () => {
    const { d, neutron, body, cni, clock } = setup();
    await cni('add', body());
    await neutron.delete('ports', neutron.ports[0]!.id);
    clock.now = T0 + 601_000;
    const report = await d.reconciler.run({ dryRun: false });
    assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.outcome}`), ['host removed']);
    assert.deepEqual([d.links.links.size, d.ovs.ports.size], [0, 0]);
  });
});
