/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * The topology view's model over fakes: a member sees only their project's
 * networks, containers and ports (compute hosts under aliases), an admin sees
 * every project's with the real host names and health; Neutron down still
 * yields the store's picture; GET /v1/topology needs a token in keystone mode
 * and GET /topology serves the self-contained page.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { NeutronError, unauthorized } from '@kuryr-ts/openstack/errors';
import { buildApi } from '../../src/api/server.js';
import { as, asAdmin } from '../fakes.js';
import { topologyFixture, type TopologyFixture } from '../topology-fixture.js';

let f: TopologyFixture | undefined;
afterEach(async () => {
  await f?.h.close();
  f = undefined;
});

const member = (projectId: string) => ({ projectId, userId: `u-${projectId}`, roles: ['member'], isAdmin: false });
const admin = { projectId: 'p1', userId: 'boss', roles: ['admin'], isAdmin: true };

describe('topology model', () => {
  it('a member sees their project only: networks, containers, ports, hosts under aliases', async () => {
    f = await topologyFixture();
    const t = await f.h.topology.build(member('p1'));
    assert.deepEqual(t.scope, { projectId: 'p1', allProjects: false });
    assert.deepEqual(t.networks.map((n) => n.name), ['blue']);
    assert.deepEqual(t.containers.map((c) => c.name).sort(), ['db', 'web']);
    assert.ok(t.containers.every((c) => c.projectId === 'p1'));
    assert.equal(JSON.stringify(t).includes('secret-app'), false);
    assert.equal(JSON.stringify(t).includes('compute-'), false, 'host names are admin-only');
    assert.deepEqual(t.hosts.map((h) => [h.name, h.state]), [['host-1', 'up'], ['host-2', 'up']]);
    assert.equal(t.hosts[0]!.endpoint, undefined);
    const web = t.containers.find((c) => c.name === 'web')!;
    assert.equal(web.host, 'host-1');
    assert.equal(web.ports.length, 1);
    const port = web.ports[0]!;
    assert.equal(port.status, 'ACTIVE');
    assert.match(port.addresses[0]!, /^10\.2\.0\./);
    assert.match(port.macAddress, /^fa:16:3e:/);
    assert.equal(port.bindingHost, 'host-1');
    assert.deepEqual(t.networks[0]!.dockerNetworks.map((d) => d.host).sort(), ['host-1', 'host-2']);
    assert.equal(t.networks[0]!.neutron?.name, 'testnet');
    assert.deepEqual(t.neutron, { reachable: true, error: null });
  });

  it('another member sees only theirs', async () => {
    f = await topologyFixture();
    const t = await f.h.topology.build(member('p2'));
    assert.deepEqual(t.networks.map((n) => n.name), ['red']);
    assert.deepEqual(t.containers.map((c) => c.name), ['secret-app']);
    assert.deepEqual(t.hosts.map((h) => h.name), ['host-1'], 'only the hosts carrying p2\'s objects');
    assert.deepEqual((await f.h.topology.build(member('p3'))).containers, []);
  });

  it('an admin sees every project, the real host names, endpoints and why a host is down', async () => {
    f = await topologyFixture();
    f.h.dockers.get('compute-b')!.down = true;
    await f.h.hosts.check();
    const t = await f.h.topology.build(admin);
    assert.deepEqual(t.scope, { projectId: 'p1', allProjects: true });
    assert.deepEqual(t.networks.map((n) => n.name).sort(), ['blue', 'red']);
    assert.deepEqual(t.containers.map((c) => c.name).sort(), ['db', 'secret-app', 'web']);
    assert.deepEqual(t.hosts.map((h) => [h.name, h.state]), [['compute-a', 'up'], ['compute-b', 'down']]);
    assert.match(t.hosts[1]!.reason!, /Docker is unavailable/);
    assert.equal(t.hosts[0]!.endpoint, 'unix:///fake/compute-a.sock');
    assert.equal(t.containers.find((c) => c.name === 'web')!.ports[0]!.bindingHost, 'compute-a');
  });

  it('Neutron down: the store\'s picture, ports UNKNOWN, neutron marked unreachable', async () => {
    f = await topologyFixture();
    f.h.neutron.failNext(/GET ports/, new NeutronError('GET', '/v2.0/ports', undefined, 'ECONNREFUSED', 'connect ECONNREFUSED'));
    const t = await f.h.topology.build(member('p1'));
    assert.equal(t.neutron.reachable, false);
    assert.match(t.neutron.error!, /ECONNREFUSED/);
    assert.deepEqual(t.containers.map((c) => c.name).sort(), ['db', 'web']);
    const port = t.containers[0]!.ports[0]!;
    assert.equal(port.status, 'UNKNOWN');
    assert.match(port.addresses[0]!, /^10\.2\.0\./, 'addresses from the store');
  });
});

describe('topology routes', () => {
  it('GET /v1/topology is scoped by the caller (noauth headers)', async () => {
    f = await topologyFixture();
    const get = async (headers: Record<string, string>) => JSON.parse((await f!.h.app.inject({ method: 'GET', url: '/v1/topology', headers })).body) as any;
    assert.deepEqual((await get(as('p2'))).containers.map((c: any) => c.name), ['secret-app']);
    assert.equal((await get(asAdmin('p1'))).containers.length, 3);
  });

  it('keystone mode: the JSON needs a token, the page does not; the page is self-contained with a strict CSP', async () => {
    f = await topologyFixture();
    const validator = { validate: async (t: string) => (t === 'tok-p1' ? member('p1') : Promise.reject(unauthorized('bad token', 'ZUN_ERR_UNAUTHORIZED'))) };
    const app = buildApi({ networks: f.h.networks, containers: f.h.containers, hosts: f.h.hostService, topology: f.h.topology, auth: { kind: 'keystone', validator } });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/v1/topology' })).statusCode, 401);
      const ok = await app.inject({ method: 'GET', url: '/v1/topology', headers: { 'x-auth-token': 'tok-p1' } });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.headers['cache-control'], 'no-store');
      assert.deepEqual((JSON.parse(ok.body) as any).networks.map((n: any) => n.name), ['blue']);
      const page = await app.inject({ method: 'GET', url: '/topology' });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'sha256-[^']+'/);
      assert.doesNotMatch(page.body, /(src|href)="(https?:)?\/\//, 'no external assets');
      assert.doesNotMatch(page.body, /innerHTML/, 'API strings are set as text only');
    } finally {
      await app.close();
    }
  });
});
