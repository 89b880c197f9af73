/** One store contract, run against every SQL dialect (SQLite in the unit tests, PostgreSQL in the integration tests). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NetworkAttachment, ZunContainer, ZunNetwork } from '../src/domain/model.js';
import { StoreConflict, type Store } from '../src/ports/store.js';

const now = (): string => new Date().toISOString();

export function network(over: Partial<ZunNetwork> = {}): ZunNetwork {
  return {
    uuid: randomUUID(), name: 'foo', projectId: 'p1', userId: 'u1', neutronNetId: randomUUID(), neutronSubnetId: 's4', neutronSubnetV6Id: null,
    neutronPoolId: 'pool', host: 'h1', dockerName: 'd', dockerId: null, createdAt: now(), updatedAt: now(), ...over,
  };
}

export function container(over: Partial<ZunContainer> = {}): ZunContainer {
  return {
    uuid: randomUUID(), name: 'c1', projectId: 'p1', userId: 'u1', image: 'img', command: ['sleep', '1'], environment: { A: 'b' }, workdir: null, hostname: null,
    status: 'Creating', statusReason: null, taskState: null, host: 'h1', containerId: null, sandboxId: null, securityGroups: ['sg'], exposedPorts: { '80/tcp': {} },
    exposedSgId: null, autoStart: true, requestedNets: [{ neutronNetId: 'n', preserveOnDelete: false }], createdAt: now(), updatedAt: now(), ...over,
  };
}

export async function storeContract(store: Store): Promise<void> {
  const n = network();
  await store.networks.insert(n);
  assert.deepEqual(await store.networks.get(n.uuid), n);
  await assert.rejects(store.networks.insert(network({ name: 'other', neutronNetId: n.neutronNetId })), StoreConflict, 'unique (neutron net, host)');
  await assert.rejects(store.networks.insert(network({ name: 'foo' })), StoreConflict, 'unique (name, project, host)');
  // a network's row on another host: same name, project and Neutron network
  const onH2 = network({ neutronNetId: n.neutronNetId, host: 'h2' });
  await store.networks.insert(onH2);
  assert.deepEqual((await store.networks.list({ neutronNetId: n.neutronNetId, host: 'h2' })).map((x) => x.uuid), [onH2.uuid]);
  await store.networks.delete(onH2.uuid);
  await store.networks.insert(network({ name: 'foo', projectId: 'p2' }));
  assert.equal((await store.networks.list({ projectId: 'p1' })).length, 1);
  assert.equal((await store.networks.list({})).length, 2);
  await store.networks.update(n.uuid, { dockerId: 'abc' });
  assert.equal((await store.networks.get(n.uuid))!.dockerId, 'abc');

  const c = container();
  await store.containers.insert(c);
  assert.deepEqual(await store.containers.get(c.uuid), c);
  await store.containers.update(c.uuid, { status: 'Running', securityGroups: ['x', 'y'], autoStart: false });
  const got = (await store.containers.get(c.uuid))!;
  assert.equal(got.status, 'Running');
  assert.deepEqual(got.securityGroups, ['x', 'y']);
  assert.equal(got.autoStart, false);
  assert.deepEqual(got.command, ['sleep', '1'], 'unpatched JSON columns keep their value');
  assert.deepEqual((await store.containers.list({ projectId: 'p1', name: 'c1' })).map((x) => x.uuid), [c.uuid]);
  await store.containers.insert(container({ host: 'h2', status: 'Error' }));
  await store.containers.insert(container({ host: 'h2' }));
  assert.deepEqual(await store.containers.countByHost(), { h1: 1, h2: 1 }, 'load per host: Error rows do not count');
  assert.equal((await store.containers.list({ projectId: 'p2' })).length, 0);

  const a: NetworkAttachment = {
    uuid: randomUUID(), containerUuid: c.uuid, networkUuid: n.uuid, neutronNetId: n.neutronNetId, portId: 'port1', macAddress: 'fa:16:3e:00:00:01',
    addresses: [{ addr: '10.2.0.5', version: 4, subnet_id: 's4' }], preserveOnDelete: true, projectId: 'p1', createdAt: now(), pending: false,
  };
  await store.attachments.insert(a);
  assert.deepEqual(await store.attachments.listByContainer(c.uuid), [a]);
  await assert.rejects(store.attachments.insert({ ...a, uuid: randomUUID(), portId: 'port2' }), StoreConflict, 'one port per network per container');
  assert.equal(await store.attachments.countByNetwork(n.uuid), 1);
  await store.containers.delete(c.uuid);
  assert.equal(await store.attachments.countByNetwork(n.uuid), 0, 'attachments go with the container');
  await store.networks.delete(n.uuid);
  assert.equal(await store.networks.get(n.uuid), undefined);
}
