/**
 * docker network create / rm: Neutron writes that do not depend on each
 * other go out together (same calls as before, fewer round trips in series).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NeutronNetwork, ResourceName, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { buildDriver } from '../harness.js';

/** Holds the network tag PUT and the network GET until released, to see what goes out meanwhile. */
class HoldingNeutron extends FakeNeutron {
  hold = false;
  readonly #waiting: Array<() => void> = [];

  release(): void {
    this.hold = false;
    for (const go of this.#waiting.splice(0)) go();
  }

  async #gate(): Promise<void> {
    if (this.hold) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  override async replaceTags(resource: ResourceName, id: string, tags: readonly string[]): Promise<void> {
    if (resource === 'networks') await this.#gate();
    return super.replaceTags(resource, id, tags);
  }

  override async show<R extends ResourceName>(resource: R, id: string): Promise<ResourceTypes[R]> {
    if (resource === 'networks') await this.#gate();
    return super.show(resource, id);
  }
}

/** Waits until `done` holds (the held call keeps the operation from finishing), or 10 s. */
async function until(done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !done() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
}

describe('network create and rm: independent Neutron writes in parallel', () => {
  it('create (Neutron without tags in POST): the subnet is POSTed while the network tag PUT is in flight; same calls', async () => {
    const neutron = new HoldingNeutron();
    const d = buildDriver(neutron);
    neutron.hold = true;
    const creating = d.createNetwork('10.98.0.0/24', '10.98.0.1');
    await until(() => neutron.calls.includes('POST subnets (bulk)'));
    // The tag PUT is held (recorded once it goes on): the subnet went out before it ended.
    assert.ok(neutron.calls.includes('POST subnets (bulk)'), 'the subnet did not wait for the network tags');
    assert.ok(!neutron.calls.includes('PUT networks/tags'));
    neutron.release();
    await creating;
    assert.deepEqual(
      neutron.calls.filter((c) => !c.startsWith('GET')).sort(),
      ['POST networks', 'POST subnetpools', 'POST subnets (bulk)', 'PUT networks/tags', 'PUT subnets/tags'].sort(),
    );
    const net = neutron.networks[0] as NeutronNetwork;
    assert.equal(net.tags.filter((t) => t.startsWith('kuryr.net.uuid.')).length, 2);
  });

  it('create: a failed subnet POST still undoes the network once its tag PUT has ended', async () => {
    const d = buildDriver();
    d.neutron.failNext(/^POST subnets/, 500);
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.99.0.0/24', Options: {}, V6: false });
    const res = await d.call('NetworkDriver.CreateNetwork', {
      NetworkID: 'a'.repeat(64),
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'x', Pool: String(pool.Pool), Gateway: '10.99.0.1/24' }],
      IPv6Data: [],
    });
    assert.notEqual(res.status, 200);
    assert.equal(d.neutron.networks.length, 0);
  });

  it('rm: the network GET, the subnet listing and the pool drain go out together', async () => {
    const neutron = new HoldingNeutron();
    const d = buildDriver(neutron, { portPool: { min: 1, batch: 2, max: 0 } });
    const net = await d.createNetwork('10.100.0.0/24', '10.100.0.1');
    await d.attach(net);
    await d.idle();
    d.restart(); // nothing cached: the subnets are listed
    await d.portPool!.recover();
    neutron.hold = true;
    const before = neutron.calls.length;
    const removing = d.ok('NetworkDriver.DeleteNetwork', { NetworkID: net.networkId }).catch((err: unknown) => err);
    await until(() => neutron.calls.slice(before).filter((c) => c === 'DELETE ports').length === 2);
    // The network GET is held (recorded once it goes on).
    const meanwhile = neutron.calls.slice(before);
    assert.ok(!meanwhile.includes('GET networks/id'));
    assert.ok(meanwhile.includes('GET subnets'), 'the subnets did not wait for the network');
    assert.ok(meanwhile.includes('DELETE ports'), 'the free pool ports did not wait for the network');
    neutron.release();
    await removing;
  });
});
