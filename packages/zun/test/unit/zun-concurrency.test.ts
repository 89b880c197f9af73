/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * One winner per action: concurrent deletes, attaches and detaches of one
 * container (Promise.all through the HTTP edge, SQLite): exactly one succeeds,
 * the others answer a coded 409 (never a 500, never the database's text), and
 * the work is done once.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { as, harness, seedWorkflow, type Harness } from '../fakes.js';

let h: Harness;
const P1 = as('p1');

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) {
  const res = await h.app.inject({ method, url, headers: P1, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {}, text: res.body };
}

/** No answer carries the database's words. */
function assertNoDatabaseText(texts: string[]): void {
  for (const t of texts) assert.doesNotMatch(t, /constraint|UNIQUE|SQLITE|duplicate key|violates/i, t);
}

async function runningContainer(): Promise<{ uuid: string; net2: string }> {
  seedWorkflow(h.neutron);
  const net2 = h.neutron.add('networks', { name: 'net2', project_id: 'p1' });
  h.neutron.add('subnets', { name: 'sub2', network_id: net2.id, project_id: 'p1', ip_version: 4, cidr: '10.9.0.0/24', gateway_ip: '10.9.0.1' });
  const net3 = h.neutron.add('networks', { name: 'net3', project_id: 'p1' });
  h.neutron.add('subnets', { name: 'sub3', network_id: net3.id, project_id: 'p1', ip_version: 4, cidr: '10.8.0.0/24', gateway_ip: '10.8.0.1' });
  assert.equal((await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet', neutron_pool_id: 'testpool', neutron_subnet_id: 'testsubnet' })).status, 200);
  const c = await call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', nets: [{ network: 'foo' }] });
  await h.containers.idle();
  return { uuid: c.body.uuid, net2: net2.id };
}

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('one winner per action', () => {
  it('two concurrent deletes: one 204, the other a coded 409 (or 404 once it is gone); the teardown runs once', async () => {
    const { uuid } = await runningContainer();
    let release!: () => void;
    h.docker.gates.set('removeContainer', new Promise<void>((r) => (release = r)));
    const both = Promise.all([call('DELETE', `/v1/containers/${uuid}?stop=true`), call('DELETE', `/v1/containers/${uuid}?stop=true`)]);
    // both requests are in: one is held in its teardown, the other has been answered already
    await new Promise((r) => setTimeout(r, 20));
    release();
    const answers = await both;
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [204, 409], JSON.stringify(answers.map((a) => a.body)));
    const loser = answers.find((a) => a.status === 409)!;
    assert.match(loser.body.errors[0].code, /^ZUN_ERR_(INVALID_STATE|CONTAINER_BUSY)$/);
    assert.equal(h.neutron.calls.filter((c) => c === 'DELETE ports').length, 1, 'the port is deleted once');
    assert.equal(h.docker.calls.filter((c) => c === 'removeContainer').length, 2, 'app + sandbox, removed by one caller');
    assert.equal(h.neutron.ports.length, 0);
    assert.equal((await call('GET', `/v1/containers/${uuid}`)).status, 404);
    assertNoDatabaseText(answers.map((a) => a.text));
  });

  it('many concurrent deletes of a stopped container: exactly one 204', async () => {
    const { uuid } = await runningContainer();
    assert.equal((await call('POST', `/v1/containers/${uuid}/stop`)).status, 202);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => call('DELETE', `/v1/containers/${uuid}`)));
    assert.equal(answers.filter((a) => a.status === 204).length, 1, JSON.stringify(answers.map((a) => a.status)));
    for (const a of answers.filter((x) => x.status !== 204)) {
      assert.ok([404, 409].includes(a.status), `${a.status} ${a.text}`);
      assert.match(a.body.errors[0].code, /^ZUN_ERR_/);
    }
    assertNoDatabaseText(answers.map((a) => a.text));
  });

  it('two concurrent attaches of one network: one 200, one coded 409; one port made', async () => {
    const { uuid, net2 } = await runningContainer();
    const answers = await Promise.all([call('POST', `/v1/containers/${uuid}/network_attach?network=${net2}`), call('POST', `/v1/containers/${uuid}/network_attach?network=${net2}`)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409], answers.map((a) => a.text).join(' | '));
    const loser = answers.find((a) => a.status === 409)!;
    assert.match(loser.body.errors[0].code, /^ZUN_ERR_(CONTAINER_BUSY|ALREADY_ATTACHED)$/);
    assertNoDatabaseText(answers.map((a) => a.text));
    assert.equal(h.neutron.ports.filter((p) => p.network_id === net2).length, 1, 'one port on net2');
    assert.equal((await call('GET', `/v1/containers/${uuid}/network_list`)).body.networks.length, 2);
    assert.equal((await h.store.containers.get(uuid))!.taskState, null, 'the winner released the container');
  });

  it('an attach racing a delete: one of them wins, nothing leaks', async () => {
    const { uuid, net2 } = await runningContainer();
    const answers = await Promise.all([call('POST', `/v1/containers/${uuid}/network_attach?network=${net2}`), call('DELETE', `/v1/containers/${uuid}?stop=true`)]);
    assert.equal(answers.filter((a) => a.status === 200 || a.status === 204).length >= 1, true, answers.map((a) => `${a.status} ${a.text}`).join(' | '));
    for (const a of answers.filter((x) => x.status >= 400)) assert.ok([404, 409].includes(a.status), a.text);
    assertNoDatabaseText(answers.map((a) => a.text));
    // whoever lost, a delete now leaves nothing
    if ((await call('GET', `/v1/containers/${uuid}`)).status === 200) assert.equal((await call('DELETE', `/v1/containers/${uuid}?stop=true`)).status, 204);
    assert.equal(h.neutron.ports.length, 0);
    assert.equal(h.docker.containers.size, 0);
  });

  it('two concurrent detaches: one 202, the other a coded 4xx; the port is released once', async () => {
    const { uuid, net2 } = await runningContainer();
    assert.equal((await call('POST', `/v1/containers/${uuid}/network_attach?network=${net2}`)).status, 200);
    const deletesBefore = h.neutron.calls.filter((c) => c === 'DELETE ports').length;
    const answers = await Promise.all([call('POST', `/v1/containers/${uuid}/network_detach?network=${net2}`), call('POST', `/v1/containers/${uuid}/network_detach?network=${net2}`)]);
    const statuses = answers.map((a) => a.status).sort();
    assert.equal(statuses[0], 202, answers.map((a) => a.text).join(' | '));
    assert.ok([400, 409].includes(statuses[1]!), answers.map((a) => a.text).join(' | '));
    assert.match(answers.find((a) => a.status !== 202)!.body.errors[0].code, /^ZUN_ERR_(CONTAINER_BUSY|NOT_ATTACHED)$/);
    assert.equal(h.neutron.calls.filter((c) => c === 'DELETE ports').length - deletesBefore, 1);
    assert.equal((await call('GET', `/v1/containers/${uuid}/network_list`)).body.networks.length, 1);
  });

  it('start and stop race: one wins, the status is the winner\'s', async () => {
    const { uuid } = await runningContainer();
    const answers = await Promise.all([call('POST', `/v1/containers/${uuid}/stop`), call('POST', `/v1/containers/${uuid}/stop`)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [202, 409]);
    assert.equal((await call('GET', `/v1/containers/${uuid}`)).body.status, 'Stopped');
  });

  it('the unique key backs the busy flag: a duplicate attachment from another process is a coded 409', async () => {
    const { uuid } = await runningContainer();
    const [a] = await h.store.attachments.listByContainer(uuid);
    const err = await h.store.attachments.insert({ ...a!, uuid: 'another' }).then(
      () => undefined,
      (e: unknown) => e as { kind: string; code: string; message: string },
    );
    assert.ok(err);
    assert.equal(err.kind, 'conflict');
    assert.equal(err.code, 'ZUN_ERR_ALREADY_ATTACHED');
    assertNoDatabaseText([err.message]);
  });
});
