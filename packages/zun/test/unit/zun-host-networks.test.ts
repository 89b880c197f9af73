/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * A Zun network over several compute hosts (fakes): network-create records it,
 * each host gets its kuryr Docker network lazily with its own `network` row
 * (unique (neutron_net_id, host)); concurrent creators — in one process or two
 * sharing the database — make one Docker network; a Docker network that
 * vanished is made again; network-delete removes it from every host, and with
 * a host down refuses with nothing removed.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { DockerRequestError, DockerUnavailable } from '../../src/ports/docker.js';
import { DEFINITION_HOST } from '../../src/ports/store.js';
import { as, asAdmin, harness, seedWorkflow, type Harness } from '../fakes.js';

let h: Harness;
let h2: Harness | undefined;
const P1 = as('p1');
const ADMIN = asAdmin('p1');

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = ADMIN, on: Harness = h) {
  const res = await on.app.inject({ method, url, headers, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {} };
}

async function setup(hosts = ['h1', 'h2']) {
  h = await harness('sqlite::memory:', { hosts });
  const seeded = seedWorkflow(h.neutron);
  const foo = await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet', neutron_pool_id: 'testpool', neutron_subnet_id: 'testsubnet' }, P1);
  assert.equal(foo.status, 200, JSON.stringify(foo.body));
  return { ...seeded, foo: foo.body };
}

async function runOn(host: string, on: Harness = h) {
  const r = await call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', nets: [{ network: 'foo' }], host }, ADMIN, on);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await on.containers.idle();
  const show = await call('GET', `/v1/containers/${r.body.uuid}`, undefined, ADMIN, on);
  assert.equal(show.body.status, 'Running', show.body.status_reason);
  return show.body;
}

afterEach(async () => {
  await h2?.close();
  h2 = undefined;
  await h?.close();
});

describe('per-host Docker networks, made lazily', () => {
  it('network-create records the network only; each host gets its Docker network when its first container needs it', async () => {
    const { net, pool, subnet, foo } = await setup();
    assert.equal(foo.network_id, null, 'no Docker network yet');
    assert.deepEqual((await call('GET', '/v1/networks/foo')).body.hosts, []);
    for (const d of h.dockers.values()) assert.equal(d.networks.size, 0);

    const a = await runOn('h1');
    assert.equal(h.dockers.get('h1')!.networks.size, 1);
    assert.equal(h.dockers.get('h2')!.networks.size, 0, 'h2 has no container of foo: no Docker network');
    const b = await runOn('h2');
    await runOn('h2');
    for (const [name, d] of h.dockers) {
      const spec = d.networks.get(net.id)!.spec;
      assert.equal(spec.driver, 'kuryr', name);
      assert.equal(spec.options['neutron.net.uuid'], net.id);
      assert.equal(spec.options['neutron.subnet.uuid'], subnet.id);
      assert.equal(spec.options['neutron.pool.uuid'], pool.id);
      assert.deepEqual(spec.ipamConfig, [{ subnet: '10.2.0.0/24', gateway: '10.2.0.1' }]);
      assert.equal(d.calls.filter((c) => c === 'createNetwork').length, 1, `${name}: one Docker network for its containers`);
    }
    const rows = await h.store.networks.list({ neutronNetId: net.id });
    assert.deepEqual(rows.map((r) => r.host).sort(), ['', 'h1', 'h2'], 'the definition and one row per host');
    assert.ok(rows.every((r) => r.name === 'foo' && r.projectId === 'p1'));

    const show = await call('GET', '/v1/networks/foo');
    assert.equal(show.body.uuid, foo.uuid, 'users keep seeing the network they made');
    assert.deepEqual(show.body.hosts.map((x: any) => x.host), ['h1', 'h2']);
    assert.equal(show.body.network_id, h.dockers.get('h1')!.networks.get(net.id)!.id);
    assert.equal((await call('GET', '/v1/networks/foo', undefined, P1)).body.hosts, undefined, 'hosts are admin-only');
    assert.equal((await call('GET', '/v1/networks', undefined, P1)).body.networks.length, 1, 'one network in the listing, not one per host');
    const sandboxes = (host: string) => [...h.dockers.get(host)!.containers.values()].filter((c) => c.spec.name.startsWith('zun-sandbox-'));
    assert.equal(sandboxes('h1')[0]!.spec.networkMode, net.id);
    assert.deepEqual([a.addresses, b.addresses].map((x: any) => Object.keys(x)), [[net.id], [net.id]]);
  });

  it('a network named only by its Neutron network is recorded lazily and made on the container\'s host', async () => {
    await setup();
    const bar = h.neutron.add('networks', { name: 'barnet', project_id: 'p1' });
    h.neutron.add('subnets', { network_id: bar.id, project_id: 'p1', ip_version: 4, cidr: '10.3.0.0/24', gateway_ip: '10.3.0.1', subnetpool_id: null });
    const r = await call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', nets: [{ network: 'barnet' }], host: 'h2' });
    await h.containers.idle();
    assert.equal((await call('GET', `/v1/containers/${r.body.uuid}`)).body.status, 'Running');
    assert.ok(h.dockers.get('h2')!.networks.has(bar.id));
    assert.ok(!h.dockers.get('h1')!.networks.has(bar.id));
    const show = await call('GET', `/v1/networks/${bar.id}`);
    assert.equal(show.body.name, bar.id);
    assert.deepEqual(show.body.hosts.map((x: any) => x.host), ['h2']);
  });

  it('concurrent creates on one host make one Docker network', async () => {
    const { net } = await setup();
    const d1 = h.dockers.get('h1')!;
    let open!: () => void;
    d1.gates.set('createNetwork', new Promise<void>((r) => (open = r)));
    const rs = [0, 1, 2].map(() => call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', nets: [{ network: 'foo' }], host: 'h1' }));
    const accepted = await Promise.all(rs);
    await new Promise((r) => setTimeout(r, 20));
    open();
    await h.containers.idle();
    for (const r of accepted) assert.equal((await call('GET', `/v1/containers/${r.body.uuid}`)).body.status, 'Running');
    assert.equal(d1.calls.filter((c) => c === 'createNetwork').length, 1);
    assert.equal((await h.store.networks.list({ neutronNetId: net.id, host: 'h1' })).length, 1);
  });

  it('two zun-api processes on one database: the unique (neutron net, host) key elects one creator, the other reads it back', async () => {
    const { net, foo } = await setup();
    h2 = await harness('sqlite::memory:', { hosts: ['h1', 'h2'], shareWith: h });
    const d1 = h.dockers.get('h1')!;
    let open!: () => void;
    d1.gates.set('createNetwork', new Promise<void>((r) => (open = r)));
    const def = (await h.store.networks.get(foo.uuid))!;
    // process 1 is between its insert and Docker; process 2 (its own lock) finds the row without a Docker id and waits
    const first = h.hostNetworks.ensure(def, 'h1');
    await new Promise((r) => setTimeout(r, 10));
    const wait = h2.clock.sleep;
    h2.clock.sleep = async (ms) => {
      open(); // process 1 finishes while process 2 backs off
      await wait(ms);
    };
    const second = h2.hostNetworks.ensure(def, 'h1');
    const [r1, r2] = await Promise.all([first, second]);
    assert.ok(h2.clock.sleeps.length > 0, 'the second waited for the first');
    assert.equal(r1.uuid, r2.uuid);
    assert.equal(r1.dockerId, r2.dockerId);
    assert.equal(d1.calls.filter((c) => c === 'createNetwork').length, 1);
    assert.equal((await h.store.networks.list({ neutronNetId: net.id, host: 'h1' })).length, 1);
  });

  it('a creator that never finishes: the other gives up with 409 ZUN_ERR_NETWORK_BUSY; a row that old is taken over', async () => {
    const { net, foo } = await setup();
    const def = (await h.store.networks.get(foo.uuid))!;
    const stuck = { ...def, uuid: 'stuck-row', host: 'h1', dockerId: null, createdAt: h.clock.now(), updatedAt: h.clock.now() };
    await h.store.networks.insert(stuck);
    await assert.rejects(h.hostNetworks.ensure(def, 'h1'), (e: any) => e.kind === 'conflict' && e.code === 'ZUN_ERR_NETWORK_BUSY');
    await h.store.networks.update('stuck-row', { updatedAt: '2020-01-01T00:00:00.000Z' });
    const row = await h.hostNetworks.ensure(def, 'h1');
    assert.equal(row.uuid, 'stuck-row');
    assert.equal(row.dockerId, h.dockers.get('h1')!.networks.get(net.id)!.id);
  });

  it('Docker\'s 409 for a name taken meanwhile is read back; a Docker network that vanished is made again', async () => {
    const { net, foo } = await setup();
    const def = (await h.store.networks.get(foo.uuid))!;
    const d1 = h.dockers.get('h1')!;
    // someone makes the network between our look-up and our create: Docker answers 409, we read it back
    d1.failures.set('createNetwork', new DockerRequestError(409, `network with name ${net.id} already exists`));
    const find = d1.findNetwork.bind(d1);
    let finds = 0;
    d1.findNetwork = async (name) => {
      if (finds++ === 1) d1.networks.set(name, { id: 'someone-elses', spec: { name, driver: 'kuryr', ipamDriver: 'kuryr', options: {}, ipamOptions: {}, ipamConfig: [], enableIpv6: false, labels: {} } });
      return find(name);
    };
    assert.equal((await h.hostNetworks.ensure(def, 'h1')).dockerId, 'someone-elses');
    assert.deepEqual(d1.calls.filter((c) => c.endsWith('Network')), ['findNetwork', 'createNetwork', 'findNetwork']);
    d1.networks.delete(net.id);
    const again = await h.hostNetworks.ensure(def, 'h1');
    assert.notEqual(again.dockerId, 'someone-elses');
    assert.equal(again.dockerId, d1.networks.get(net.id)!.id, 'made again and the row updated');
    assert.equal((await h.store.networks.list({ neutronNetId: net.id, host: 'h1' }))[0]!.dockerId, again.dockerId);
  });

  it('a failing Docker network create on one host: that container is Error, its row undone; the other host is untouched', async () => {
    const { net } = await setup();
    await runOn('h1');
    h.dockers.get('h2')!.failures.set('createNetwork', new DockerRequestError(500, 'kuryr: subnet refused'));
    const r = await call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', nets: [{ network: 'foo' }], host: 'h2' });
    await h.containers.idle();
    const show = await call('GET', `/v1/containers/${r.body.uuid}`);
    assert.equal(show.body.status, 'Error');
    assert.match(show.body.status_reason, /creating the Docker network of network foo on host h2: Docker: kuryr: subnet refused/);
    assert.equal((await h.store.networks.list({ neutronNetId: net.id, host: 'h2' })).length, 0, 'row undone');
    assert.equal(h.neutron.all('ports').filter((p) => p.device_id === r.body.uuid).length, 0);
    assert.equal((await call('DELETE', `/v1/containers/${r.body.uuid}`)).status, 204);
    assert.equal((await runOn('h2')).status, 'Running', 'the next try makes it');
  });

  it('a host that stops answering during the create: marked down, the container Error, nothing left on either side', async () => {
    await setup();
    await h.hosts.check();
    h.dockers.get('h2')!.failures.set('findNetwork', new DockerUnavailable('connect ECONNREFUSED /run/h2.sock'));
    const r = await call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', nets: [{ network: 'foo' }], host: 'h2' });
    await h.containers.idle();
    assert.equal((await call('GET', `/v1/containers/${r.body.uuid}`)).body.status, 'Error');
    assert.equal(h.hosts.health('h2').state, 'down');
    assert.equal(h.neutron.all('ports').length, 0);
  });
});

describe('network-delete over several hosts', () => {
  it('refused while containers are attached (naming their hosts); then removes the Docker network from every host and every row', async () => {
    const { net } = await setup(['h1', 'h2', 'h3']);
    const a = await runOn('h1');
    const b = await runOn('h2');
    const busy = await call('DELETE', '/v1/networks/foo', undefined, P1);
    assert.equal(busy.status, 409);
    assert.equal(busy.body.errors[0].code, 'ZUN_ERR_NETWORK_IN_USE');
    assert.match(busy.body.errors[0].detail, /2 container\(s\) attached \(on h1, h2\)/);
    for (const c of [a, b]) assert.equal((await call('DELETE', `/v1/containers/${c.uuid}?stop=true`)).status, 204);
    assert.equal((await call('DELETE', '/v1/networks/foo', undefined, P1)).status, 204);
    for (const d of h.dockers.values()) assert.equal(d.networks.size, 0);
    assert.equal(h.dockers.get('h3')!.calls.filter((c) => c === 'removeNetwork').length, 0, 'h3 never had it');
    assert.deepEqual(await h.store.networks.list({ neutronNetId: net.id }), []);
    assert.equal((await call('DELETE', '/v1/networks/foo', undefined, P1)).status, 404, 'gone');
  });

  it('a host with the Docker network is down: 409 ZUN_ERR_HOST_DOWN and nothing removed; once it is back the delete completes, nothing leaked', async () => {
    const { net } = await setup();
    for (const host of ['h1', 'h2']) {
      const c = await runOn(host);
      assert.equal((await call('DELETE', `/v1/containers/${c.uuid}?stop=true`)).status, 204);
    }
    h.dockers.get('h2')!.down = true;
    await h.hosts.check();
    const r = await call('DELETE', '/v1/networks/foo', undefined, P1);
    assert.equal(r.status, 409);
    assert.equal(r.body.errors[0].code, 'ZUN_ERR_HOST_DOWN');
    assert.match(r.body.errors[0].detail, /Compute host h2 is down .*cannot remove the Docker network of network foo from it; nothing was deleted/);
    assert.ok(h.dockers.get('h1')!.networks.has(net.id), 'nothing removed on h1 either');
    assert.equal((await h.store.networks.list({ neutronNetId: net.id })).length, 3);
    h.dockers.get('h2')!.down = false;
    assert.equal((await call('DELETE', '/v1/networks/foo', undefined, P1)).status, 204);
    for (const d of h.dockers.values()) assert.equal(d.networks.size, 0);
    assert.deepEqual(await h.store.networks.list({}), []);
  });

  it('a zun Docker network without a row (a create whose outcome was lost) is swept from the other hosts that answer', async () => {
    const { net } = await setup(['h1', 'h2']);
    const c = await runOn('h1');
    await call('DELETE', `/v1/containers/${c.uuid}?stop=true`);
    const stray = { name: net.id, driver: 'kuryr', ipamDriver: 'kuryr', options: {}, ipamOptions: {}, ipamConfig: [], enableIpv6: false, labels: { 'zun.network.uuid': 'lost' } };
    h.dockers.get('h2')!.networks.set(net.id, { id: 'stray', spec: stray });
    await h.hosts.check();
    assert.equal((await call('DELETE', '/v1/networks/foo')).status, 204);
    assert.equal(h.dockers.get('h2')!.networks.size, 0);
    // a network of that name that zun did not make is left alone
    h.dockers.get('h2')!.networks.set(net.id, { id: 'foreign', spec: { ...stray, labels: {} } });
    await setupAgain();
    assert.equal((await call('DELETE', '/v1/networks/foo')).status, 204);
    assert.ok(h.dockers.get('h2')!.networks.has(net.id));

    async function setupAgain() {
      const r = await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet', neutron_subnet_id: 'testsubnet' }, P1);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });

  it('the definition row is what users name; a host row\'s uuid leads to it too', async () => {
    const { net, foo } = await setup();
    await runOn('h1');
    const row = (await h.store.networks.list({ neutronNetId: net.id, host: 'h1' }))[0]!;
    assert.equal((await call('GET', `/v1/networks/${row.uuid}`)).body.uuid, foo.uuid);
    assert.equal((await h.store.networks.list({ neutronNetId: net.id, host: DEFINITION_HOST }))[0]!.uuid, foo.uuid);
  });
});
