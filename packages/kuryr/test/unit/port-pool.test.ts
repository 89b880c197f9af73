import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CreateBody, NeutronPort, Query, ResourceName, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { POOL_DEVICE_ID } from '../../src/domain/naming.js';
import { RECOVERED_HOLD_MS } from '../../src/domain/port-pool.js';
import { buildDriver, dockerId } from '../harness.js';

const pool = { min: 3, batch: 4, max: 0 };

/** ML2 under load: a bulk create answers before it binds, and the ports read `unbound` for the next `reads` port lists. */
class SlowBindNeutron extends FakeNeutron {
  readonly #binding = new Map<string, number>();
  constructor(readonly reads: number) {
    super();
  }
  override async createBulk<R extends ResourceName>(resource: R, bodies: Array<CreateBody<R>>): Promise<Array<ResourceTypes[R]>> {
    const made = await super.createBulk(resource, bodies);
    if (resource === 'ports') {
      for (const p of made as NeutronPort[]) {
        this.tables.ports.get(p.id)!['binding:vif_type'] = 'unbound';
        this.#binding.set(p.id, this.reads);
      }
    }
    return made.map((p) => ({ ...p, 'binding:vif_type': 'unbound' }));
  }
  override async list<R extends ResourceName>(resource: R, query: Query = {}): Promise<Array<ResourceTypes[R]>> {
    if (resource === 'ports') {
      for (const [id, left] of this.#binding) {
        if (left > 0) this.#binding.set(id, left - 1);
        else {
          this.tables.ports.get(id)!['binding:vif_type'] = 'ovs';
          this.#binding.delete(id);
        }
      }
    }
    return super.list(resource, query);
  }
}
const marked = { ...pool, markHandOuts: true };
/** A clock the test moves. */
const clock = (): { now: () => number; advance: (ms: number) => void } => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
};

describe('port pools ([vif_pool])', () => {
  it('asks Docker for no MAC; the first container gets a port made on demand and fills the pool', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    assert.deepEqual(await d.ok('IpamDriver.GetCapabilities'), { RequiresMACAddress: false, RequiresRequestReplay: false });
    const net = await d.createNetwork('10.70.0.0/24', '10.70.0.1');
    const ep = await d.attach(net);
    const port = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ep.address.split('/')[0]);
    assert.ok(port);
    // Docker takes the port's MAC from CreateEndpoint.
    assert.deepEqual(ep.createEndpoint, { Interface: { MacAddress: port.mac_address } });
    await d.idle();
    assert.deepEqual(Object.values(d.portPool!.sizes()), [4]);
    const free = d.neutron.ports.filter((p) => p.device_id === POOL_DEVICE_ID);
    assert.equal(free.length, 4);
    for (const p of free) assert.equal(p['binding:host_id'], 'testhost');
  });

  it('hands out a bound pool port with no Neutron call in RequestAddress; it becomes an ordinary endpoint port', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.71.0.0/24', '10.71.0.1');
    await d.detach(net, await d.attach(net));
    await d.idle();
    const before = d.neutron.calls.length;
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    assert.deepEqual(d.neutron.calls.slice(before), [], 'the address comes from the pool');
    const ip = String(addr.Address).split('/')[0];
    const port = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ip)!;
    assert.equal(port.device_id, POOL_DEVICE_ID, 'the hand-out is the pool\'s own');
    await d.ok('NetworkDriver.CreateEndpoint', {
      NetworkID: net.networkId,
      EndpointID: 'e'.repeat(64),
      Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' },
      Options: {},
    });
    await d.idle();
    const used = d.neutron.ports.find((p) => p.id === port.id)!;
    assert.equal(used.device_id, 'e'.repeat(64));
    assert.ok(used.tags.includes('compute:kuryr'));
  });

  it('mark_hand_outs: RequestAddress marks the port handed out (one guarded PUT) before it answers', async () => {
    const d = buildDriver(undefined, { portPool: marked });
    const net = await d.createNetwork('10.71.1.0/24', '10.71.1.1');
    await d.detach(net, await d.attach(net));
    await d.idle();
    const before = d.neutron.calls.length;
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    assert.deepEqual(d.neutron.calls.slice(before), ['PUT ports'], 'the address comes from the pool, marked handed out');
    const port = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === String(addr.Address).split('/')[0])!;
    assert.match(port.device_id, /^kuryr-request:/);
  });

  it('a refill hands out its ports only once Neutron has bound them (ML2 answers a bulk create first)', async () => {
    const neutron = new SlowBindNeutron(2);
    const d = buildDriver(neutron, { portPool: pool });
    const net = await d.createNetwork('10.71.2.0/24', '10.71.2.1');
    await d.attach(net);
    await d.idle();
    assert.deepEqual(Object.values(d.portPool!.sizes()), [4], 'the refill read its ports again until they were bound');
    for (let i = 0; i < 4; i++) {
      const ep = await d.attach(net);
      const port = neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ep.address.split('/')[0])!;
      assert.equal(port['binding:vif_type'], 'ovs');
    }
  });

  it('new pool ports Neutron never binds are deleted, not handed out', async () => {
    const neutron = new SlowBindNeutron(1000);
    const d = buildDriver(neutron, { portPool: pool });
    const net = await d.createNetwork('10.71.3.0/24', '10.71.3.1');
    await d.attach(net);
    await d.idle();
    assert.deepEqual(d.portPool!.sizes(), {});
    assert.equal(neutron.ports.filter((p) => p.device_id === POOL_DEVICE_ID).length, 0);
  });

  it('CreateEndpoint reads a port again when its copy says unbound though it is bound to this host', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.71.4.0/24', '10.71.4.1');
    await d.attach(net);
    await d.idle();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    const ip = String(addr.Address).split('/')[0]!;
    // The copy CreateEndpoint finds (RequestAddress's hint) is stale.
    const neutronNet = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ip)!.network_id;
    const hint = d.index.takePortHint(neutronNet, ip)!;
    d.index.rememberPortHint(neutronNet, ip, { ...hint, 'binding:vif_type': 'unbound' });
    const before = d.neutron.calls.length;
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: 'b'.repeat(64), Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' }, Options: {} });
    assert.deepEqual(
      d.neutron.calls.slice(before).filter((c) => c.startsWith('GET')),
      ['GET ports/id'],
      'one read of the port; the endpoint record follows',
    );
  });

  it('CreateEndpoint keeps reading a port bound here while Neutron still has it unbound (a create found after a lost reply), a bounded number of times', async () => {
    const neutron = new FakeNeutron();
    const d = buildDriver(neutron, { portPool: pool });
    const net = await d.createNetwork('10.71.5.0/24', '10.71.5.1');
    await d.attach(net);
    await d.idle();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    const ip = String(addr.Address).split('/')[0]!;
    const port = neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ip)!;
    const row = neutron.tables.ports.get(port.id)!;
    // ML2 still binding: the next two reads say unbound, the third has the binding.
    let unboundReads = 2;
    const show = neutron.show.bind(neutron);
    neutron.show = (async (resource, id) => {
      const r = await show(resource, id);
      if (resource === 'ports' && id === port.id && unboundReads-- > 0) return { ...r, 'binding:vif_type': 'unbound' };
      return r;
    }) as typeof neutron.show;
    const hint = d.index.takePortHint(port.network_id, ip)!;
    d.index.rememberPortHint(port.network_id, ip, { ...hint, 'binding:vif_type': 'unbound' });
    const before = neutron.calls.length;
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: 'c'.repeat(64), Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' }, Options: {} });
    assert.deepEqual(neutron.calls.slice(before).filter((c) => c === 'GET ports/id'), ['GET ports/id', 'GET ports/id', 'GET ports/id'], 'read until bound');
    assert.equal(row['binding:vif_type'], 'ovs');

    // One that never binds: a bounded number of reads, then the clear error.
    const addr2 = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    const ip2 = String(addr2.Address).split('/')[0]!;
    const port2 = neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ip2)!;
    neutron.tables.ports.get(port2.id)!['binding:vif_type'] = 'unbound';
    const hint2 = d.index.takePortHint(port2.network_id, ip2)!;
    d.index.rememberPortHint(port2.network_id, ip2, { ...hint2, 'binding:vif_type': 'unbound' });
    const before2 = neutron.calls.length;
    const res = await d.call('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: 'e'.repeat(64), Interface: { Address: addr2.Address, AddressIPv6: '', MacAddress: '' }, Options: {} });
    assert.notEqual(res.status, 200);
    assert.match(String(res.json.Err), /binding:vif_type=unbound/);
    assert.equal(neutron.calls.slice(before2).filter((c) => c === 'GET ports/id').length, 6);
  });

  it('network rm deletes the pool ports first; nothing is left', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.72.0.0/24', '10.72.0.1');
    const ep = await d.attach(net);
    await d.idle();
    await d.detach(net, ep);
    await d.ok('NetworkDriver.DeleteNetwork', { NetworkID: net.networkId });
    await d.idle();
    assert.deepEqual([d.neutron.networks.length, d.neutron.ports.length], [0, 0]);
  });

  it('a restarted daemon finds its pool ports in Neutron again, and hands them out once their hold ended', async () => {
    const c = clock();
    const d = buildDriver(undefined, { portPool: pool, poolClock: c.now });
    const net = await d.createNetwork('10.73.0.0/24', '10.73.0.1');
    await d.attach(net);
    await d.idle();
    d.restart();
    assert.equal(await d.portPool!.recover(), 4);
    const poolPorts = new Set(d.neutron.ports.filter((p) => p.device_id === POOL_DEVICE_ID).map((p) => p.id));
    const held = await d.attach(net);
    const made = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === held.address.split('/')[0])!;
    assert.ok(!poolPorts.has(made.id), 'during the hold: a port made on demand');
    await d.idle();
    c.advance(RECOVERED_HOLD_MS);
    const ep = await d.attach(net);
    const port = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ep.address.split('/')[0])!;
    assert.ok(poolPorts.has(port.id), 'after it: a recovered pool port');
  });

  it('after a crash, a pool port already plugged for a container is not handed out again', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.76.0.0/24', '10.76.0.1');
    await d.attach(net);
    await d.idle();
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    const ip = String(addr.Address).split('/')[0];
    const taken = d.neutron.ports.find((p) => p.fixed_ips[0]?.ip_address === ip)!;
    d.neutron.failNext(/PUT ports/, 500); // the endpoint record after the reply does not reach Neutron
    d.neutron.failNext(/PUT ports\/tags/, 500);
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: 'c'.repeat(64), Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' }, Options: {} });
    await d.idle();
    assert.equal(d.neutron.ports.find((p) => p.id === taken.id)!.device_id, POOL_DEVICE_ID, 'in Neutron it still looks free');
    d.restart();
    assert.equal(await d.portPool!.recover(), 3, 'the plugged one is left out');
  });

  it('--mac-address: the bound pool port is replaced by one with that MAC and the same address', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.74.0.0/24', '10.74.0.1');
    await d.attach(net);
    await d.idle();
    const ep = await d.attach(net, '', [], {}, '02:42:0a:4a:00:99');
    assert.deepEqual(ep.createEndpoint, {});
    const ports = d.neutron.ports.filter((p) => p.fixed_ips[0]?.ip_address === ep.address.split('/')[0]);
    assert.equal(ports.length, 1);
    assert.equal(ports[0]?.mac_address, '02:42:0a:4a:00:99');
    assert.equal(ports[0]?.device_id, ep.endpointId);
  });

  it('dual stack without a MAC: the two addresses end on one port', async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const networkId = 'd'.repeat(64);
    const p4 = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.75.0.0/24', Options: {}, V6: false });
    const p6 = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: 'fd00:75::/64', Options: {}, V6: true });
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.enable_ipv6': true, 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.75.0.0/24', Gateway: '10.75.0.1/24' }],
      IPv6Data: [{ AddressSpace: 'x', Pool: 'fd00:75::/64', Gateway: 'fd00:75::1/64' }],
    });
    const a4 = await d.ok('IpamDriver.RequestAddress', { PoolID: p4.PoolID, Address: '', Options: null });
    const a6 = await d.ok('IpamDriver.RequestAddress', { PoolID: p6.PoolID, Address: '', Options: null });
    const ep = await d.ok('NetworkDriver.CreateEndpoint', {
      NetworkID: networkId,
      EndpointID: 'f'.repeat(64),
      Interface: { Address: a4.Address, AddressIPv6: a6.Address, MacAddress: '' },
      Options: {},
    });
    const ports = d.neutron.ports.filter((p) => p.device_id === 'f'.repeat(64));
    assert.equal(ports.length, 1);
    assert.deepEqual(ports[0]!.fixed_ips.map((f) => f.ip_address).sort(), [String(a4.Address).split('/')[0], String(a6.Address).split('/')[0]].sort());
    assert.deepEqual(ep, { Interface: { MacAddress: ports[0]!.mac_address } });
    assert.equal(d.neutron.ports.length, 1, 'no pool for a dual-stack network, no leftover port');
  });

  it('a pool port handed out before a crash (no CreateEndpoint yet, nothing plugged): Docker\'s retried CreateEndpoint claims it, no other request gets it', async () => {
    const c = clock();
    const d = buildDriver(undefined, { portPool: pool, poolClock: c.now });
    const net = await d.createNetwork('10.77.0.0/24', '10.77.0.1');
    await d.attach(net);
    await d.idle();
    const first = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    d.restart(); // killed before Docker's CreateEndpoint
    assert.equal(await d.portPool!.recover(), 4, 'in Neutron the handed-out port looks free');
    const seen = new Set([String(first.Address)]);
    // During the hold (Docker retries its CreateEndpoint for up to 30 s): no recovered port is handed out.
    for (let i = 0; i < 3; i++) {
      const next = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
      assert.ok(!seen.has(String(next.Address)), `address ${String(next.Address)} handed out twice`);
      seen.add(String(next.Address));
    }
    c.advance(5_000);
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: 'a'.repeat(64), Interface: { Address: first.Address, AddressIPv6: '', MacAddress: '' }, Options: {} });
    await d.idle();
    assert.equal(d.neutron.ports.filter((p) => p.device_id === 'a'.repeat(64)).length, 1, 'the retried CreateEndpoint took the port');
    c.advance(RECOVERED_HOLD_MS);
    for (let i = 0; i < 6; i++) {
      const next = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
      assert.ok(!seen.has(String(next.Address)), `address ${String(next.Address)} handed out twice`);
      seen.add(String(next.Address));
    }
  });

  it('mark_hand_outs: two processes holding the same free ports never hand out one twice (the hand-out is guarded by the revision)', async () => {
    const neutron = new FakeNeutron();
    const a = buildDriver(neutron, { portPool: marked });
    const net = await a.createNetwork('10.78.0.0/24', '10.78.0.1');
    await a.attach(net);
    await a.idle();
    // A second process (a restarted daemon while the first still answers, or a stale copy) knows the same free ports.
    const b = buildDriver(neutron, { portPool: marked });
    b.restart();
    assert.equal(await b.portPool!.recover(), 4);
    a.restart();
    assert.equal(await a.portPool!.recover(), 4);
    const seen = new Set<string>();
    for (const d of [a, b, a, b]) {
      const res = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
      assert.ok(!seen.has(String(res.Address)), `address ${String(res.Address)} handed out twice`);
      seen.add(String(res.Address));
    }
    const marks = neutron.ports.filter((p) => p.device_id.startsWith('kuryr-request:')).map((p) => p.device_id);
    assert.equal(new Set(marks).size, 4, 'four hand-outs, four ports');
  });

  it("ReleaseAddress never deletes a live endpoint's port (another request's rollback), before or after a restart", async () => {
    const d = buildDriver(undefined, { portPool: pool });
    const net = await d.createNetwork('10.79.0.0/24', '10.79.0.1');
    const a = await d.attach(net);
    await d.idle();
    const ip = a.address.split('/')[0];
    const portOfA = () => d.neutron.ports.find((p) => p.fixed_ips.some((f) => f.ip_address === ip));
    // Docker releases that address for another endpoint whose CreateEndpoint failed on it.
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: ip });
    assert.ok(portOfA(), 'kept: its endpoint is live in this daemon');
    d.restart();
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: ip });
    assert.ok(portOfA(), 'kept after a restart: still plugged on this host');
    await d.detach(net, a);
    assert.equal(portOfA(), undefined, "the endpoint's own release deletes it");
  });

  it('ReleaseAddress leaves a kuryr port bound to another host', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.80.0.0/24', '10.80.0.1');
    const other = await d.neutron.create('ports', {
      network_id: d.neutron.networks[0]!.id,
      name: 'kuryr-unbound-port',
      fixed_ips: [{ ip_address: '10.80.0.33' }],
      device_owner: 'compute:kuryr',
      device_id: dockerId(),
      'binding:host_id': 'host2',
    });
    await d.neutron.addTag('ports', other.id, 'compute:kuryr');
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: '10.80.0.33' });
    assert.ok(await d.neutron.show('ports', other.id));
  });

  it('mark_hand_outs: a free port whose revision moved for another reason (its binding, its status) is still handed out', async () => {
    const d = buildDriver(undefined, { portPool: marked });
    const net = await d.createNetwork('10.81.0.0/24', '10.81.0.1');
    await d.attach(net);
    await d.idle();
    for (const p of d.neutron.ports.filter((x) => x.device_id === POOL_DEVICE_ID)) await d.neutron.update('ports', p.id, { status: 'DOWN' });
    const before = d.neutron.calls.length;
    const addr = await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    assert.deepEqual(d.neutron.calls.slice(before), ['PUT ports', 'GET ports/id', 'PUT ports']);
    const port = d.neutron.ports.find((p) => `${p.fixed_ips[0]!.ip_address}/24` === addr.Address)!;
    assert.match(port.device_id, /^kuryr-request:/);
  });
});
