/**
 * Port pools on the path Docker 28 drives, with Neutron behaving as ML2/OVN
 * does: `docker network create` + a first container (the pool fills), then
 * `docker run -d` and, right after it, `docker rm -f` — the endpoint's record
 * on its port (device_id, tags: written after CreateEndpoint's reply) still in
 * flight when ReleaseAddress comes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CreateBody, NeutronPort, ResourceName, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { POOL_DEVICE_ID, REQUEST_DEVICE_ID_PREFIX } from '../../src/domain/naming.js';
import { buildDriver, dockerId } from '../harness.js';

/**
 * ML2 binds a port after it wrote the create's answer: a bulk create answers
 * revision n, Neutron holds n + 1. And while `holding`, every call but the
 * hand-out mark (`mark_hand_outs`) waits until `open()`: a Docker request
 * that waited for one would not answer.
 */
class Ml2Neutron extends FakeNeutron {
  holding = false;
  readonly #waiting: Array<() => void> = [];

  open(): void {
    this.holding = false;
    for (const go of this.#waiting.splice(0)) go();
  }

  async #gate(handOutMark = false): Promise<void> {
    if (this.holding && !handOutMark) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  override async createBulk<R extends ResourceName>(resource: R, bodies: Array<CreateBody<R>>): Promise<Array<ResourceTypes[R]>> {
    await this.#gate();
    const made = await super.createBulk(resource, bodies);
    if (resource === 'ports') {
      for (const p of made as NeutronPort[]) {
        const row = this.tables.ports.get(p.id)!;
        row.revision_number = Number(row.revision_number ?? 0) + 1; // the binding, after the answer
      }
    }
    return made;
  }

  override async create<R extends ResourceName>(resource: R, body: CreateBody<R>): Promise<ResourceTypes[R]> {
    await this.#gate();
    return super.create(resource, body);
  }

  override async update<R extends ResourceName>(resource: R, id: string, body: CreateBody<R>, opts: { ifRevision?: number } = {}): Promise<ResourceTypes[R]> {
    await this.#gate(resource === 'ports' && String(body.device_id ?? '').startsWith(REQUEST_DEVICE_ID_PREFIX));
    return super.update(resource, id, body, opts);
  }

  override async list<R extends ResourceName>(resource: R, query: Record<string, string | string[]> = {}): Promise<Array<ResourceTypes[R]>> {
    await this.#gate();
    return super.list(resource, query);
  }

  override async show<R extends ResourceName>(resource: R, id: string): Promise<ResourceTypes[R]> {
    await this.#gate();
    return super.show(resource, id);
  }

  override async delete(resource: ResourceName, id: string): Promise<boolean> {
    await this.#gate();
    return super.delete(resource, id);
  }

  override async replaceTags(resource: ResourceName, id: string, tags: readonly string[]): Promise<void> {
    await this.#gate();
    return super.replaceTags(resource, id, tags);
  }
}

/** A Docker request that must answer without waiting for Neutron (the test fails instead of hanging). */
async function answers<T>(what: string, request: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} waited for a held Neutron call`)), 2_000)));
  try {
    return await Promise.race([request, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('port pools on Docker\'s path (network create, run -d, rm -f at once)', () => {
  for (const markHandOuts of [false, true]) {
    const mark = markHandOuts ? ['PUT ports'] : [];
    it(`run -d waits for ${markHandOuts ? 'one Neutron call (mark_hand_outs: the hand-out mark, no 412)' : 'no Neutron call'}; rm -f right after waits for none, and the port goes back to its pool`, async () => {
    const neutron = new Ml2Neutron();
    const d = buildDriver(neutron, { portPool: { min: 5, batch: 10, max: 0, markHandOuts } });
    assert.deepEqual(await d.ok('IpamDriver.GetCapabilities'), { RequiresMACAddress: false, RequiresRequestReplay: false });
    // docker network create -d kbenchpool --ipam-driver kbenchpool --subnet 10.230.6.0/24 --gateway 10.230.6.1
    const net = await d.createNetwork('10.230.6.0/24', '10.230.6.1');
    // The first container of the network on this host: a port made on demand; the pool fills after the reply.
    await d.attach(net);
    await d.idle();
    assert.deepEqual(Object.values(d.portPool!.sizes()), [10]);

    // docker run -d: Docker 28 sends no MAC (RequiresMACAddress false) to RequestAddress nor to CreateEndpoint.
    const endpointId = dockerId();
    const before = neutron.calls.length;
    neutron.holding = true;
    const addr = await answers('RequestAddress', d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null }));
    const ce = await answers(
      'CreateEndpoint',
      d.ok('NetworkDriver.CreateEndpoint', {
        NetworkID: net.networkId,
        EndpointID: endpointId,
        Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' },
        Options: { 'com.docker.network.endpoint.exposedports': [], 'com.docker.network.portmap': [] },
      }),
    );
    await answers('Join', d.ok('NetworkDriver.Join', { NetworkID: net.networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/0123456789ab', Options: {} }));
    await answers('ProgramExternalConnectivity', d.ok('NetworkDriver.ProgramExternalConnectivity', { NetworkID: net.networkId, EndpointID: endpointId, Options: {} }));
    await answers('EndpointOperInfo', d.ok('NetworkDriver.EndpointOperInfo', { NetworkID: net.networkId, EndpointID: endpointId }));
    assert.deepEqual(neutron.calls.slice(before), mark, markHandOuts ? 'only the guarded hand-out mark, on the first try' : 'no Neutron call');
    const port = neutron.ports.find((p) => `${p.fixed_ips[0]!.ip_address}/24` === addr.Address)!;
    assert.equal(d.portPool!.holds(port.id), false, 'handed out of the pool');
    assert.deepEqual(ce, { Interface: { MacAddress: port.mac_address } });

    // docker rm -f at once: the endpoint's record (device_id, tags) has not landed yet.
    if (markHandOuts) assert.match(port.device_id, /^kuryr-request:/);
    else assert.equal(port.device_id, POOL_DEVICE_ID);
    await answers('RevokeExternalConnectivity', d.ok('NetworkDriver.RevokeExternalConnectivity', { NetworkID: net.networkId, EndpointID: endpointId }));
    await answers('Leave', d.ok('NetworkDriver.Leave', { NetworkID: net.networkId, EndpointID: endpointId }));
    await answers('DeleteEndpoint', d.ok('NetworkDriver.DeleteEndpoint', { NetworkID: net.networkId, EndpointID: endpointId }));
    await answers('ReleaseAddress', d.ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: String(addr.Address).split('/')[0] }));
    assert.deepEqual(neutron.calls.slice(before), mark, 'no Neutron call while Docker waited');
    assert.equal(d.portPool!.holds(port.id), true, 'on its way back to the pool');

    // After the replies: the record lands, then the reset; nothing is deleted.
    neutron.open();
    await d.idle();
    assert.ok(!neutron.calls.slice(before).includes('DELETE ports'), 'the port was not deleted');
    const back = neutron.ports.find((p) => p.id === port.id)!;
    assert.equal(back.device_id, POOL_DEVICE_ID);
    assert.deepEqual(back.tags, []);
    assert.equal(back['binding:host_id'], 'testhost');
    assert.equal(d.portPool!.holds(port.id), true);
    assert.deepEqual(Object.values(d.portPool!.sizes()), [10], 'nine left, plus the returned one');

    // The next docker runs get pool ports the same way (with marks: the returned one's revision is current too).
    const again = neutron.calls.length;
    for (let i = 0; i < 10; i++) await d.ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: null });
    const waited = neutron.calls.slice(again).filter((c) => c !== 'POST ports (bulk)' && c !== 'GET ports');
    assert.ok(waited.every((c) => c === 'PUT ports') && waited.length === mark.length * 10, `${mark.length} call per hand-out: ${waited.join(', ')}`);
    });
  }
});
