/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * zun-api answers Zun's own clients (python-zunclient's `zun` and `openstack
 * appcontainer`) as Zun does: the requests below are the ones those clients
 * send (bodies, query strings, headers, URL shapes), as captured from
 * python-zunclient 4.5.0.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { as, asAdmin, harness, seedWorkflow, type Harness } from '../fakes.js';

let h: Harness;
const P1 = as('p1');
const P2 = as('p2');
const ADMIN = asAdmin('p1');

interface Answer {
  status: number;
  body: any;
  headers: Record<string, unknown>;
}

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers = opts.headers ?? P1;
  const res = await h.app.inject({ method, url, headers, ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}) });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}

/** What python-zunclient's `zun run --net network=testnet --name NAME kuryr/busybox sleep 600` sends. */
const zunclientRun = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: 'kuryr/busybox',
  environment: {},
  auto_remove: false,
  labels: {},
  hints: {},
  nets: [{ network: 'testnet' }],
  mounts: [],
  command: ['sleep', '600'],
  ...extra,
});
/** Its headers: JSON, microversion, a body-less action's Content-Length 0. */
const ZC = { ...P1, 'content-type': 'application/json' };

async function running(name: string): Promise<any> {
  const r = await call('POST', '/v1/containers?run=true', { body: zunclientRun(name), headers: ZC });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await h.containers.idle();
  return r.body;
}

beforeEach(async () => {
  h = await harness();
  seedWorkflow(h.neutron);
});
afterEach(async () => {
  await h.close();
});

describe('python-zunclient requests', () => {
  it('create/run take every field the clients send; ignored ones change nothing', async () => {
    const r = await call('POST', '/v1/containers/?run=true', {
      body: zunclientRun('web', { cpu: '0.5', memory: '512', disk: 10, restart_policy: { Name: 'on-failure', MaximumRetryCount: '3' }, image_pull_policy: 'ifnotpresent', image_driver: 'docker', runtime: 'runc', availability_zone: 'nova', auto_heal: false, interactive: false, tty: 'False', healthcheck: { cmd: 'true' }, registry: 'myregistry', privileged: false, entrypoint: [] }),
      headers: ZC,
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.name, 'web');
    assert.deepEqual(r.body.command, ['sleep', '600']);
    await h.containers.idle();
    assert.equal((await call('GET', '/v1/containers/web')).body.status, 'Running');
    // OSC's create: no run, the same always-sent fields
    const c = await call('POST', '/v1/containers', { body: zunclientRun('quiet'), headers: ZC });
    assert.equal(c.status, 202);
    await h.containers.idle();
    assert.equal((await call('GET', '/v1/containers/quiet')).body.status, 'Created');
  });

  it('fields asking for what the service cannot do are refused with nothing made; microversion gates as Zun', async () => {
    for (const extra of [{ mounts: [{ source: 'vol', destination: '/data' }] }, { entrypoint: ['/bin/sh'] }, { privileged: true }]) {
      const r = await call('POST', '/v1/containers', { body: zunclientRun('refused', extra), headers: ZC });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.equal(r.body.errors[0].code, 'ZUN_ERR_UNSUPPORTED');
    }
    assert.equal((await call('POST', '/v1/containers', { body: zunclientRun('refused', { hints: 'no' }), headers: ZC })).status, 400, 'hints is an object');
    const old = (v: string, body: unknown) => call('POST', '/v1/containers', { body, headers: { ...ZC, 'openstack-api-version': `container ${v}` } });
    assert.equal((await old('1.2', zunclientRun('refused'))).status, 406, 'auto_remove needs 1.3');
    assert.equal((await old('1.39', zunclientRun('refused', { entrypoint: [] }))).status, 406, 'entrypoint needs 1.40');
    assert.equal((await call('GET', '/v1/containers')).body.containers.length, 0, 'the refused creates made nothing');
    assert.equal((await old('1.20', { ...zunclientRun('refused'), auto_remove: undefined, hostname: 'h1' })).status, 202);
  });

  it('trailing slashes, an unversioned path, and the empty segment are Zun\'s collection URLs', async () => {
    await running('web');
    const list = await call('GET', '/v1/containers/?all_projects=True', { headers: ADMIN });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.containers.map((c: any) => c.name), ['web']);
    assert.equal((await call('GET', '/v1/hosts/', { headers: ADMIN })).status, 200);
    assert.equal((await call('GET', '/v1/networks/')).status, 200);
    assert.equal((await call('GET', '/containers')).body.containers.length, 1, 'an endpoint registered without /v1');
    assert.equal((await call('GET', '/containers/web/')).body.name, 'web');
    const v1 = await call('GET', '/v1/');
    assert.equal(v1.body.id, 'v1');
    assert.equal(v1.body.max_version, '1.40');
    assert.deepEqual((await call('GET', '/v1')).body, v1.body);
    const root = await call('GET', '/', { headers: {} });
    assert.equal(root.body.versions[0].status, 'CURRENT', 'the version discovery of ZUN_API_VERSION=1.latest');
  });

  it('DELETE with no body and a non-JSON content type; body-less actions with Content-Length 0', async () => {
    await running('web');
    const raw = { ...ADMIN, 'content-type': 'application/octet-stream', 'content-length': '0' };
    const stop = await h.app.inject({ method: 'POST', url: '/v1/containers/web/stop?timeout=10', headers: { ...P1, 'content-type': 'application/json', 'content-length': '0' } });
    assert.equal(stop.statusCode, 202, stop.body);
    assert.equal((await h.app.inject({ method: 'POST', url: '/v1/containers/web/start', headers: { ...P1, 'content-type': 'application/json', 'content-length': '0' } })).statusCode, 202);
    const del = await h.app.inject({ method: 'DELETE', url: '/v1/containers/web?force=True&stop=False&all_projects=False', headers: raw });
    assert.equal(del.statusCode, 204, del.body);
    assert.equal((await call('GET', '/v1/containers')).body.containers.length, 0);
  });

  it('execute as Zun shapes it: the command in the query, {output, exit_code, exec_id, proxy_url}', async () => {
    await running('web');
    // python-zunclient's parse_command: every word double-quoted, space-separated
    const ex = await call('POST', '/v1/containers/web/execute?command=%22sh%22+%22-c%22+%22echo+hi%22', { headers: { ...P1, 'content-length': '0' } });
    assert.equal(ex.status, 200, JSON.stringify(ex.body));
    assert.deepEqual(ex.body, { output: 'ran sh -c echo hi\n', exit_code: 0, exec_id: null, proxy_url: null });
    assert.equal((await call('POST', '/v1/containers/web/execute?command=ls&run=true&interactive=false')).status, 200);
    const interactive = await call('POST', '/v1/containers/web/execute?command=%22sh%22&interactive=True&run=False');
    assert.equal(interactive.status, 400);
    assert.equal(interactive.body.errors[0].code, 'ZUN_ERR_UNSUPPORTED');
    assert.equal((await call('POST', '/v1/containers/web/execute?command=ls&run=maybe')).status, 400);
  });

  it('logs with the clients\' query; network attach, list and detach by query parameters', async () => {
    const c = await running('web');
    const logs = await call('GET', '/v1/containers/web/logs?stdout=True&stderr=True&timestamps=False&tail=all');
    assert.equal(logs.status, 200);
    assert.match(logs.body, /logs of zun-/);
    const bar = h.neutron.add('networks', { name: 'barnet', project_id: 'p1' });
    const barSub = h.neutron.add('subnets', { network_id: bar.id, project_id: 'p1', ip_version: 4, cidr: '10.3.0.0/24', gateway_ip: '10.3.0.1', subnetpool_id: null });
    assert.equal((await call('POST', '/v1/containers/web/network_attach?network=barnet&fixed_ip=10.3.0.9', { headers: { ...P1, 'content-type': 'application/json', 'content-length': '0' } })).status, 200);
    const nl = (await call('GET', `/v1/containers/${c.uuid}/network_list`)).body.networks;
    assert.deepEqual(nl.find((n: any) => n.net_id === bar.id).fixed_ips, [{ ip_address: '10.3.0.9', version: 4, subnet_id: barSub.id }]);
    // 1.13–1.17: one flat entry per address
    const legacy = (await call('GET', `/v1/containers/${c.uuid}/network_list`, { headers: { ...P1, 'openstack-api-version': 'container 1.17' } })).body.networks;
    assert.deepEqual(legacy.find((n: any) => n.net_id === bar.id), { net_id: bar.id, subnet_id: barSub.id, port_id: nl.find((n: any) => n.net_id === bar.id).port_id, version: 4, ip_address: '10.3.0.9' });
    assert.equal((await call('POST', '/v1/containers/web/network_detach?network=barnet')).status, 202);
    assert.equal((await call('GET', '/v1/containers/web/network_list')).body.networks.length, 1);
  });

  it('a client error\'s title is its message (what python-zunclient prints)', async () => {
    const r = await call('GET', '/v1/containers/nothing');
    assert.equal(r.status, 404);
    assert.equal(r.body.errors[0].title, 'Container nothing could not be found');
  });
});

describe('microversions as Zun', () => {
  const version = (value?: string) => call('GET', '/v1/containers', { headers: value === undefined ? { 'x-project-id': 'p1' } : { 'x-project-id': 'p1', 'openstack-api-version': value } });

  it('absent → 1.1; latest and 1.latest → 1.40; the range and Vary on every answer', async () => {
    const none = await version();
    assert.equal(none.headers['openstack-api-version'], 'container 1.1');
    assert.equal(none.headers['openstack-api-minimum-version'], 'container 1.1');
    assert.equal(none.headers['openstack-api-maximum-version'], 'container 1.40');
    assert.equal(none.headers.vary, 'OpenStack-API-Version');
    assert.equal((await version('container latest')).headers['openstack-api-version'], 'container 1.40');
    assert.equal((await version('container 1.latest')).headers['openstack-api-version'], 'container 1.40');
    assert.equal((await version('container 1.18')).headers['openstack-api-version'], 'container 1.18');
    assert.equal((await version('compute 2.1, container 1.18')).headers['openstack-api-version'], 'container 1.18');
  });

  it('another service, a malformed value or one out of range → 406, still naming the range', async () => {
    for (const v of ['compute 2.1', 'container', 'container 1', 'container 1.x', 'container 2.0', 'container 1.0', 'container 1.41']) {
      const r = await version(v);
      assert.equal(r.status, 406, v);
      assert.equal(r.body.errors[0].code, 'ZUN_ERR_VERSION');
      assert.equal(r.headers['openstack-api-maximum-version'], 'container 1.40', v);
    }
  });
});

describe('GET /v1/containers: Zun\'s filters, sorting and pagination', () => {
  it('filters, sort_key/sort_dir, limit with a next link that --limit follows, marker; unknown parameters → 400', async () => {
    for (const name of ['b-one', 'a-two', 'c-three']) await running(name);
    const names = async (qs: string, headers = P1) => (await call('GET', `/v1/containers?${qs}`, { headers })).body.containers.map((c: any) => c.name);
    assert.deepEqual(await names(''), ['b-one', 'a-two', 'c-three'], 'creation order by default');
    assert.deepEqual(await names('name=a-two'), ['a-two']);
    assert.deepEqual(await names('status=Running&image=kuryr/busybox'), ['b-one', 'a-two', 'c-three']);
    assert.deepEqual(await names('status=Stopped'), []);
    assert.deepEqual(await names('sort_key=name'), ['a-two', 'b-one', 'c-three']);
    assert.deepEqual(await names('sort_key=name&sort_dir=desc'), ['c-three', 'b-one', 'a-two']);
    const page = await call('GET', '/v1/containers?limit=2&sort_key=name');
    assert.deepEqual(page.body.containers.map((c: any) => c.name), ['a-two', 'b-one']);
    const next = new URL(page.body.next);
    assert.equal(next.pathname, '/v1/containers');
    assert.equal(next.searchParams.get('marker'), page.body.containers[1].uuid);
    assert.deepEqual(await names(next.search.slice(1)), ['c-three']);
    assert.equal((await call('GET', `/v1/containers?${next.search.slice(1)}`)).body.next, undefined, 'the last page has no next');
    assert.equal((await call('GET', '/v1/containers?bogus=1')).status, 400);
    assert.equal((await call('GET', '/v1/containers?sort_key=password')).status, 400);
    assert.equal((await call('GET', '/v1/containers?limit=0')).status, 400);
    assert.equal((await call('GET', '/v1/containers?marker=00000000-0000-0000-0000-000000000000')).status, 404);
    assert.equal((await call('GET', '/v1/containers?host=testhost')).status, 403, 'the host filter is admin-only');
    assert.deepEqual(await names('host=testhost', ADMIN), ['b-one', 'a-two', 'c-three']);
    assert.deepEqual(await names('memory=512'), [], 'no container has a memory limit');
    assert.deepEqual(await names('auto_remove=False'), ['b-one', 'a-two', 'c-three']);
  });

  it('all_projects on show and delete: admins only', async () => {
    await running('web');
    assert.equal((await call('GET', '/v1/containers/web', { headers: P2 })).status, 404);
    assert.equal((await call('GET', '/v1/containers/web?all_projects=True', { headers: P2 })).status, 403);
    const admin2 = asAdmin('p2');
    assert.equal((await call('GET', '/v1/containers/web', { headers: admin2 })).status, 404, 'an admin sees another project\'s container only with all_projects');
    assert.equal((await call('GET', '/v1/containers/web?all_projects=1', { headers: admin2 })).body.name, 'web');
    assert.equal((await call('DELETE', '/v1/containers/web?stop=True&all_projects=True', { headers: admin2 })).status, 204);
  });
});
