/**
 * The reconciler over the fakes: what a crash leaves (a port RequestAddress
 * made, a plugged veth and OVS port, a half-made network with its subnet and
 * pool, an --expose group) is found and removed after the grace period; what
 * is in use, in flight, another host's, or a user's is left alone (a user's
 * port only reset), and the report says why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { POOL_DEVICE_ID, idTags, networkDescription } from '../../src/domain/naming.js';
import { Reconciler } from '../../src/domain/reconciler.js';
import type { ReconcileReport } from '../../src/domain/reconcile-report.js';
import { FakeDocker } from '../fake-docker.js';
import { buildDriver, dockerId, dockerMac, settings, type DriverOptions } from '../harness.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

function setup(neutron = new FakeNeutron(), opts: DriverOptions = {}) {
  const docker = new FakeDocker();
  const clock = { now: T0 };
  const d = buildDriver(neutron, { ...opts, reconcile: { docker, graceS: 600, now: () => clock.now } });
  /** `docker network create` (Docker records the network). */
  const network = async (cidr: string, gw: string, generic: Record<string, string> = {}) => {
    const net = await d.createNetwork(cidr, gw, generic);
    docker.addNetwork(net.networkId);
    return net;
  };
  /** `docker run --net` (Docker records the endpoint). */
  const container = async (net: { networkId: string; poolId: string }, ip = '') => {
    const ep = await d.attach(net, ip);
    docker.addEndpoint(net.networkId, ep.endpointId);
    return ep;
  };
  const run = (dryRun = false): Promise<ReconcileReport> => d.reconciler.run({ dryRun });
  return { d, docker, clock, network, container, run };
}

/** "kind outcome" of each finding, sorted. */
const outcomes = (r: ReconcileReport): string[] => r.findings.map((f) => `${f.kind} ${f.outcome}`).sort();
const finding = (r: ReconcileReport, id: string) => r.findings.find((f) => f.id === id);

describe('reconciler', () => {
  it("leaves a live container's port, veth, OVS port, network, subnet and pool alone", async () => {
    const { d, network, container, run } = setup();
    const net = await network('10.150.0.0/24', '10.150.0.1');
    await container(net);
    const report = await run();
    assert.deepEqual(report.findings, []);
    assert.deepEqual(report.inUse, { port: 1, host: 1, network: 1, subnetpool: 1 });
    assert.equal(report.complete, true);
    assert.deepEqual([d.neutron.ports.length, d.links.links.size, d.ovs.ports.size, d.neutron.networks.length, d.neutron.pools.length], [1, 1, 1, 1, 1]);
  });

  it('kill -9 after RequestAddress made its port: removed once the grace period has passed, not before', async () => {
    const { d, clock, network, run } = setup();
    const net = await network('10.151.0.0/24', '10.151.0.1');
    await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': dockerMac() } });
    const port = d.neutron.ports[0]!;
    assert.match(port.device_id, /^kuryr-request:/, 'the hand-out is on the port before the reply');
    d.restart(); // the daemon died before Docker's CreateEndpoint

    clock.now = Date.parse(port.updated_at!) + 30_000;
    let report = await run();
    assert.equal(finding(report, port.id)?.outcome, 'left');
    assert.match(finding(report, port.id)!.reason, /no endpoint took.*changed 30 s ago, within the grace period \(600 s\)/);
    assert.equal(d.neutron.ports.length, 1);

    clock.now = Date.parse(port.updated_at!) + 601_000;
    report = await run();
    assert.equal(finding(report, port.id)?.outcome, 'removed');
    assert.equal(d.neutron.ports.length, 0);
    assert.equal(d.neutron.networks.length, 1, 'the network is in use by its Docker network');
  });

  it('a hand-out of this daemon is in hand for the grace period, whatever Neutron\'s clock says', async () => {
    const { d, clock, network, run } = setup();
    const net = await network('10.152.0.0/24', '10.152.0.1');
    await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': dockerMac() } });
    const port = d.neutron.ports[0]!;
    let report = await run();
    assert.match(finding(report, port.id)!.reason, /this daemon has it in hand/);
    clock.now += 601_000;
    report = await run();
    assert.equal(finding(report, port.id)?.outcome, 'removed');
  });

  it('never while a request for it is in flight in this daemon', async () => {
    const { d, network, run } = setup();
    const net = await network('10.166.0.0/24', '10.166.0.1');
    await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': dockerMac() } });
    d.restart();
    const port = d.neutron.ports[0]!;
    const release = d.ledger.hold(port.device_id); // e.g. CreateEndpoint working on it
    assert.match(finding(await run(), port.id)!.reason, /this daemon has it in hand/);
    release();
    assert.equal(finding(await run(), port.id)?.outcome, 'removed');
  });

  it('kill -9 after the veth was plugged, before Docker had the endpoint: the Neutron port, the veth and its OVS port go', async () => {
    const { d, network, run } = setup();
    const net = await network('10.153.0.0/24', '10.153.0.1');
    const ep = await d.attach(net); // Docker never recorded the endpoint
    assert.equal(d.links.links.size, 1);
    d.restart();
    const report = await run();
    assert.deepEqual(outcomes(report), ['host removed', 'port removed']);
    assert.match(finding(report, ep.endpointId)!.reason, /Docker endpoint .* is gone/);
    assert.deepEqual([d.neutron.ports.length, d.links.links.size, d.ovs.ports.size], [0, 0, 0]);
  });

  it('a port Neutron marks down between the list and the re-read (OVN reporting late) is still removed; one another request took meanwhile is left', async () => {
    /** Neutron, with a change landing on a port between the reconciler's list and its re-read of that port. */
    class Drifting extends FakeNeutron {
      drift: ((row: Record<string, unknown>) => void) | undefined;
      override async show<R extends Parameters<FakeNeutron['show']>[0]>(resource: R, id: string) {
        const copy = await super.show(resource, id);
        if (resource === 'ports' && this.drift) {
          const row = this.ports.find((p) => p.id === id) as unknown as Record<string, unknown>;
          this.drift(row);
          this.drift = undefined;
          Object.assign(copy, structuredClone(row));
        }
        return copy;
      }
    }
    const neutron = new Drifting();
    const { d, network, run } = setup(neutron);
    const net = await network('10.153.2.0/24', '10.153.2.1');
    await d.attach(net); // Docker never recorded the endpoint
    d.restart();
    neutron.drift = (row) => Object.assign(row, { status: 'DOWN', updated_at: '2030-01-01T00:00:09Z', revision_number: 9 });
    assert.deepEqual(outcomes(await run()), ['host removed', 'port removed']);
    assert.equal(d.neutron.ports.length, 0);

    await d.attach(net);
    d.restart();
    const port = d.neutron.ports[0]!;
    neutron.drift = (row) => Object.assign(row, { device_id: dockerId(), updated_at: '2030-01-01T00:00:09Z' });
    const report = await run();
    assert.equal(finding(report, port.id)?.outcome, 'left');
    assert.match(finding(report, port.id)!.reason, /it changed meanwhile/);
    assert.equal(d.neutron.ports.length, 1);
  });

  it('a port whose tags Neutron answers in another order on the re-read is still removed (tags have no order)', async () => {
    const { d, network, run } = setup(new FakeNeutron({ tagsInAnyOrder: true }));
    const net = await network('10.153.1.0/24', '10.153.1.1');
    await d.attach(net); // Docker never recorded the endpoint
    d.restart();
    const report = await run();
    assert.deepEqual(outcomes(report), ['host removed', 'port removed']);
    assert.deepEqual([d.neutron.ports.length, d.links.links.size, d.ovs.ports.size], [0, 0, 0]);
  });

  it('a veth and OVS port with the owner mark and no Neutron port go; a live endpoint whose port vanished is left to DeleteEndpoint', async () => {
    const { d, docker, network, container, run } = setup();
    const net = await network('10.154.0.0/24', '10.154.0.1');
    const live = await container(net);
    // A stale pair: a port id and an endpoint nobody has any more.
    const staleEndpoint = dockerId();
    await d.links.createVeth({ hostName: 'tapdeadbeef-00', peerName: 't_cdeadbeef-00', mtu: 1500, peerMac: dockerMac(), alias: `kuryr:${staleEndpoint}` });
    await d.ovs.addPort('br-int', 'tapdeadbeef-00', { 'iface-id': 'deadbeef-0000-4000-8000-000000000000', 'vm-uuid': staleEndpoint, owner: 'kuryr' });
    // The live container's port deleted behind Docker's back.
    await d.neutron.delete('ports', d.neutron.ports[0]!.id);
    const report = await run();
    assert.equal(finding(report, staleEndpoint)?.outcome, 'removed');
    assert.match(finding(report, staleEndpoint)!.reason, /Docker endpoint .* and its Neutron port are gone/);
    assert.equal(finding(report, live.endpointId)?.outcome, 'left');
    assert.match(finding(report, live.endpointId)!.reason, /exists but its Neutron port is gone .*left for Docker's DeleteEndpoint/);
    assert.deepEqual([...d.links.links.keys()].length, 1, "the live container's veth stays");
    assert.equal(d.ovs.ports.size, 1);
    assert.ok(docker.nets.get(net.networkId)!.endpoints.has(live.endpointId));
  });

  it('a crash in the middle of CreateNetwork: the network, its subnet and its pool go (the Docker network never existed)', async () => {
    const { d, run } = setup();
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.155.0.0/24', SubPool: '', Options: {}, V6: false });
    // The subnet's tag fails and so does every undo: what a kill -9 at that point leaves.
    d.neutron.failNext(/PUT subnets\/tags/, 500);
    d.neutron.failNext(/DELETE subnets/, 500);
    d.neutron.failNext(/DELETE networks/, 500);
    const res = await d.call('NetworkDriver.CreateNetwork', {
      NetworkID: dockerId(),
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.155.0.0/24', Gateway: '10.155.0.1/24' }],
      IPv6Data: [],
    });
    assert.equal(res.status, 503);
    assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length, d.neutron.pools.length], [1, 1, 1]);
    assert.match(d.neutron.networks[0]!.description!, /^kuryr-ts: Docker network [0-9a-f]{64} on host testhost$/);
    d.restart();
    const dry = await run(true);
    assert.deepEqual(outcomes(dry), ['network would-remove', 'subnetpool would-remove']);
    assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length, d.neutron.pools.length], [1, 1, 1], 'a dry run changes nothing');
    const report = await run();
    assert.deepEqual(outcomes(report), ['network removed', 'subnetpool removed']);
    assert.equal(finding(report, String(pool.PoolID))?.outcome, 'removed');
    assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length, d.neutron.pools.length], [0, 0, 0]);
  });

  it('a network made here but adopted by another host is left alone and reported; another host\'s network is not judged here', async () => {
    const { d, docker, network, run } = setup();
    const net = await network('10.156.0.0/24', '10.156.0.1');
    const neutronNet = d.neutron.networks[0]!;
    const other = dockerId();
    for (const t of idTags(other)) await d.neutron.addTag('networks', neutronNet.id, t); // host2: -o neutron.net.name=kuryr-net-…
    docker.nets.delete(net.networkId); // this host's Docker network is gone (a crash in DeleteNetwork)
    const theirs = await d.neutron.create('networks', { name: 'kuryr-net-0badcafe', description: networkDescription('0badcafe'.repeat(8), 'host2') });
    const report = await run();
    assert.equal(finding(report, neutronNet.id)?.outcome, 'left');
    assert.match(finding(report, neutronNet.id)!.reason, /other Docker networks reference it \(/);
    assert.equal(finding(report, theirs.id), undefined, "its maker's to judge");
    assert.equal(d.neutron.networks.length, 2);
  });

  it('a network that still has ports (another host\'s container) is left alone, with the reason', async () => {
    const { d, docker, network, run } = setup();
    const net = await network('10.157.0.0/24', '10.157.0.1');
    const neutronNet = d.neutron.networks[0]!;
    await d.neutron.create('ports', { network_id: neutronNet.id, device_owner: 'compute:kuryr', 'binding:host_id': 'host2', device_id: dockerId() });
    await d.neutron.create('ports', { network_id: neutronNet.id, device_owner: 'network:dhcp' });
    docker.nets.delete(net.networkId);
    const report = await run();
    assert.match(finding(report, neutronNet.id)!.reason, /1 port\(s\) are on it \(compute:kuryr\)/);
    assert.equal(d.neutron.networks.length, 1);
  });

  it("a user's pre-created port is reset, never deleted; a port another service prepared is left alone", async () => {
    const { d, network, run } = setup();
    const net = await network('10.158.0.0/24', '10.158.0.1');
    const neutronNet = d.neutron.networks[0]!;
    const userPort = await d.neutron.create('ports', { network_id: neutronNet.id, name: 'my-port', fixed_ips: [{ ip_address: '10.158.0.9' }] });
    await d.attach(net, '10.158.0.9'); // Docker lost the endpoint (never recorded here)
    const zun = await d.neutron.create('ports', { network_id: neutronNet.id, device_owner: 'compute:kuryr', device_id: 'container-uuid', 'binding:host_id': 'testhost' });
    d.restart();
    const report = await run();
    assert.equal(finding(report, userPort.id)?.outcome, 'reset');
    assert.equal(finding(report, zun.id)?.outcome, 'left');
    assert.match(finding(report, zun.id)!.reason, /another service prepared it/);
    const p = await d.neutron.show('ports', userPort.id);
    assert.deepEqual([p['binding:host_id'], p.device_owner, p.name, p.tags], ['', '', 'my-port', []]);
    assert.equal(d.neutron.ports.length, 2);
  });

  it('Docker not answering: nothing that depends on it is touched, and the report says the pass was incomplete', async () => {
    const { d, docker, network, run } = setup();
    const net = await network('10.159.0.0/24', '10.159.0.1');
    await d.attach(net);
    d.restart();
    docker.down = true;
    const report = await run();
    assert.equal(report.complete, false);
    assert.match(report.skipped.join('\n'), /the Docker Engine did not answer .*ECONNREFUSED/);
    assert.deepEqual(report.findings, []);
    assert.equal(d.neutron.ports.length, 1);
    assert.equal(d.links.links.size, 1);
  });

  it('free pool ports: the pool\'s are in use; with pools off they go', async () => {
    const neutron = new FakeNeutron();
    const { d, network, container, run } = setup(neutron, { portPool: { min: 2, batch: 3, max: 0 } });
    const net = await network('10.160.0.0/24', '10.160.0.1');
    await container(net);
    await d.idle();
    let report = await run();
    assert.deepEqual(report.findings, []);
    assert.equal(report.inUse.port, 4, 'the endpoint port and three free pool ports');
    d.restart();
    assert.equal(await d.portPool!.recover(), 3);
    report = await run();
    assert.deepEqual(report.findings, []);

    // The same host without pools now: its free pool ports are leftovers.
    const docker = new FakeDocker();
    docker.addNetwork(net.networkId);
    for (const n of d.neutron.ports.filter((p) => p.device_id !== POOL_DEVICE_ID)) docker.addEndpoint(net.networkId, n.device_id);
    const plain = buildDriver(neutron, { reconcile: { docker, now: () => T0 } });
    report = await plain.reconciler.run({ dryRun: false });
    assert.deepEqual(outcomes(report), ['port removed', 'port removed', 'port removed']);
    assert.match(report.findings[0]!.reason, /a free pool port, and port pools are off/);
    assert.equal(neutron.ports.length, 1);
  });

  it('an --expose group whose port is gone is removed; one whose port lives is in use', async () => {
    const { d, network, container, run } = setup();
    const net = await network('10.161.0.0/24', '10.161.0.1');
    const ep = await d.attach(net, '', [{ Proto: 6, Port: 80 }]);
    d.restart(); // Docker lost that endpoint; its port and group are leftovers
    await container(net, '');
    const stray = await d.neutron.create('security-groups', { name: '11111111-2222-4333-8444-555555555555-exposed_ports', description: 'Docker exposed ports created by Kuryr.' });
    const user = await d.neutron.create('security-groups', { name: 'web', description: 'mine' });
    const report = await run();
    const groups = report.findings.filter((f) => f.kind === 'security-group');
    assert.equal(groups.length, 2);
    assert.ok(groups.every((g) => g.outcome === 'removed'));
    assert.ok(groups.some((g) => g.id === stray.id));
    assert.equal(finding(report, user.id), undefined);
    assert.equal(d.neutron.ports.length, 1);
    assert.notEqual(d.neutron.ports[0]!.device_id, ep.endpointId, "the lost endpoint's port is gone");
    assert.deepEqual(
      [...d.neutron.tables['security-groups'].values()].map((g) => g.name).sort(),
      ['default', 'web'],
    );
  });

  it("kuryr's subnet on a user's network that no Docker network references any more goes; the network stays", async () => {
    const { d, clock, run } = setup();
    const userNet = await d.neutron.create('networks', { name: 'tenant-net' });
    await d.createNetwork('10.162.0.0/24', '10.162.0.1', { 'neutron.net.uuid': userNet.id });
    // A crash in DeleteNetwork: the tags are gone, the subnet kuryr made is not.
    await d.neutron.replaceTags('networks', userNet.id, []);
    clock.now += 601_000; // RequestPool's hand-out of the pool has expired
    const report = await run();
    assert.deepEqual(outcomes(report), ['subnet removed', 'subnetpool removed']);
    assert.deepEqual([d.neutron.networks.length, d.neutron.subnets.length, d.neutron.pools.length], [1, 0, 0]);
  });

  it('global scope: no network is ever removed (one Docker network id lives on several hosts)', async () => {
    const { d, run } = setup();
    await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.163.0.0/24', SubPool: '', Options: {}, V6: false });
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: dockerId(),
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.163.0.0/24', Gateway: '10.163.0.1/24' }],
      IPv6Data: [],
    });
    const global = new Reconciler({
      ...d.reconciler,
      settings: { ...settings, capabilityScope: 'global' },
      reconcile: d.reconciler.reconcile,
      now: () => T0,
    });
    const report = await global.run({ dryRun: false });
    assert.deepEqual(report.findings, []);
    assert.match(report.notes.join('\n'), /capability_scope = global/);
    assert.equal(d.neutron.networks.length, 1);
    assert.equal((await run()).findings.filter((f) => f.kind === 'network').length, 1, 'in local scope it would go');
  });

  it('POST /kuryr/reconcile answers the report; /kuryr/stats counts the removals', async () => {
    const { d, network, run } = setup();
    const net = await network('10.164.0.0/24', '10.164.0.1');
    await d.attach(net);
    d.restart();
    const dry = await d.call('kuryr/reconcile', { dryRun: true });
    assert.equal(dry.status, 200);
    assert.deepEqual(outcomes(dry.json as unknown as ReconcileReport), ['host would-remove', 'port would-remove']);
    await run();
    const stats = (await d.pluginStats()) as { reconcile: { removed: Record<string, number> }; ledger: Record<string, number> };
    assert.deepEqual(stats.reconcile.removed, { host: 1, port: 1 });
    assert.ok(stats.ledger);
    const res = await d.callRaw('kuryr/reconcile', '{"dryRun": "yes"}\n');
    assert.equal(res.status, 400);
    assert.deepEqual(d.reconciler.totals().removed, { host: 1, port: 1 });
    assert.equal(d.reconciler.totals().runs, 2);
  });

  it('Neutron without tags: ports are judged by their names and device_id; networks are left (noted)', async () => {
    const { d, network, run } = setup(new FakeNeutron(), { tagging: false });
    const net = await network('10.165.0.0/24', '10.165.0.1');
    const ep = await d.attach(net); // Docker never recorded it
    d.restart();
    const report = await run();
    assert.deepEqual(outcomes(report), ['host removed', 'port removed']);
    assert.match(finding(report, ep.endpointId)!.reason, /Docker endpoint/);
    assert.match(report.notes.join('\n'), /no tag extension/);
    assert.equal(report.complete, true);
    assert.equal(d.neutron.networks.length, 1);
  });
});
