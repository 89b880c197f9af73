/** One store contract, run against every SQL dialect (SQLite in the unit tests, PostgreSQL in the integration tests). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NetworkAttachment, ZunContainer, ZunNetwork } from '../src/domain/model.js';
import { StoreConflict, type Store } from '../src/ports/store.js';

/** No database text in what the API would answer. */
function assertCoded(err: unknown): true {
  assert.ok(err instanceof StoreConflict, String(err));
  assert.equal(err.kind, 'conflict');
  assert.match(err.code, /^ZUN_ERR_/);
  assert.doesNotMatch(err.message, /constraint|UNIQUE|SQLITE|duplicate key|violates|relation/i);
  return true;
}

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
  await assert.rejects(store.attachments.insert({ ...a, uuid: randomUUID(), portId: 'port2' }), assertCoded, 'one port per network per container');
  assert.equal(await store.attachments.countByNetwork(n.uuid), 1);
  await assert.rejects(store.attachments.insert({ ...a, uuid: randomUUID(), containerUuid: randomUUID() }), assertCoded, 'an attachment of a container that is gone');
  await store.containers.delete(c.uuid);
  assert.equal(await store.attachments.countByNetwork(n.uuid), 0, 'attachments go with the container');
  assert.equal(await store.containers.delete(c.uuid), false, 'a second delete finds nothing');
  await store.networks.delete(n.uuid);
  assert.equal(await store.networks.get(n.uuid), undefined);
  await casContract(store);
}

/** Compare-and-set transitions and the intent rows (pending attachments): one winner, also under concurrent calls. */
export async function casContract(store: Store): Promise<void> {
  const n = network({ host: '' });
  await store.networks.insert(n);
  const c = container({ status: 'Stopped', taskState: null });
  await store.containers.insert(c);

  // one winner among concurrent transitions from the same state
  const tries = await Promise.all([0, 1, 2, 3].map(() => store.containers.transition(c.uuid, { status: ['Stopped', 'Error'], taskState: null }, { status: 'Deleting', taskState: 'container_deleting' })));
  assert.deepEqual(tries.filter(Boolean).length, 1, 'exactly one delete wins');
  assert.equal((await store.containers.get(c.uuid))!.status, 'Deleting');
  assert.equal(await store.containers.transition(c.uuid, { status: ['Stopped'] }, { status: 'Running' }), false, 'the status moved: refused');
  // the task state is part of the expectation
  assert.equal(await store.containers.transition(c.uuid, { status: ['Deleting'], taskState: null }, { status: 'Error' }), false, 'a task is running');
  assert.equal(await store.containers.transition(c.uuid, { status: ['Deleting'], taskState: 'network_attaching' }, { status: 'Error' }), false, 'another task');
  assert.equal(await store.containers.transition(c.uuid, { status: ['Deleting'], taskState: 'container_deleting' }, { status: 'Error', taskState: null, statusReason: 'x' }), true);
  const after = (await store.containers.get(c.uuid))!;
  assert.deepEqual([after.status, after.taskState, after.statusReason], ['Error', null, 'x']);
  assert.deepEqual(after.command, c.command, 'a transition leaves the other columns alone');
  assert.equal(await store.containers.transition(randomUUID(), { status: ['Error'] }, { status: 'Deleting' }), false, 'no row, no winner');
  assert.equal(await store.containers.transition(c.uuid, { status: [] }, { status: 'Deleting' }), false);

  // intent rows: pending until complete; concurrent inserts for one (container, network): one winner, a coded 409 for the other
  const intent = (portId: string): NetworkAttachment => ({
    uuid: randomUUID(), containerUuid: c.uuid, networkUuid: n.uuid, neutronNetId: n.neutronNetId, portId, macAddress: '', addresses: [],
    preserveOnDelete: false, projectId: 'p1', createdAt: now(), pending: true,
  });
  const inserted = await Promise.allSettled([store.attachments.insert(intent('')), store.attachments.insert(intent(''))]);
  assert.equal(inserted.filter((r) => r.status === 'fulfilled').length, 1, 'one attach per network wins');
  const lost = inserted.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assertCoded(lost.reason);
  const [row] = await store.attachments.listByContainer(c.uuid);
  assert.deepEqual((await store.attachments.listPending()).map((x) => x.uuid), [row!.uuid]);
  await store.attachments.update(row!.uuid, { portId: 'port9', macAddress: 'fa:16:3e:00:00:09', addresses: [{ addr: '10.0.0.9', version: 4, subnet_id: 's' }] });
  assert.equal((await store.attachments.listPending()).length, 1, 'recording the port keeps it pending');
  await store.attachments.update(row!.uuid, { pending: false });
  const done = (await store.attachments.listByContainer(c.uuid))[0]!;
  assert.deepEqual([done.portId, done.macAddress, done.addresses[0]!.addr, done.pending], ['port9', 'fa:16:3e:00:00:09', '10.0.0.9', false]);
  assert.equal((await store.attachments.listPending()).length, 0);
  // one winner per detach: the row's delete reports whether this caller removed it
  const deletes = await Promise.all([store.attachments.delete(row!.uuid), store.attachments.delete(row!.uuid)]);
  assert.deepEqual(deletes.sort(), [false, true]);
  const removed = await Promise.all([store.containers.delete(c.uuid), store.containers.delete(c.uuid)]);
  assert.deepEqual(removed.sort(), [false, true], 'one delete of the row wins');
  await store.networks.delete(n.uuid);
}
