/**
 * Zun's own clients against the lab's zun-api: Debian's python-zunclient
 * (`/usr/bin/zun`, by its full path: the project's `zun` is first on PATH) and
 * `openstack appcontainer`, as the lab's demo user with default settings —
 * both find zun-api in Keystone's catalog (service type `container`, which
 * lab/zun.sh registers) and negotiate the microversion (1.latest). They run,
 * create, list, show, read logs, exec, stop, start, attach, list and detach a
 * second network, and delete (an admin force-deletes across projects), on
 * Neutron networks made for the test. Names carry RUN_PREFIX (shared lab).
 * Skipped when the lab runs noauth (no Keystone, no catalog).
 *
 * Needs: python3-zunclient (lab/install.sh) and a zun-api started by
 * `bash lab/zun.sh start` from this code (it registers the catalog entry).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cloudSource, neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { RUN_PREFIX, docker, neutron, waitFor } from './support.js';

const KEYSTONE = (() => {
  try {
    return readFileSync('/run/kuryr-lab/auth', 'utf8').trim() === 'keystone';
  } catch {
    return false;
  }
})();
const CLOUDS = '/etc/kuryr-lab/clouds.yaml';
const DEBIAN_ZUN = '/usr/bin/zun';
const tmp = mkdtempSync(join(tmpdir(), 'zun-clients-it-'));
const NET = `${RUN_PREFIX}-zc-net`;
const NET2 = `${RUN_PREFIX}-zc-net2`;
const A = `${RUN_PREFIX}-zc-a`;
const B = `${RUN_PREFIX}-zc-b`;
const C = `${RUN_PREFIX}-zc-c`;
const D = `${RUN_PREFIX}-zc-d`;

/** The demo user's credentials as OS_* variables (python-zunclient's shell has no --os-cloud). */
function demoEnv(): NodeJS.ProcessEnv {
  const v = cloudSource('lab-demo', { env: { OS_CLIENT_CONFIG_FILE: CLOUDS } }).values;
  return {
    OS_AUTH_URL: v.auth_url,
    OS_USERNAME: v.username,
    OS_PASSWORD: v.password,
    OS_PROJECT_NAME: v.project_name,
    OS_USER_DOMAIN_NAME: v.user_domain_name ?? 'Default',
    OS_PROJECT_DOMAIN_NAME: v.project_domain_name ?? 'Default',
    OS_REGION_NAME: v.region_name ?? 'RegionOne',
  };
}

/** Nothing inherited but PATH: no OS_*, ZUN_* or a user's clouds.yaml decides for the clients. */
const cleanEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, LANG: 'C.UTF-8' });

interface Ran {
  code: number;
  out: string;
  err: string;
}
function cli(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 180_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}
/** Debian's python-zunclient as demo, default settings (ZUN_API_VERSION unset: 1.latest, endpoint from the catalog). */
const zun = (...args: string[]) => cli(DEBIAN_ZUN, args, { ...cleanEnv(), ...demoEnv() });
/** `openstack appcontainer …` with the lab's clouds. */
const osc = (cloud: string, ...args: string[]) => cli('openstack', ['appcontainer', ...args], { ...cleanEnv(), OS_CLOUD: cloud, OS_CLIENT_CONFIG_FILE: CLOUDS });

async function ok(r: Promise<Ran>, what: string): Promise<string> {
  const x = await r;
  assert.equal(x.code, 0, `${what}: exit ${x.code}\n${x.out}\n${x.err}`);
  return x.out;
}

/** A value of a PrettyTable Property/Value (or Field/Value) table. */
function prop(table: string, key: string): string {
  const line = table.split('\n').find((l) => new RegExp(`^\\| ${key} +\\|`).test(l));
  return line ? line.split('|')[2]!.trim() : '';
}

// the demo user: its Neutron (for the test's networks) and its token and catalog entry (to poll zun-api directly)
const demoNeutronAuth = KEYSTONE ? neutronAuthFrom({ cloud: 'lab-demo' }, { env: { OS_CLIENT_CONFIG_FILE: CLOUDS } }).auth : undefined;
const demoNeutron = demoNeutronAuth ? new NeutronClient(demoNeutronAuth, { timeoutMs: 30_000, attempts: 3, stats: new OpStats() }) : undefined;
const demoZunAuth = KEYSTONE ? neutronAuthFrom({ cloud: 'lab-demo' }, { env: { OS_CLIENT_CONFIG_FILE: CLOUDS }, serviceType: 'container' }).auth : undefined;
let zunUrl = '';
const made = { nets: [] as string[], containers: new Set<string>() };

async function api(method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${zunUrl}${path}`, { method, headers: { ...(await demoZunAuth!.headers()), 'OpenStack-API-Version': 'container 1.40' } });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function waitStatus(name: string, want: string): Promise<Record<string, unknown>> {
  return waitFor(`container ${name} to be ${want}`, async () => {
    const c = (await api('GET', `/v1/containers/${name}`)).body;
    if (c.status === 'Error') assert.fail(`${name} is in Error: ${String(c.status_reason)}`);
    return c.status === want ? c : undefined;
  }, 120_000);
}

before(async () => {
  if (!KEYSTONE) return;
  assert.ok(existsSync(DEBIAN_ZUN), `${DEBIAN_ZUN} is missing: install python3-zunclient (bash lab/install.sh)`);
  // the catalog entry python-zunclient looks up, and a zun-api with this code behind it
  const endpoint = await demoZunAuth!.endpoint().catch((e: unknown) => assert.fail(`no container endpoint in the catalog (run bash lab/zun.sh start): ${(e as Error).message}`));
  assert.match(endpoint, /\/v1\/?$/, 'the catalog URL is the API root /v1');
  zunUrl = endpoint.replace(/\/+$/, '').replace(/\/v1$/, '');
  const probe = await fetch(`${zunUrl}/v1/containers/`, { headers: await demoZunAuth!.headers() }).catch((e: unknown) => assert.fail(`zun-api at ${zunUrl} does not answer: ${(e as Error).message}`));
  assert.equal(probe.status, 200, 'GET /v1/containers/ (a trailing slash): restart zun-api with this code (bash lab/zun.sh start)');
  assert.equal(probe.headers.get('openstack-api-maximum-version'), 'container 1.40');
  // the demo project's networks, as a user would make them
  for (const [name, cidr] of [[NET, '10.47.0.0/24'], [NET2, '10.48.0.0/24']] as const) {
    const net = await demoNeutron!.create('networks', { name });
    made.nets.push(net.id);
    await demoNeutron!.create('subnets', { network_id: net.id, ip_version: 4, cidr, name: `${name}-subnet` });
  }
});

after(async () => {
  if (KEYSTONE) {
    for (const c of made.containers) await api('DELETE', `/v1/containers/${c}?stop=true`).catch(() => undefined);
    // the container networks zun-api made for them (lazily, per host), then what any failure left
    for (const n of made.nets) await api('DELETE', `/v1/networks/${n}`).catch(() => undefined);
    for (const n of made.nets) await docker('network', 'rm', n).catch(() => undefined);
    for (const c of made.containers) {
      for (const p of await neutron.list('ports', { device_id: c }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
    }
    for (const n of made.nets) {
      for (const p of await neutron.list('ports', { network_id: n }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
      for (const sn of await neutron.list('subnets', { network_id: n }).catch(() => [])) await neutron.delete('subnets', sn.id).catch(() => undefined);
      await neutron.delete('networks', n).catch(() => undefined);
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

// The two clients work on containers of their own, at once: most of their time is Python starting up.
describe('Zun\'s clients against the lab\'s zun-api', { skip: !KEYSTONE && 'the lab runs noauth: no Keystone catalog for Zun\'s clients', timeout: 900_000, concurrency: 2 }, () => {
  it('python-zunclient (/usr/bin/zun): run, create, list, show, logs, exec, stop, start, network attach/list/detach, delete', async (t) => {
    const t0 = Date.now();
    const mark = (what: string): void => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

    const runA = await ok(zun('run', '--net', `network=${NET}`, '--name', A, 'kuryr/busybox', 'sh', '-c', 'echo hello-from-a; exec sleep 600'), 'zun run');
    made.containers.add(prop(runA, 'uuid'));
    assert.equal(prop(runA, 'name'), A);
    assert.equal(prop(runA, 'status'), 'Creating');
    const createB = await ok(zun('create', '--net', `network=${NET}`, '--name', B, 'kuryr/busybox', 'sleep', '600'), 'zun create');
    made.containers.add(prop(createB, 'uuid'));
    const a = await waitStatus(A, 'Running');
    await waitStatus(B, 'Created');
    assert.match(await ok(zun('start', B), 'zun start'), /Request to start container .* has been accepted/);
    await waitStatus(B, 'Running');
    mark('run and create+start');

    const list = await ok(zun('list'), 'zun list');
    const ipA = /10\.47\.0\.\d+/.exec(JSON.stringify(a.addresses))![0];
    assert.match(list, new RegExp(`\\| ${A} +\\| kuryr/busybox +\\| Running +\\| \\S+ +\\| ${ipA.replace(/\./g, '\\.')} `));
    assert.match(list, new RegExp(`\\| ${B} +\\| kuryr/busybox +\\| Running `));
    const show = await ok(zun('show', A), 'zun show');
    assert.equal(prop(show, 'status'), 'Running');
    assert.equal(prop(show, 'addresses'), ipA, 'python-zunclient flattens addresses');
    assert.match(await ok(zun('logs', A), 'zun logs'), /hello-from-a/);
    const hostname = await ok(zun('exec', A, 'cat', '/etc/hostname'), 'zun exec');
    assert.ok(hostname.trim().length > 0);
    const ping = await ok(zun('exec', B, 'ping', '-c', '2', '-W', '2', ipA), 'zun exec ping');
    assert.match(ping, /2 packets received/, 'B reaches A over the Neutron network');
    mark('list, show, logs, exec');

    assert.match(await ok(zun('stop', A), 'zun stop'), /Request to stop container .* has been accepted/);
    await waitStatus(A, 'Stopped');
    await ok(zun('start', A), 'zun start');
    await waitStatus(A, 'Running');
    mark('stop, start');

    const attach = await ok(zun('network-attach', '--network', NET2, '--fixed-ip', '10.48.0.9', A), 'zun network-attach');
    assert.match(attach, /Request to attach network to container .* has been accepted/, attach);
    const nl = await ok(zun('network-list', A), 'zun network-list');
    assert.match(nl, /10\.48\.0\.9/);
    assert.match(nl, new RegExp(ipA.replace(/\./g, '\\.')));
    assert.match(await ok(zun('exec', A, 'ip', '-o', '-4', 'addr'), 'exec ip addr'), /inet 10\.48\.0\.9\/24/);
    const detach = await ok(zun('network-detach', '--network', NET2, A), 'zun network-detach');
    assert.match(detach, /Request to detach network from container .* has been accepted/, detach);
    assert.doesNotMatch(await ok(zun('network-list', A), 'zun network-list'), /10\.48\.0\.9/);
    mark('network attach, list, detach');

    const refused = await ok(zun('delete', A), 'zun delete (running)');
    assert.match(refused, /Delete for container .* failed: .*Running.*\(HTTP 409\)/, 'python-zunclient prints the error title: the message');
    assert.match(await ok(zun('delete', '--stop', A), 'zun delete --stop'), /Request to delete container .* has been accepted/);
    assert.equal((await api('GET', `/v1/containers/${A}`)).status, 404);
    const forced = await ok(zun('delete', '--force', B), 'zun delete --force (member)');
    assert.match(forced, /container:delete_force.*\(HTTP 403\)/, 'force is admin-only');
    // an admin: found across projects with --all-projects, force-deleted
    assert.equal((await osc('lab-admin', 'delete', '--force', '--all-projects', B)).code, 0);
    assert.equal((await api('GET', `/v1/containers/${B}`)).status, 404);
    mark('delete');
  });

  it('openstack appcontainer: run, create, list, show, logs, exec (exit code), stop, start, network attach/list/detach, delete', async (t) => {
    const t0 = Date.now();
    const mark = (what: string): void => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
    const run = JSON.parse(await ok(osc('lab-demo', 'run', '-f', 'json', '--name', C, '--net', `network=${NET}`, 'kuryr/busybox', 'sh', '-c', 'echo hello-from-c; exec sleep 600'), 'appcontainer run')) as Record<string, unknown>;
    made.containers.add(String(run.uuid));
    assert.equal(run.name, C);
    const created = JSON.parse(await ok(osc('lab-demo', 'create', '-f', 'json', '--wait', '--name', D, '--net', `network=${NET}`, 'kuryr/busybox', 'sleep', '600'), 'appcontainer create --wait')) as Record<string, unknown>;
    made.containers.add(String(created.uuid));
    assert.equal(created.status, 'Created');
    await waitStatus(C, 'Running');
    mark('run, create --wait');

    const list = JSON.parse(await ok(osc('lab-demo', 'list', '-f', 'json'), 'appcontainer list')) as Array<Record<string, unknown>>;
    assert.deepEqual(list.filter((c) => c.name === C || c.name === D).map((c) => `${String(c.name)} ${String(c.status)}`).sort(), [`${C} Running`, `${D} Created`]);
    const show = JSON.parse(await ok(osc('lab-demo', 'show', '-f', 'json', C), 'appcontainer show')) as Record<string, unknown>;
    assert.equal(show.status, 'Running');
    assert.match(String(show.addresses), /^10\.47\.0\.\d+$/);
    assert.match(await ok(osc('lab-demo', 'logs', C), 'appcontainer logs'), /hello-from-c/);
    assert.match(await ok(osc('lab-demo', 'exec', C, 'echo', 'hi there'), 'appcontainer exec'), /hi there/);
    const failing = await osc('lab-demo', 'exec', C, 'sh', '-c', 'exit 3');
    assert.equal(failing.code, 3, 'the command\'s exit code is the CLI\'s');
    mark('list, show, logs, exec');

    await ok(osc('lab-demo', 'stop', C), 'appcontainer stop');
    await waitStatus(C, 'Stopped');
    await ok(osc('lab-demo', 'start', C), 'appcontainer start');
    await ok(osc('lab-demo', 'start', D), 'appcontainer start');
    await waitStatus(C, 'Running');
    await waitStatus(D, 'Running');
    mark('stop, start');

    assert.match(await ok(osc('lab-demo', 'network', 'attach', '--network', NET2, C), 'appcontainer network attach'), /has been accepted/);
    const nets = JSON.parse(await ok(osc('lab-demo', 'network', 'list', '-f', 'json', C), 'appcontainer network list')) as Array<{ net_id: string; fixed_ips: string }>;
    assert.deepEqual(nets.map((n) => n.net_id).sort(), [...made.nets].sort());
    assert.match(JSON.stringify(nets), /10\.48\.0\.\d+/);
    assert.match(await ok(osc('lab-demo', 'network', 'detach', '--network', NET2, C), 'appcontainer network detach'), /has been accepted/);
    const after1 = JSON.parse(await ok(osc('lab-demo', 'network', 'list', '-f', 'json', C), 'appcontainer network list')) as Array<{ net_id: string }>;
    assert.deepEqual(after1.map((n) => n.net_id), [made.nets[0]]);
    mark('network attach, list, detach');

    assert.match(await ok(osc('lab-demo', 'delete', '--stop', C, D), 'appcontainer delete --stop'), new RegExp(`Request to delete container ${D} has been accepted`));
    for (const name of [C, D]) assert.equal((await api('GET', `/v1/containers/${name}`)).status, 404, name);
    for (const uuid of [String(run.uuid), String(created.uuid)]) assert.deepEqual(await neutron.list('ports', { device_id: uuid }), [], `no port left for ${uuid}`);
    mark('delete');
  });
});
