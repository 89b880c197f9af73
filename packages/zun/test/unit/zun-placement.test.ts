/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * Several compute hosts over fakes (one FakeDocker per host, SQLite :memory:):
 * least-loaded placement among healthy, enabled hosts; an admin's requested
 * host (policy, unknown → 404, down → 409, nothing made); the health check
 * and GET /v1/hosts; container operations going to the container's host while
 * another host is down; the [compute_hosts] configuration.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { leastLoaded } from '../../src/domain/placement.js';
import { buildZunConfig } from '../../src/main/zun-config.js';
import { as, asAdmin, harness, seedWorkflow, type Harness } from '../fakes.js';

let h: Harness;
const P1 = as('p1');
const ADMIN = asAdmin('p1');

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = ADMIN) {
  const res = await h.app.inject({ method, url, headers, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {} };
}

async function setup(hosts = ['h1', 'h2', 'h3'], disabled: string[] = []) {
  h = await harness('sqlite::memory:', { hosts, disabled });
  seedWorkflow(h.neutron);
  const foo = await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet', neutron_pool_id: 'testpool', neutron_subnet_id: 'testsubnet' }, P1);
  assert.equal(foo.status, 200, JSON.stringify(foo.body));
}

async function run(extra: Record<string, unknown> = {}, headers = ADMIN) {
  const res = await call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', command: ['sleep', '600'], nets: [{ network: 'foo' }], ...extra }, headers);
  await h.containers.idle();
  return res;
}

const hostOf = async (uuid: string): Promise<string> => (await call('GET', `/v1/containers/${uuid}`)).body.host;

afterEach(async () => {
  await h?.close();
});

describe('placement (pure)', () => {
  it('least loaded first, ties in configuration order; down, unknown and disabled hosts are no candidates', () => {
    const hosts = [
      { name: 'a', state: 'up' as const, disabled: false, containers: 2 },
      { name: 'b', state: 'up' as const, disabled: false, containers: 1 },
      { name: 'c', state: 'up' as const, disabled: false, containers: 1 },
      { name: 'd', state: 'down' as const, disabled: false, containers: 0 },
      { name: 'e', state: 'unknown' as const, disabled: false, containers: 0 },
      { name: 'f', state: 'up' as const, disabled: true, containers: 0 },
    ];
    assert.deepEqual(leastLoaded(hosts), ['b', 'c', 'a']);
    assert.deepEqual(leastLoaded([]), []);
  });
});

describe('placement over several hosts', () => {
  it('spreads containers over the least-loaded hosts; each is built on its host, its port bound to that host', async () => {
    await setup();
    const placed: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await run({}, P1);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.equal(r.body.host, undefined, 'host is admin-only in views');
      placed.push(await hostOf(r.body.uuid));
    }
    assert.deepEqual(placed, ['h1', 'h2', 'h3', 'h1']);
    for (const [name, docker] of h.dockers) {
      const mine = [...docker.containers.values()].filter((c) => c.spec.name.startsWith('zun-sandbox-'));
      assert.equal(mine.length, name === 'h1' ? 2 : 1, `${name}'s sandboxes`);
      for (const sb of mine) {
        const port = h.neutron.all('ports').find((p) => p.device_id === sb.spec.labels['zun.container.uuid'])!;
        assert.equal(port['binding:host_id'], name, 'bound to the container\'s host (its chassis)');
      }
    }
    const hosts = await call('GET', '/v1/hosts');
    assert.equal(hosts.status, 200);
    assert.deepEqual(
      hosts.body.hosts.map((x: any) => [x.hostname, x.state, x.total_containers, x.disabled]),
      [['h1', 'up', 2, false], ['h2', 'up', 1, false], ['h3', 'up', 1, false]],
    );
  });

  it('concurrent creates see each other\'s load', async () => {
    await setup();
    const rs = await Promise.all([0, 1, 2].map(() => call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', nets: [{ network: 'foo' }] }, P1)));
    await h.containers.idle();
    assert.deepEqual((await Promise.all(rs.map((r) => hostOf(r.body.uuid)))).sort(), ['h1', 'h2', 'h3']);
  });

  it('a host that is down is skipped, even with the fewest containers; when it is back it is used again', async () => {
    await setup();
    await run();
    await h.hosts.check();
    h.dockers.get('h2')!.down = true;
    await h.hosts.check();
    const r = await run();
    assert.equal(await hostOf(r.body.uuid), 'h3');
    const r2 = await run();
    assert.equal(await hostOf(r2.body.uuid), 'h1', 'h2 (0 containers) is down');
    assert.equal(h.dockers.get('h2')!.containers.size, 0);
    h.dockers.get('h2')!.down = false;
    await h.hosts.check(['h2']);
    assert.equal(await hostOf((await run()).body.uuid), 'h2');
  });

  it('a host that stopped answering since the last ping is marked down at placement and the next host used', async () => {
    await setup(['h1', 'h2']);
    await h.hosts.check();
    h.dockers.get('h1')!.down = true;
    const r = await run();
    assert.equal(r.status, 202);
    assert.equal(await hostOf(r.body.uuid), 'h2');
    assert.equal(h.hosts.health('h1').state, 'down');
    assert.match(h.hosts.health('h1').reason!, /Docker is unavailable/);
  });

  it('every host down → 503 ZUN_ERR_NO_VALID_HOST naming each host\'s reason, nothing made', async () => {
    await setup(['h1', 'h2'], ['h2']);
    h.dockers.get('h1')!.down = true;
    const r = await run();
    assert.equal(r.status, 503);
    assert.equal(r.body.errors[0].code, 'ZUN_ERR_NO_VALID_HOST');
    assert.match(r.body.errors[0].detail, /h1 is down \(Docker is unavailable: .*\); h2 is disabled/);
    assert.equal((await call('GET', '/v1/containers?all_projects=1')).body.containers.length, 0);
    assert.equal(h.neutron.all('ports').length, 0);
  });

  it('a disabled host is skipped by placement but can be requested by an admin', async () => {
    await setup(['h1', 'h2'], ['h1']);
    assert.equal(await hostOf((await run()).body.uuid), 'h2');
    assert.equal(await hostOf((await run()).body.uuid), 'h2');
    assert.equal(await hostOf((await run({ host: 'h1' })).body.uuid), 'h1');
    const list = await call('GET', '/v1/hosts');
    assert.deepEqual(list.body.hosts.map((x: any) => [x.hostname, x.disabled, x.total_containers]), [['h1', true, 1], ['h2', false, 2]]);
  });
});

describe('an admin\'s requested host', () => {
  it('is honoured even when it is the most loaded', async () => {
    await setup(['h1', 'h2']);
    await run({ host: 'h1' });
    const r = await run({ host: 'h1' });
    assert.equal(r.status, 202);
    assert.equal(await hostOf(r.body.uuid), 'h1');
    assert.equal((await call('GET', `/v1/containers/${r.body.uuid}`)).body.status, 'Running');
  });

  it('non-admin → 403, unknown → 404, down → 409, below 1.39 → 406; nothing made', async () => {
    await setup(['h1', 'h2', 'h3']);
    h.dockers.get('h3')!.down = true;
    const member = await run({ host: 'h1' }, P1);
    assert.equal(member.status, 403);
    assert.match(member.body.errors[0].detail, /container:create:requested_destination/);
    const ghost = await run({ host: 'ghost' });
    assert.equal(ghost.status, 404);
    assert.equal(ghost.body.errors[0].code, 'ZUN_ERR_HOST_NOT_FOUND');
    const down = await run({ host: 'h3' });
    assert.equal(down.status, 409);
    assert.equal(down.body.errors[0].code, 'ZUN_ERR_HOST_DOWN');
    assert.match(down.body.errors[0].detail, /Compute host h3 is down \(Docker is unavailable: .*\): cannot place a container there/);
    const old = await run({ host: 'h1' }, { ...ADMIN, 'openstack-api-version': 'container 1.38' });
    assert.equal(old.status, 406);
    assert.equal((await call('GET', '/v1/containers?all_projects=1')).body.containers.length, 0);
    assert.equal(h.neutron.all('ports').length, 0);
    assert.equal(h.dockers.get('h3')!.calls.filter((c) => c !== 'ping').length, 0, 'nothing sent to the down host but pings');
  });
});

describe('health and GET /v1/hosts', () => {
  it('admin only; refresh pings now; a host shows down with its reason and up again when back', async () => {
    await setup(['h1', 'h2']);
    assert.equal((await call('GET', '/v1/hosts', undefined, P1)).status, 403);
    assert.equal((await call('GET', '/v1/hosts/h1', undefined, P1)).status, 403);
    const before = await call('GET', '/v1/hosts');
    assert.deepEqual(before.body.hosts.map((x: any) => x.state), ['unknown', 'unknown'], 'no ping yet (the root pings at start)');
    h.dockers.get('h2')!.down = true;
    const fresh = await call('GET', '/v1/hosts?refresh=true');
    assert.deepEqual(fresh.body.hosts.map((x: any) => [x.hostname, x.state]), [['h1', 'up'], ['h2', 'down']]);
    assert.match(fresh.body.hosts[1].reason, /Docker is unavailable/);
    assert.equal(fresh.body.hosts[1].docker_endpoint, 'unix:///fake/h2.sock');
    assert.ok(fresh.body.hosts[1].last_checked_at);
    h.dockers.get('h2')!.down = false;
    assert.equal((await call('GET', '/v1/hosts/h2')).body.state, 'down', 'without refresh: the last result');
    assert.equal((await call('GET', '/v1/hosts/h2?refresh=1')).body.state, 'up');
    assert.equal((await call('GET', '/v1/hosts/ghost')).status, 404);
  });
});

describe('container operations go to the container\'s host', () => {
  it('with one host down, the other host\'s containers keep working; the down host\'s give 409 and stay as they are', async () => {
    await setup(['h1', 'h2']);
    const a = (await run({ host: 'h1' })).body.uuid as string;
    const b = (await run({ host: 'h2' })).body.uuid as string;
    const d1 = h.dockers.get('h1')!;
    const d2 = h.dockers.get('h2')!;
    d1.calls.length = 0;
    d2.calls.length = 0;
    assert.equal((await call('POST', `/v1/containers/${b}/execute`, { command: ['true'] })).status, 200);
    assert.deepEqual(d2.calls, ['exec']);
    assert.deepEqual(d1.calls, []);

    d2.down = true;
    await h.hosts.check();
    for (const [method, url] of [
      ['POST', `/v1/containers/${b}/stop`],
      ['GET', `/v1/containers/${b}/logs`],
      ['POST', `/v1/containers/${b}/execute?command=true`],
      ['DELETE', `/v1/containers/${b}?stop=true`],
    ] as const) {
      const r = await call(method, url);
      assert.equal(r.status, 409, `${method} ${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.errors[0].code, 'ZUN_ERR_HOST_DOWN');
      assert.match(r.body.errors[0].detail, /host h2 is down/);
    }
    assert.equal((await call('GET', `/v1/containers/${b}`)).body.status, 'Running', 'unchanged');
    assert.equal(h.neutron.all('ports').filter((p) => p.device_id === b).length, 1, 'its port is kept');

    assert.equal((await call('POST', `/v1/containers/${a}/stop`)).status, 202);
    assert.equal((await call('POST', `/v1/containers/${a}/start`)).status, 202);
    assert.equal((await call('GET', `/v1/containers/${a}/logs`)).status, 200);
    assert.equal((await call('DELETE', `/v1/containers/${a}?stop=true`)).status, 204);
    assert.equal(d1.containers.size, 0);

    d2.down = false; // back: no periodic check needed, the gate pings a host it knows down
    assert.equal((await call('DELETE', `/v1/containers/${b}?stop=true`)).status, 204);
    assert.equal(d2.containers.size, 0);
    assert.equal(h.neutron.all('ports').length, 0);
  });

  it('a container on a host no longer configured: 409 for operations; an admin\'s force delete cleans Neutron and the rows', async () => {
    await setup(['h1']);
    const a = (await run()).body.uuid as string;
    await h.store.containers.update(a, { host: 'gone' });
    const stop = await call('POST', `/v1/containers/${a}/stop`);
    assert.equal(stop.status, 409);
    assert.equal(stop.body.errors[0].code, 'ZUN_ERR_HOST_NOT_CONFIGURED');
    assert.equal((await call('DELETE', `/v1/containers/${a}?force=true`, undefined, P1)).status, 403);
    assert.equal((await call('DELETE', `/v1/containers/${a}?force=true`)).status, 204);
    assert.equal(h.neutron.all('ports').length, 0);
    assert.equal((await call('GET', `/v1/containers/${a}`)).status, 404);
  });
});

describe('zun.conf [compute_hosts]', () => {
  const conf = (text: string) => buildZunConfig(parseIni(text, 'zun.conf'), {});

  it('without the section: one host, [DEFAULT] host at [docker] socket (unchanged single-host config)', () => {
    const c = conf('[DEFAULT]\nhost = vm\n[docker]\nsocket = /var/run/docker.sock\n');
    assert.deepEqual(c.computeHosts, [{ name: 'vm', socket: '/var/run/docker.sock' }]);
    assert.deepEqual(c.disabledHosts, []);
    assert.deepEqual([c.docker.pingIntervalS, c.docker.pingTimeoutS], [10, 3]);
  });

  it('one line per host, in file order; unix:// or a plain path; disabled hosts; ping options', () => {
    const c = conf(
      '[DEFAULT]\nhost = vm\n[compute_hosts]\nvm = unix:///var/run/docker.sock\nhost2 = unix:///run/kuryr-lab/host2/docker.sock\nhost1 = /run/kuryr-lab/host1/docker.sock\n[scheduler]\ndisabled_hosts = vm\n[docker]\nping_interval = 0\nping_timeout = 2\n',
    );
    assert.deepEqual(c.computeHosts, [
      { name: 'vm', socket: '/var/run/docker.sock' },
      { name: 'host2', socket: '/run/kuryr-lab/host2/docker.sock' },
      { name: 'host1', socket: '/run/kuryr-lab/host1/docker.sock' },
    ]);
    assert.deepEqual(c.disabledHosts, ['vm']);
    assert.deepEqual([c.docker.pingIntervalS, c.docker.pingTimeoutS], [0, 2]);
  });

  it('bad entries are configuration errors naming the option', () => {
    assert.throws(() => conf('[compute_hosts]\nh1 = tcp://10.0.0.1:2375\n'), /\[compute_hosts\] h1 = tcp:\/\/10\.0\.0\.1:2375: use unix:\/\/\/absolute\/path/);
    assert.throws(() => conf('[compute_hosts]\nh1 = docker.sock\n'), /only unix sockets/);
    assert.throws(() => conf('[compute_hosts]\nh1 = /a.sock\n[scheduler]\ndisabled_hosts = h9\n'), /disabled_hosts: h9 is not a compute host \(h1\)/);
    assert.throws(() => conf('[compute_hosts]\nh1 = /a.sock\n[docker]\nping_timeout = 0\n'), /ping_timeout/);
  });
});
