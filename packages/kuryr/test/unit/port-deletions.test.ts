import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NeutronError } from '@kuryr-ts/openstack/errors';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { PortDeletions } from '../../src/domain/port-deletions.js';
import { buildDriver, dockerMac } from '../harness.js';

/** Port DELETEs wait at a gate the test opens; everything else goes straight to the fake. */
function gatedDeletes(neutron: FakeNeutron): { open: () => void; waiting: () => number } {
  const real = neutron.delete.bind(neutron);
  let waiters: Array<() => void> = [];
  let opened = false;
  neutron.delete = (async (resource, id) => {
    if (resource === 'ports' && !opened) await new Promise<void>((r) => waiters.push(r));
    return real(resource, id);
  }) as typeof neutron.delete;
  return {
    open: () => {
      opened = true;
      for (const w of waiters) w();
      waiters = [];
    },
    waiting: () => waiters.length,
  };
}

const AFTER_REPLY = { settings: { deletePortsAfterReply: true } };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('[DEFAULT] delete_ports_after_reply', () => {
  it('off (Kuryr): ReleaseAddress answers once Neutron has deleted the port', async () => {
    const neutron = new FakeNeutron();
    const gate = gatedDeletes(neutron);
    const d = buildDriver(neutron);
    const net = await d.createNetwork('10.180.0.0/24', '10.180.0.1');
    const ep = await d.attach(net);
    let answered = false;
    const detached = d.detach(net, ep).then(() => (answered = true));
    while (gate.waiting() === 0) await tick();
    await tick();
    assert.equal(answered, false, 'Docker waits for the DELETE');
    gate.open();
    await detached;
    assert.equal(neutron.ports.length, 0);
  });

  it('on: ReleaseAddress answers first; the port goes after; a network rm right after waits for it', async () => {
    const neutron = new FakeNeutron();
    const gate = gatedDeletes(neutron);
    const d = buildDriver(neutron, AFTER_REPLY);
    const net = await d.createNetwork('10.181.0.0/24', '10.181.0.1');
    const ep = await d.attach(net);
    await d.detach(net, ep);
    assert.equal(neutron.ports.length, 1, 'answered while the DELETE is still held');
    assert.equal((await d.pluginStats()).portDeletionsPending, 1);
    let removed = false;
    const rm = d.removeNetwork(net).then(() => (removed = true));
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(removed, false, 'DeleteNetwork waits for the released port');
    assert.equal(neutron.networks.length, 1);
    gate.open();
    await rm;
    assert.equal(neutron.ports.length + neutron.networks.length + neutron.pools.length, 0, 'nothing left');
    assert.equal((await d.pluginStats()).portDeletionsPending, 0);
  });

  it('on: a RequestAddress of the released address waits for the deletion, then gets a new port with it', async () => {
    const neutron = new FakeNeutron();
    const gate = gatedDeletes(neutron);
    const d = buildDriver(neutron, AFTER_REPLY);
    const net = await d.createNetwork('10.182.0.0/24', '10.182.0.1');
    const ep = await d.attach(net, '10.182.0.50');
    const oldPort = neutron.ports[0]!.id;
    await d.detach(net, ep);
    const got: { answer?: Record<string, unknown> } = {};
    const again = d
      .ok('IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '10.182.0.50', Options: { 'com.docker.network.endpoint.macaddress': dockerMac() } })
      .then((r) => (got.answer = r));
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(got.answer, undefined, 'waits while the old port holds the address');
    gate.open();
    await again;
    assert.equal((got.answer as Record<string, unknown> | undefined)?.Address, '10.182.0.50/24');
    assert.equal(neutron.ports.length, 1);
    assert.notEqual(neutron.ports[0]!.id, oldPort);
  });

  it('on: a port create refused for quota while released ports are being deleted is tried once more after them', async () => {
    const neutron = new FakeNeutron();
    const gate = gatedDeletes(neutron);
    const d = buildDriver(neutron, AFTER_REPLY);
    const net = await d.createNetwork('10.183.0.0/24', '10.183.0.1');
    await d.detach(net, await d.attach(net));
    neutron.failNext(/^POST ports/, new NeutronError('POST', '/v2.0/ports', 409, 'OverQuota', 'Quota exceeded for resources: [port].'));
    const next = d.attach(net);
    for (let i = 0; i < 20; i++) await tick();
    gate.open();
    await next;
    assert.equal(neutron.ports.length, 1, 'the new container got its port');
  });

  it('a DELETE that fails is tried again; one that keeps failing is left to reconciliation, and waiters go on', async () => {
    const neutron = new FakeNeutron();
    const d = buildDriver(neutron);
    const net = await d.createNetwork('10.184.0.0/24', '10.184.0.1');
    await d.attach(net);
    const port = neutron.ports[0]!;
    const warnings: string[] = [];
    const log = { debug: () => undefined, info: () => undefined, warn: (_o: object, m?: string) => void warnings.push(m ?? ''), error: () => undefined };
    const sleeps: number[] = [];
    const retrying = new PortDeletions({ neutron, log, sleep: async (ms) => void sleeps.push(ms) });
    neutron.failNext(/^DELETE ports/, 503);
    neutron.failNext(/^DELETE ports/, 503);
    retrying.delete(port);
    assert.equal(retrying.size, 1);
    await retrying.settled({ networkId: port.network_id, ip: port.fixed_ips[0]!.ip_address });
    assert.deepEqual(sleeps, [1000, 2000]);
    assert.equal(neutron.ports.length, 0);
    assert.equal(retrying.size, 0);

    await d.attach(net);
    const stuck = new PortDeletions({ neutron, log, sleep: async () => undefined, attempts: 3 });
    for (let i = 0; i < 3; i++) neutron.failNext(/^DELETE ports/, 503);
    stuck.delete(neutron.ports[0]!);
    await stuck.settled();
    assert.equal(neutron.ports.length, 1, 'left in Neutron');
    assert.match(warnings.join('\n'), /reconciliation removes the port/);
  });
});
