/**
 * The container service across Docker hosts, on the real
 * two-host lab (lab/hosts.sh: host1 and host2, each its own Docker Engine,
 * kuryr daemon and OVN chassis, Geneve between them; docs/multihost.md).
 *
 * A zun-api runs in this process (the code under test; noauth API, the lab's
 * Neutron with kuryr's credentials, SQLite in a temp dir) with three compute
 * hosts: host1 (its Docker socket), host2 (through a socket relay this test
 * owns, so stopping the relay makes host2 unreachable for zun-api without
 * touching the lab) and host3 (a socket nobody serves: always down). The `zun`
 * CLI drives it: network-create of a pre-made Neutron network/pool/subnet,
 * containers placed by admin request and least-loaded, two zun-api processes
 * racing to make host2's Docker network, pings across hosts, ports bound to
 * their chassis; then host2 down (placement avoids it, a request for it is a
 * clear 409, host1 keeps working, delete refused with nothing removed) and
 * back (everything cleaned, nothing left on either host, in Neutron or in the
 * database).
 *
 * Traffic goes only between the containers this test starts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { openStore } from '@kuryr-ts/zun/db/kysely-store';
import { buildZunConfig } from '@kuryr-ts/zun/main/zun-config';
import { buildZunApp, type ZunApp } from '@kuryr-ts/zun/main/zun-api';
import { REPO, RUN_PREFIX, neutron, sh, waitFor } from './support.js';

type Host = 'host1' | 'host2';
const LAB_SOCK = (h: Host): string => `/run/kuryr-lab/${h}/docker.sock`;
const dk = (h: Host, ...args: string[]): Promise<string> => sh('docker', ['-H', `unix://${LAB_SOCK(h)}`, ...args]);
const hostsSh = (...args: string[]): Promise<string> => sh('bash', [`${REPO}lab/hosts.sh`, ...args], 180_000);

function cannotRun(): string | undefined {
  if (process.env.KURYR_TEST_SKIP_MULTIHOST === '1') return 'KURYR_TEST_SKIP_MULTIHOST=1';
  if (process.getuid?.() !== 0) return 'needs root';
  for (const f of ['/usr/bin/nsenter', '/usr/sbin/dockerd', '/usr/bin/ovn-controller']) if (!existsSync(f)) return `${f} missing`;
  if (!existsSync('/var/run/ovn/ovnsb_db.sock') || !existsSync('/etc/kuryr-lab/kuryr.conf')) return 'the lab is not up (no OVN SB DB or kuryr.conf)';
  return undefined;
}
const skip = cannotRun();

const tmp = mkdtempSync(join(tmpdir(), 'zun-mh-'));
const TEST_DIR = '/run/kuryr-lab/test';
const RELAY = `${TEST_DIR}/${RUN_PREFIX}-host2.sock`;
const DEAD = `${TEST_DIR}/${RUN_PREFIX}-host3.sock`;
const DB = join(tmp, 'zun.sqlite');
const o = 10 + (process.pid % 240);
const CIDR = `10.208.${o}.0/24`;
const NET = `${RUN_PREFIX}-mhnet`;
const FOO = `${RUN_PREFIX}-mh`;

let startedHosts = false;
let zunApps: ZunApp[] = [];
const urls: string[] = [];
const made = { containers: [] as string[], net: '', subnet: '', pool: '', project: '' };

/** A unix socket that relays to host2's Docker API; stop() makes host2 unreachable for zun-api (the lab is untouched). */
class Relay {
  #server: Server | undefined;
  readonly #conns = new Set<Socket>();

  async start(): Promise<void> {
    if (this.#server) return;
    rmSync(RELAY, { force: true });
    const server = createServer((client) => {
      const upstream = connect(LAB_SOCK('host2'));
      for (const s of [client, upstream]) {
        this.#conns.add(s);
        s.on('close', () => this.#conns.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(RELAY, resolve));
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#conns) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(RELAY, { force: true });
  }
}
const relay = new Relay();

function cli(args: string[], url = urls[0]!): Promise<{ code: number; out: string; err: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, ZUN_URL: url, OS_PROJECT_ID: made.project };
  return new Promise((resolve) => {
    execFile('node', [join(REPO, 'packages/zun/bin/zun.js'), ...args], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}
const zun = (...args: string[]) => cli(args);

/** A value of zun's Property/Value table. */
function prop(table: string, key: string): string {
  const line = table.split('\n').find((l) => new RegExp(`^\\| ${key} +\\|`).test(l));
  return line ? line.split('|')[2]!.trim() : '';
}

async function api<T = Record<string, unknown>>(path: string, init: { method?: string; roles?: string } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${urls[0]}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'X-Project-Id': made.project, 'X-Roles': init.roles ?? 'admin', 'OpenStack-API-Version': 'container 1.40', 'Content-Type': 'application/json' },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

async function waitRunning(uuid: string): Promise<Record<string, unknown>> {
  return waitFor(`container ${uuid} running`, async () => {
    const { body } = await api(`/v1/containers/${uuid}`);
    if (body.status === 'Creating') return undefined;
    assert.equal(body.status, 'Running', `status_reason: ${String(body.status_reason)}`);
    return body;
  }, 90_000);
}

const ipOf = (c: Record<string, unknown>): string => Object.values(c.addresses as Record<string, Array<{ addr: string }>>)[0]![0]!.addr;

async function run(args: string[], url?: string): Promise<string> {
  const r = await cli(['run', '--net', FOO, ...args, 'kuryr/busybox', 'sleep', '600'], url);
  assert.equal(r.code, 0, r.err);
  const uuid = prop(r.out, 'uuid');
  made.containers.push(uuid);
  return uuid;
}

async function dockerNetworkOn(h: Host): Promise<boolean> {
  return (await dk(h, 'network', 'ls', '-q', '--filter', `name=${made.net}`)) !== '';
}

before(async () => {
  if (skip) return;
  startedHosts = !existsSync('/run/kuryr-lab/hosts.started');
  await hostsSh('up', '2'); // idempotent: leaves running hosts alone
  mkdirSync(TEST_DIR, { recursive: true });
  rmSync(DEAD, { force: true });
  await relay.start();

  // the user's Neutron resources (a pool and a subnet from it, as in the user workflow)
  const net = await neutron.create('networks', { name: NET });
  made.net = net.id;
  made.project = net.project_id ?? '';
  assert.ok(made.project, 'the network\'s project');
  const pool = await neutron.create('subnetpools', { name: `${NET}-pool`, prefixes: [CIDR] });
  made.pool = pool.id;
  const subnet = await neutron.create('subnets', { name: `${NET}-subnet`, network_id: net.id, ip_version: 4, cidr: CIDR, subnetpool_id: pool.id });
  made.subnet = subnet.id;

  const kuryrNeutron = parseIni(readFileSync('/etc/kuryr-lab/kuryr.conf', 'utf8'), 'kuryr.conf').get('neutron');
  const neutronConf = [...(kuryrNeutron?.entries() ?? [])].filter(([k]) => !['enable_dhcp', 'vif_plugging_is_fatal'].includes(k)).map(([k, v]) => `${k} = ${v.value}`).join('\n');
  const conf = [
    '[DEFAULT]',
    'auth_strategy = noauth',
    `noauth_project_id = ${made.project}`,
    // the CLI names no roles: its caller is an admin of this project, which is the admin project here
    'noauth_roles = admin',
    `admin_project_name = ${made.project}`,
    '[compute_hosts]',
    `host1 = unix://${LAB_SOCK('host1')}`,
    `host2 = unix://${RELAY}`,
    `host3 = unix://${DEAD}`,
    '[docker]',
    'stop_timeout = 1',
    'ping_interval = 2',
    'ping_timeout = 2',
    '[database]',
    `connection = sqlite://${DB}`,
    '[neutron]',
    neutronConf,
  ].join('\n');
  // two zun-api processes' worth of services on one database (each its own locks): the second races the first
  for (let i = 0; i < 2; i++) {
    const zunApp = await buildZunApp(buildZunConfig(parseIni(conf, 'test zun.conf'), {}), pino({ level: process.env.KURYR_TEST_ZUN_LOG ?? 'warn', base: { app: i } }));
    await zunApp.app.listen({ host: '127.0.0.1', port: 0 });
    zunApps.push(zunApp);
    urls.push(`http://127.0.0.1:${(zunApp.app.server.address() as AddressInfo).port}`);
  }
});

after(async () => {
  if (skip) return;
  await relay.start().catch(() => undefined); // host2 reachable again for the cleanup
  for (const z of zunApps) await z.containers.idle(); // creates still building (a failed assertion) finish first
  for (const c of [...made.containers].reverse()) await zun('delete', '--force', c).catch(() => undefined);
  for (const h of ['host1', 'host2'] as const) {
    for (const c of made.containers) {
      for (const id of (await dk(h, 'ps', '-aq', '--filter', `label=zun.container.uuid=${c}`).catch(() => '')).split('\n').filter(Boolean)) await dk(h, 'rm', '-f', id).catch(() => undefined);
    }
    if (made.net) await dk(h, 'network', 'rm', made.net).catch(() => undefined);
  }
  for (const z of zunApps) await z.close().catch(() => undefined);
  zunApps = [];
  await relay.stop();
  for (const c of made.containers) for (const p of await neutron.list('ports', { device_id: c }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
  if (made.net) {
    for (const p of await neutron.list('ports', { network_id: made.net }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
    if (made.subnet) await neutron.delete('subnets', made.subnet).catch(() => undefined);
    await neutron.delete('networks', made.net).catch(() => undefined);
  }
  if (made.pool) await neutron.delete('subnetpools', made.pool).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
  if (startedHosts) await hostsSh('down');
});

describe('zun-api across Docker hosts', { skip: skip ?? false, timeout: 240_000 }, () => {
  it('places containers on host1/host2, makes each host\'s Docker network once, they talk across hosts; host2 down and back; nothing left', async (t) => {
    const t0 = Date.now();
    const mark = (what: string): void => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

    // the hosts: host1 and host2 up, host3 (nobody serves its socket) down
    const hosts = await zun('host-list', '--refresh');
    assert.equal(hosts.code, 0, hosts.err);
    assert.match(hosts.out, /\| host1 +\| up +\| False +\| 0 /);
    assert.match(hosts.out, /\| host2 +\| up +\| False +\| 0 /);
    assert.match(hosts.out, /\| host3 +\| down +\| False +\| 0 +\| Docker is unavailable/);
    assert.equal((await api('/v1/hosts', { roles: 'member' })).status, 403, 'hosts are admin-only');

    // network-create records the network; no Docker network on any host yet (made per host, lazily)
    const created = await zun('network-create', '--neutron-net', NET, '--neutron-pool', `${NET}-pool`, '--neutron-subnet', `${NET}-subnet`, FOO);
    assert.equal(created.code, 0, created.err);
    assert.equal(prop(created.out, 'neutron_net_id'), made.net);
    assert.equal(prop(created.out, 'hosts'), '[]');
    for (const h of ['host1', 'host2'] as const) assert.equal(await dockerNetworkOn(h), false, `no Docker network on ${h} yet`);
    mark('network recorded');

    // A: an admin's request for host1. B and C: host2, created at once through two zun-api processes (separate locks)
    const a = await run(['--host', 'host1', '--name', `${RUN_PREFIX}-a`]);
    const [b, c] = await Promise.all([run(['--host', 'host2', '--name', `${RUN_PREFIX}-b`], urls[0]), run(['--host', 'host2', '--name', `${RUN_PREFIX}-c`], urls[1])]);
    const [ca, cb, cc] = (await Promise.all([a, b, c].map(waitRunning))) as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    // D: least loaded among the healthy hosts (host1: 1, host2: 2, host3 down)
    const d = await run(['--name', `${RUN_PREFIX}-d`]);
    const cd = await waitRunning(d);
    assert.deepEqual([ca, cb, cc, cd].map((x) => x!.host), ['host1', 'host2', 'host2', 'host1']);
    mark('4 containers running');

    // each host has exactly one Docker network for the Neutron network (kuryr driver), one row each
    for (const h of ['host1', 'host2'] as const) {
      const nets = JSON.parse(await dk(h, 'network', 'inspect', made.net)) as Array<{ Driver: string; Options: Record<string, string> }>;
      assert.equal(nets.length, 1);
      assert.equal(nets[0]!.Driver, 'kuryr');
      assert.equal(nets[0]!.Options['neutron.net.uuid'], made.net);
      assert.equal(nets[0]!.Options['neutron.pool.uuid'], made.pool);
      assert.equal((await dk(h, 'network', 'ls', '-q', '--filter', `name=${made.net}`)).split('\n').length, 1, `${h}: one Docker network`);
    }
    const shown = await api<{ hosts: Array<{ host: string; network_id: string }> }>(`/v1/networks/${FOO}`);
    assert.deepEqual(shown.body.hosts.map((x) => x.host).sort(), ['host1', 'host2']);
    const store = await openStore(`sqlite://${DB}`);
    try {
      assert.deepEqual((await store.networks.list({ neutronNetId: made.net })).map((r) => r.host).sort(), ['', 'host1', 'host2'], 'definition + one row per host');
    } finally {
      await store.close();
    }

    // ports: the service's, ACTIVE, bound to the chassis of the container's host
    for (const [uuid, host] of [[a, 'host1'], [b, 'host2'], [c, 'host2'], [d, 'host1']] as const) {
      const [port] = await waitFor(`port of ${uuid} ACTIVE`, async () => {
        const ps = await neutron.list('ports', { device_id: uuid });
        return ps.length === 1 && ps[0]!.status === 'ACTIVE' ? ps : undefined;
      });
      assert.equal(port!['binding:host_id'], host, `${uuid}'s port bound to ${host}`);
      assert.equal(port!.device_owner, 'compute:kuryr');
    }
    mark('ports ACTIVE on their chassis');

    // across hosts, both ways (the first packet may wait for the tunnel's neighbour entry: 3 pings)
    for (const [from, to] of [[a, cb], [b, ca], [d, cc]] as const) {
      const ping = await zun('exec', from, 'ping', '-c', '3', '-W', '2', ipOf(to));
      assert.equal(ping.code, 0, `ping ${ipOf(to)} from ${from}: ${ping.out}${ping.err}`);
    }
    mark('pinged across hosts');

    // host2 becomes unreachable for zun-api (its containers keep running: only the relay stops)
    await relay.stop();
    const down = await zun('host-list', '--refresh');
    assert.match(down.out, /\| host2 +\| down +\| False +\| 2 +\| Docker is unavailable/);
    assert.match(down.out, /\| host1 +\| up +\| False +\| 2 /);
    const portsBefore = (await neutron.list('ports', { network_id: made.net })).length;
    const refused = await zun('run', '--host', 'host2', '--net', FOO, 'kuryr/busybox', 'sleep', '600');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /^ERROR: Compute host host2 is down \(Docker is unavailable: .*\): cannot place a container there; retry when it is up \(zun host-list\) \(HTTP 409\)/);
    assert.match((await zun('run', '--host', 'host3', '--net', FOO, 'kuryr/busybox')).err, /Compute host host3 is down.*HTTP 409/);
    assert.match((await zun('run', '--host', 'nowhere', '--net', FOO, 'kuryr/busybox')).err, /Compute host nowhere could not be found.*HTTP 404/);
    assert.equal(((await api<{ containers: unknown[] }>('/v1/containers')).body.containers).length, 4, 'nothing made');
    assert.equal((await neutron.list('ports', { network_id: made.net })).length, portsBefore, 'no port made');
    // least-loaded now avoids host2 (and host3): host1
    const e = await run(['--name', `${RUN_PREFIX}-e`]);
    const ce = await waitRunning(e);
    assert.equal(ce.host, 'host1');
    // host1 keeps working, and host2's containers still answer on the data plane
    const ping = await zun('exec', e, 'ping', '-c', '3', '-W', '2', ipOf(cb));
    assert.equal(ping.code, 0, `ping host2's ${ipOf(cb)} while zun-api cannot reach host2: ${ping.out}`);
    const execB = await zun('exec', b, 'true');
    assert.equal(execB.code, 1);
    assert.match(execB.err, /Compute host host2 is down.*cannot execute in container.*HTTP 409/);
    assert.match((await zun('delete', b)).err, /Compute host host2 is down.*HTTP 409/);
    assert.equal((await api(`/v1/containers/${b}`)).body.status, 'Running', 'left as it is');
    for (const x of [a, d, e]) assert.equal((await zun('delete', x)).code, 0, `delete ${x} on host1`);
    assert.match((await zun('network-delete', FOO)).err, /still has 2 container\(s\) attached \(on host2\)/);
    mark('host2 down: placement avoided it, host1 worked');

    // host2 back: its containers are managed again (no periodic check needed: the gate pings a host it knows down)
    await relay.start();
    for (const x of [b, c]) assert.equal((await zun('delete', x)).code, 0, `delete ${x} on host2`);
    assert.match((await zun('host-list')).out, /\| host2 +\| up +\| False +\| 0 /);

    // network-delete while host2 (which has the Docker network) is down: refused, nothing removed anywhere
    await relay.stop();
    const refusedDelete = await zun('network-delete', FOO);
    assert.equal(refusedDelete.code, 1);
    assert.match(refusedDelete.err, /Compute host host2 is down .*cannot remove the Docker network of network .* from it; nothing was deleted/);
    for (const h of ['host1', 'host2'] as const) assert.equal(await dockerNetworkOn(h), true, `${h} keeps its Docker network`);
    await relay.start();
    const deleted = await zun('network-delete', FOO);
    assert.equal(deleted.code, 0, deleted.err);
    for (const h of ['host1', 'host2'] as const) assert.equal(await dockerNetworkOn(h), false, `${h}'s Docker network removed`);
    assert.equal((await zun('network-delete', FOO)).code, 1, 'gone (404)');
    mark('network deleted on both hosts');

    // nothing left: Docker containers on both hosts, Neutron ports, database rows
    for (const h of ['host1', 'host2'] as const) {
      for (const uuid of made.containers) assert.equal(await dk(h, 'ps', '-aq', '--filter', `label=zun.container.uuid=${uuid}`), '', `${h}: no container of ${uuid}`);
    }
    assert.deepEqual((await neutron.list('ports', { network_id: made.net })).filter((p) => p.device_owner === 'compute:kuryr'), []);
    const after = await openStore(`sqlite://${DB}`);
    try {
      assert.deepEqual(await after.networks.list({}), []);
      assert.deepEqual(await after.containers.list({}), []);
    } finally {
      await after.close();
    }
    made.containers = [];
    mark('clean');
  });
});
