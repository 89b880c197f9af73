/**
 * Port pools off the critical path: a released port goes back to its pool
 * (reset after Docker has its answer, handed out only once reset), refills
 * are sized by demand and run in the background, and a burst of hand-outs
 * never waits for one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CreateBody, NeutronPort, ResourceName, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { POOL_DEVICE_ID, UNBOUND_PORT_NAME } from '../../src/domain/naming.js';
import { FakeDocker } from '../fake-docker.js';
import { buildDriver } from '../harness.js';

/** A fake Neutron whose chosen calls wait until the test opens the gate. */
class GatedNeutron extends FakeNeutron {
  holdUpdates = false;
  holdBulk = false;
  holdTags = false;
  readonly #waiting: Array<() => void> = [];

  open(): void {
    this.holdUpdates = false;
    this.holdBulk = false;
    this.holdTags = false;
    for (const go of this.#waiting.splice(0)) go();
  }

  #gate(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  override async update<R extends ResourceName>(resource: R, id: string, body: CreateBody<R>, opts: { ifRevision?: number } = {}): Promise<ResourceTypes[R]> {
    // Only the pool's reset PUT (device_id back to the pool) is held, not hand-outs.
    if (this.holdUpdates && body.device_id === POOL_DEVICE_ID) await this.#gate();
    return super.update(resource, id, body, opts);
  }

  override async replaceTags(resource: ResourceName, id: string, tags: readonly string[]): Promise<void> {
    if (this.holdTags && resource === 'ports') await this.#gate();
    return super.replaceTags(resource, id, tags);
  }

  override async createBulk<R extends ResourceName>(resource: R, bodies: Array<CreateBody<R>>): Promise<Array<ResourceTypes[R]>> {
    if (this.holdBulk && resource === 'ports') await this.#gate();
    return super.createBulk(resource, bodies);
  }
}

const portOf = (ports: NeutronPort[], address: string): NeutronPort | undefined => ports.find((p) => p.fixed_ips[0]?.ip_address === address.split('/')[0]);
const requestAddress = (d: ReturnType<typeof buildDriver>, poolId: string) => d.ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: null });

describe('port pools: release into the pool, demand-sized refills', () => {
  it('docker rm: ReleaseAddress answers with no Neutron call; the port is reset in the background (tags, then one PUT) and handed out again', async () => {
    const d = buildDriver(undefined, { portPool: { min: 2, batch: 3, max: 0 } });
    const net = await d.createNetwork('10.90.0.0/24', '10.90.0.1');
    const ep = await d.attach(net);
    await d.idle();
    const port = portOf(d.neutron.ports, ep.address)!;
    assert.equal(port.device_id, ep.endpointId);
    await d.ok('NetworkDriver.Leave', { NetworkID: net.networkId, EndpointID: ep.endpointId });
    await d.ok('NetworkDriver.DeleteEndpoint', { NetworkID: net.networkId, EndpointID: ep.endpointId });
    const before = d.neutron.calls.length;
    const background: string[] = [];
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: ep.address.split('/')[0] });
    await d.idle();
    background.push(...d.neutron.calls.slice(before));
    assert.deepEqual(background, ['PUT ports/tags', 'PUT ports'], 'no DELETE: its endpoint tags off, then device_id back to the pool');
    const reset = d.neutron.ports.find((p) => p.id === port.id)!;
    assert.equal(reset.device_id, POOL_DEVICE_ID);
    assert.deepEqual(reset.tags, []);
    assert.equal(reset.name, UNBOUND_PORT_NAME);
    assert.equal(reset['binding:host_id'], 'testhost');
    assert.equal(d.portPool!.holds(port.id), true);
    assert.deepEqual(Object.values(d.portPool!.sizes()), [4], 'three made by the refill, one returned');

    // It is an ordinary free pool port: handed out again, it becomes the next endpoint's.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(portOf(d.neutron.ports, (await d.attach(net)).address)!.id);
    assert.ok(seen.has(port.id), 'the returned port was handed out again');
    assert.equal(d.neutron.ports.find((p) => p.id === port.id)!.tags.filter((t) => t.startsWith('kuryr.net.uuid.lh:')).length, 1, 'only its new endpoint\'s tag');
  });

  it('the reconciler counts a returned port as the pool\'s, also while its reset is in flight', async () => {
    const neutron = new GatedNeutron();
    const docker = new FakeDocker();
    const d = buildDriver(neutron, { portPool: { min: 1, batch: 2, max: 0 }, reconcile: { docker, graceS: 0, now: () => Date.parse('2031-01-01T00:00:00Z') } });
    const net = await d.createNetwork('10.91.0.0/24', '10.91.0.1');
    docker.addNetwork(net.networkId);
    const ep = await d.attach(net);
    await d.idle();
    const port = portOf(neutron.ports, ep.address)!;
    neutron.holdUpdates = true;
    await d.detach(net, ep); // the endpoint is gone from Docker; its port is on its way back to the pool
    assert.equal(neutron.ports.find((p) => p.id === port.id)!.device_id, ep.endpointId, 'reset not done yet');
    let report = await d.reconciler.run({ dryRun: false });
    assert.deepEqual(report.findings, [], 'not removed as the port of a gone endpoint');
    neutron.open();
    await d.idle();
    report = await d.reconciler.run({ dryRun: false });
    assert.deepEqual(report.findings, []);
    assert.ok(neutron.ports.some((p) => p.id === port.id && p.device_id === POOL_DEVICE_ID));
  });

  it('a released port is not handed out before its reset succeeded; a failed reset deletes it', async () => {
    const neutron = new GatedNeutron();
    const d = buildDriver(neutron, { portPool: { min: 1, batch: 1, max: 0 } });
    const net = await d.createNetwork('10.92.0.0/24', '10.92.0.1');
    const ep = await d.attach(net);
    await d.idle();
    const port = portOf(neutron.ports, ep.address)!;
    neutron.holdUpdates = true;
    await d.detach(net, ep);
    const next = await requestAddress(d, net.poolId);
    assert.notEqual(portOf(neutron.ports, String(next.Address))?.id, port.id, 'the port being reset is not free yet');
    neutron.failNext(/^PUT ports$/, 500);
    neutron.open();
    await d.idle();
    assert.equal(neutron.ports.some((p) => p.id === port.id), false, 'a port whose reset failed is deleted, not kept');
    assert.equal(d.portPool!.holds(port.id), false);
  });

  it('the pool\'s max bounds what it takes back: over it, the port is deleted as without pools', async () => {
    const d = buildDriver(undefined, { portPool: { min: 2, batch: 2, max: 2 } });
    const net = await d.createNetwork('10.93.0.0/24', '10.93.0.1');
    const ep = await d.attach(net);
    await d.idle();
    assert.deepEqual(Object.values(d.portPool!.sizes()), [2]);
    const port = portOf(d.neutron.ports, ep.address)!;
    const before = d.neutron.calls.length;
    await d.detach(net, ep);
    await d.idle();
    assert.ok(d.neutron.calls.slice(before).includes('DELETE ports'));
    assert.equal(d.neutron.ports.some((p) => p.id === port.id), false);
    assert.deepEqual(Object.values(d.portPool!.sizes()), [2]);
  });

  it('network rm right after docker rm: the port being reset is deleted with the pool, nothing is left', async () => {
    const neutron = new GatedNeutron();
    const d = buildDriver(neutron, { portPool: { min: 1, batch: 2, max: 0 } });
    const net = await d.createNetwork('10.94.0.0/24', '10.94.0.1');
    const ep = await d.attach(net);
    await d.idle();
    neutron.holdUpdates = true;
    await d.detach(net, ep);
    const removing = d.removeNetwork(net);
    await new Promise((r) => setImmediate(r));
    neutron.open();
    await removing;
    await d.idle();
    assert.deepEqual([neutron.networks.length, neutron.ports.length], [0, 0]);
  });

  it('docker run --ip with the address of a free pool port (a released one keeps its address): that port is handed out', async () => {
    const d = buildDriver(undefined, { portPool: { min: 1, batch: 2, max: 0 } });
    const net = await d.createNetwork('10.97.0.0/24', '10.97.0.1');
    const ep = await d.attach(net);
    await d.idle();
    const port = portOf(d.neutron.ports, ep.address)!;
    await d.detach(net, ep);
    await d.idle();
    assert.equal(d.portPool!.holds(port.id), true);
    const again = await d.attach(net, ep.address.split('/')[0]);
    assert.equal(again.address, ep.address);
    assert.equal(d.neutron.ports.find((p) => p.id === port.id)!.device_id, again.endpointId);
    assert.equal(d.portPool!.holds(port.id), false);
  });

  it("a container removed while CreateEndpoint's record is still in flight: its port goes back to the pool once the record landed, not reset under it", async () => {
    const neutron = new GatedNeutron();
    const d = buildDriver(neutron, { portPool: { min: 1, batch: 2, max: 0 } });
    const net = await d.createNetwork('10.101.0.0/24', '10.101.0.1');
    await d.attach(net);
    await d.idle();
    const addr = await requestAddress(d, net.poolId);
    const endpointId = 'b'.repeat(64);
    neutron.holdTags = true; // CreateEndpoint's tag write after its reply does not end yet
    await d.ok('NetworkDriver.CreateEndpoint', { NetworkID: net.networkId, EndpointID: endpointId, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' }, Options: {} });
    const port = portOf(neutron.ports, String(addr.Address))!;
    await d.ok('NetworkDriver.DeleteEndpoint', { NetworkID: net.networkId, EndpointID: endpointId });
    const before = neutron.calls.length;
    await d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: String(addr.Address).split('/')[0] });
    assert.deepEqual(neutron.calls.slice(before), [], 'Docker waits for no Neutron call');
    assert.equal(d.portPool!.holds(port.id), true, 'on its way back to the pool');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(neutron.ports.find((p) => p.id === port.id)!.device_id, endpointId, 'the reset waits for the record');
    neutron.open();
    await d.idle();
    assert.ok(!neutron.calls.slice(before).includes('DELETE ports'));
    const back = neutron.ports.find((p) => p.id === port.id)!;
    assert.equal(back.device_id, POOL_DEVICE_ID);
    assert.deepEqual(back.tags, [], 'the record\'s endpoint tags are off again');
    assert.equal(d.portPool!.holds(port.id), true);
  });

  it('a port with a MAC of its user (--mac-address) is deleted, not taken back', async () => {
    const d = buildDriver(undefined, { portPool: { min: 1, batch: 2, max: 0 } });
    const net = await d.createNetwork('10.102.0.0/24', '10.102.0.1');
    await d.attach(net);
    await d.idle();
    const ep = await d.attach(net, '', [], {}, '02:42:0a:66:00:99');
    const port = portOf(d.neutron.ports, ep.address)!;
    assert.equal(port.mac_address, '02:42:0a:66:00:99');
    await d.detach(net, ep);
    await d.idle();
    assert.equal(d.neutron.ports.some((p) => p.id === port.id), false);
  });

  it('without pools, ReleaseAddress still waits for the DELETE', async () => {
    const d = buildDriver();
    const net = await d.createNetwork('10.95.0.0/24', '10.95.0.1');
    const ep = await d.attach(net);
    const before = d.neutron.calls.length;
    await d.detach(net, ep);
    assert.ok(d.neutron.calls.slice(before).includes('DELETE ports'));
    assert.equal(d.neutron.ports.length, 0);
  });

  for (const n of [10, 60]) {
    it(`50 RequestAddress at once on a pool of ${n}: none waits for a refill; at most ceil(shortfall / batch) bulk POSTs`, async () => {
      const neutron = new GatedNeutron();
      const settings = { min: 2, batch: n, max: 0 };
      const d = buildDriver(neutron, { portPool: settings });
      const net = await d.createNetwork(`10.96.${n}.0/24`, `10.96.${n}.1`);
      await d.attach(net); // its port is made on demand; the first refill makes the pool
      await d.idle();
      assert.deepEqual(Object.values(d.portPool!.sizes()), [n]);
      const batch = 4;
      const d2settings = d.portPool!.settings as { batch: number };
      d2settings.batch = batch; // later refills are small: demand, not the batch, must size them
      const before = neutron.calls.length;
      neutron.holdBulk = true; // a refill started now does not end before every request has its answer
      const answers = await Promise.all(Array.from({ length: 50 }, () => requestAddress(d, net.poolId)));
      const during = neutron.calls.slice(before);
      assert.equal(new Set(answers.map((a) => String(a.Address))).size, 50, 'fifty distinct addresses');
      const fromPool = Math.min(n, 50);
      assert.equal(during.filter((c) => c === 'POST ports').length, 50 - fromPool, 'only requests the pool could not serve made their own port');
      neutron.open();
      await d.idle();
      const bulk = neutron.calls.slice(before).filter((c) => c === 'POST ports (bulk)').length;
      // What the burst left the pool short of: the requests it could not serve and its minimum.
      const shortfall = Math.max(0, 50 + settings.min - n);
      assert.ok(bulk <= Math.ceil(shortfall / batch), `${bulk} bulk POSTs for a shortfall of ${shortfall}`);
      if (n < 50) {
        assert.ok(bulk >= 1, 'the pool refills');
        assert.ok(Object.values(d.portPool!.sizes())[0]! > batch, 'sized by the demand, not by the batch');
      } else {
        assert.equal(bulk, 0, 'the pool held enough: no refill');
      }
    });
  }
});
