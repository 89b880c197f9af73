/**
 * The user workflow of docs/zun.md, verbatim, against the real lab: the `neutron` CLI
 * (python3-neutronclient) makes the Neutron network, subnet pool and subnet as
 * the lab's demo user; the `zun` CLI drives a zun-api running the code under
 * test in this process (Keystone token validation against the lab's Keystone,
 * Neutron, Docker and the kuryr daemon, SQLite in a temp dir). Two containers
 * on `foo` ping each other; the app container sees the sandbox's interface
 * (the pre-created Neutron port's IP and MAC); delete leaves no port,
 * container or Docker network behind. Names carry RUN_PREFIX (shared lab).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { buildZunConfig } from '@kuryr-ts/zun/main/zun-config';
import { buildZunApp, type ZunApp } from '@kuryr-ts/zun/main/zun-api';
import { REPO, RUN_PREFIX, docker, hostId, neutron, waitFor } from './support.js';

const KEYSTONE = (() => {
  try {
    return readFileSync('/run/kuryr-lab/auth', 'utf8').trim() === 'keystone';
  } catch {
    return false;
  }
})();
const CLOUDS = '/etc/kuryr-lab/clouds.yaml';
const tmp = mkdtempSync(join(tmpdir(), 'zun-it-'));
const NET = `${RUN_PREFIX}-testnet`;
const POOL = `${RUN_PREFIX}-testpool`;
const SUBNET = `${RUN_PREFIX}-testsubnet`;
const FOO = `${RUN_PREFIX}-foo`;
const PORT = `${RUN_PREFIX}-userport`;
const NET2 = `${RUN_PREFIX}-testnet2`;

let zunApp: ZunApp;
let zunUrl: string;
const made = { containers: [] as string[], neutronNet: '', userPort: '', net2: '' };

/** The caller's environment: the lab's demo user (Keystone), or noauth. */
function callerEnv(cloud = 'lab-demo'): NodeJS.ProcessEnv {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, ZUN_URL: zunUrl };
  return KEYSTONE ? { ...base, OS_CLOUD: cloud, OS_CLIENT_CONFIG_FILE: CLOUDS } : { ...base, OS_AUTH_TYPE: 'none', OS_ENDPOINT: 'http://127.0.0.1:9696' };
}

function cli(cmd: string, args: string[], env = callerEnv()): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}
const zun = (...args: string[]) => cli('node', [join(REPO, 'packages/zun/bin/zun.js'), ...args]);
const zunAs = (cloud: string, ...args: string[]) => cli('node', [join(REPO, 'packages/zun/bin/zun.js'), ...args], callerEnv(cloud));
async function neutronCli(...args: string[]): Promise<string> {
  const r = await cli('neutron', args);
  assert.equal(r.code, 0, `neutron ${args.join(' ')}: ${r.err}`);
  return r.out;
}

/** A value of zun's Property/Value table. */
function prop(table: string, key: string): string {
  const line = table.split('\n').find((l) => new RegExp(`^\\| ${key} +\\|`).test(l));
  return line ? line.split('|')[2]!.trim() : '';
}

/** The demo user's token, fetched once (polling through the CLI would ask Keystone for a token per poll). */
const demoAuth = KEYSTONE ? neutronAuthFrom({ cloud: 'lab-demo' }, { env: { OS_CLIENT_CONFIG_FILE: CLOUDS } }).auth : undefined;

async function waitRunning(name: string): Promise<string> {
  await waitFor(`container ${name} to leave Creating`, async () => {
    const res = await fetch(`${zunUrl}/v1/containers/${name}`, { headers: { ...(await demoAuth?.headers()) } });
    const c = (await res.json()) as { status?: string; status_reason?: string };
    if (c.status === 'Creating') return undefined;
    assert.equal(c.status, 'Running', `status_reason: ${c.status_reason}`);
    return true;
  }, 90_000);
  return (await zun('show', name)).out;
}

before(async () => {
  const kuryrNeutron = parseIni(readFileSync('/etc/kuryr-lab/kuryr.conf', 'utf8'), 'kuryr.conf').get('neutron');
  const neutronConf = [...(kuryrNeutron?.entries() ?? [])].filter(([k]) => !['enable_dhcp', 'vif_plugging_is_fatal'].includes(k)).map(([k, v]) => `${k} = ${v.value}`).join('\n');
  const conf = `[DEFAULT]\nhost = ${hostId()}\nauth_strategy = ${KEYSTONE ? 'keystone' : 'noauth\nnoauth_project_id = admin\nnoauth_roles = admin'}\n[docker]\nstop_timeout = 1\n[database]\nconnection = sqlite://${join(tmp, 'zun.sqlite')}\n[neutron]\n${neutronConf}\n`;
  zunApp = await buildZunApp(buildZunConfig(parseIni(conf, 'test zun.conf'), {}), pino({ level: 'warn' }));
  await zunApp.app.listen({ host: '127.0.0.1', port: 0 });
  zunUrl = `http://127.0.0.1:${(zunApp.app.server.address() as AddressInfo).port}`;
});

after(async () => {
  // whatever a failed assertion left: our containers, the Docker network, the Neutron resources
  for (const c of made.containers) await zun('delete', c).catch(() => undefined);
  const leftovers = await docker('ps', '-aq', '--filter', `name=zun-`).catch(() => '');
  for (const id of leftovers.split('\n').filter(Boolean)) {
    const labels = await docker('inspect', '-f', '{{index .Config.Labels "zun.container.uuid"}}', id).catch(() => '');
    if (labels && made.containers.includes(labels)) await docker('rm', '-f', id).catch(() => undefined);
  }
  for (const n of [made.neutronNet, made.net2]) if (n) await docker('network', 'rm', n).catch(() => undefined);
  await zunApp?.close();
  for (const c of made.containers) {
    for (const p of await neutron.list('ports', { device_id: c }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
    for (const sg of await neutron.list('security-groups', { name: `zun-${c}` }).catch(() => [])) await neutron.delete('security-groups', sg.id).catch(() => undefined);
  }
  // Neutron cleanup through the API (the CLI costs seconds per call)
  if (made.userPort) await neutron.delete('ports', made.userPort).catch(() => undefined);
  for (const n of [...(await neutron.list('networks', { name: NET }).catch(() => [])), ...(await neutron.list('networks', { name: NET2 }).catch(() => []))]) {
    for (const p of await neutron.list('ports', { network_id: n.id }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
    for (const sn of await neutron.list('subnets', { network_id: n.id }).catch(() => [])) await neutron.delete('subnets', sn.id).catch(() => undefined);
    await neutron.delete('networks', n.id).catch(() => undefined);
  }
  for (const pool of await neutron.list('subnetpools', { name: POOL }).catch(() => [])) await neutron.delete('subnetpools', pool.id).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('zun workflow on the real lab', () => {
  it('neutron net/pool/subnet → zun network-create → run ×2 → ping → delete → network-delete', async (t) => {
    const t0 = Date.now();
    const mark = (what: string): void => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
    // the user's Neutron resources, exactly as docs/zun.md types them (names prefixed: the lab is shared)
    await neutronCli('net-create', NET);
    await neutronCli('subnetpool-create', '--pool-prefix', '10.2.0.0/16', POOL);
    await neutronCli('subnet-create', '--subnetpool', POOL, '--name', SUBNET, NET, '10.2.0.0/24');

    mark('neutron resources made');
    const created = await zun('network-create', '--neutron-net', NET, '--neutron-pool', POOL, '--neutron-subnet', SUBNET, FOO);
    assert.equal(created.code, 0, created.err);
    const netId = prop(created.out, 'neutron_net_id');
    made.neutronNet = netId;
    const dnet = JSON.parse(await docker('network', 'inspect', netId))[0] as { Driver: string; IPAM: { Driver: string; Config: Array<{ Subnet: string; Gateway: string }>; Options: Record<string, string> }; Options: Record<string, string> };
    assert.equal(dnet.Driver, 'kuryr');
    assert.equal(dnet.IPAM.Driver, 'kuryr');
    assert.deepEqual(dnet.IPAM.Config, [{ Subnet: '10.2.0.0/24', Gateway: '10.2.0.1' }]);
    assert.equal(dnet.Options['neutron.net.uuid'], netId);
    assert.equal(dnet.Options['neutron.pool.uuid'], prop(created.out, 'neutron_pool_id'));
    assert.equal(dnet.IPAM.Options['neutron.pool.uuid'], prop(created.out, 'neutron_pool_id'));

    mark('network created');
    const names = [`${RUN_PREFIX}-a`, `${RUN_PREFIX}-b`, `${RUN_PREFIX}-c`, `${RUN_PREFIX}-d`];
    for (const name of names.slice(0, 2)) {
      const r = await zun('run', `--net=${FOO}`, '--name', name, 'kuryr/busybox', 'sleep', '600');
      assert.equal(r.code, 0, r.err);
      made.containers.push(prop(r.out, 'uuid'));
    }
    mark('containers requested');
    const shows = [];
    for (const name of names.slice(0, 2)) shows.push(await waitRunning(name));
    const ips = shows.map((s) => /10\.2\.0\.\d+/.exec(prop(s, 'addresses'))![0]);

    mark('containers running');
    const nl = await zun('network-list');
    assert.equal(nl.code, 0);
    assert.match(nl.out, new RegExp(`\\| ${FOO} +\\| ${netId}`));
    assert.match((await zun('network-show', FOO)).out, new RegExp(`\\| neutron_subnet_id +\\| [0-9a-f-]{36}`));

    // the service's pre-created port is the one kuryr bound: this host, compute:kuryr, the container's uuid, ACTIVE
    const ports = await waitFor('port ACTIVE', async () => {
      const p = await neutron.list('ports', { device_id: made.containers[0]! });
      return p.length === 1 && p[0]!.status === 'ACTIVE' ? p : undefined;
    });
    assert.equal(ports[0]!.device_owner, 'compute:kuryr');
    assert.equal(ports[0]!['binding:host_id'], hostId());
    assert.equal(ports[0]!.fixed_ips[0]!.ip_address, ips[0]);

    mark('port ACTIVE');
    // the app container lives in the sandbox's namespace: it sees the port's IP and MAC, and pings its peer
    const addr = await zun('exec', names[0]!, 'ip', '-o', 'addr');
    assert.equal(addr.code, 0, addr.err);
    assert.match(addr.out, new RegExp(`inet ${ips[0]!.replace(/\./g, '\\.')}/24`));
    const mac = await zun('exec', names[0]!, 'cat', '/sys/class/net/eth0/address');
    assert.equal(mac.out.trim(), ports[0]!.mac_address);
    const ping = await zun('exec', names[0]!, 'ping', '-c', '3', '-W', '2', ips[1]!);
    assert.equal(ping.code, 0, `ping ${ips[1]}: ${ping.out}${ping.err}`);
    assert.match(ping.out, /3 packets received/);

    mark('pinged');
    // network_attach / network_detach at runtime: a second network of the same project, connected with a fixed IP
    const net2 = await neutron.create('networks', { name: NET2, project_id: ports[0]!.project_id });
    made.net2 = net2.id;
    await neutron.create('subnets', { network_id: net2.id, project_id: ports[0]!.project_id, ip_version: 4, cidr: '10.3.0.0/24', name: `${NET2}-subnet` });
    const attach = await zun('network-attach', '--network', NET2, '--fixed-ip', '10.3.0.9', names[0]!);
    assert.equal(attach.code, 0, attach.err);
    assert.match((await zun('network-list', names[0]!)).out, /10\.3\.0\.9/);
    assert.match((await zun('exec', names[0]!, 'ip', '-o', '-4', 'addr')).out, /inet 10\.3\.0\.9\/24/);
    const detach = await zun('network-detach', '--network', NET2, names[0]!);
    assert.equal(detach.code, 0, detach.err);
    assert.doesNotMatch((await zun('exec', names[0]!, 'ip', '-o', '-4', 'addr')).out, /10\.3\.0\.9/);
    assert.equal((await zun('network-delete', net2.id)).code, 0, 'the lazily made network of net2');
    mark('network attached and detached');

    // a user's pre-created port: adopted as is, and after delete only unbound (never deleted)
    const userPort = /\| id +\| ([0-9a-f-]{36})/.exec(await neutronCli('port-create', '--name', PORT, NET))![1]!;
    made.userPort = userPort;
    const withPort = await zun('run', '--net', `port=${PORT}`, '--name', names[2]!, 'kuryr/busybox', 'sleep', '600');
    assert.equal(withPort.code, 0, withPort.err);
    made.containers.push(prop(withPort.out, 'uuid'));
    const cShow = await waitRunning(names[2]!);
    assert.match(prop(cShow, 'addresses'), new RegExp(`"port":"${userPort}".*"preserve_on_delete":true`));
    const userIp = /10\.2\.0\.\d+/.exec(prop(cShow, 'addresses'))![0];
    const ping2 = await zun('exec', names[0]!, 'ping', '-c', '2', '-W', '2', userIp);
    assert.equal(ping2.code, 0, `ping ${userIp} (user port): ${ping2.out}${ping2.err}`);
    assert.equal((await zun('delete', names[2]!)).code, 0);
    const unbound = (await neutron.list('ports', { id: userPort }))[0];
    assert.ok(unbound, 'the user port survives the delete');
    assert.equal(unbound.device_id, '');
    assert.equal(unbound.device_owner, '');
    assert.equal(unbound['binding:host_id'] ?? '', '');
    mark('user port used and unbound');

    // exposed ports: a security group zun-<uuid> made in the user's project with IPv4 and IPv6 rules, removed with the container
    const exposed = await zun('run', `--net=${FOO}`, '-p', '8080', '-p', '53/udp', '--name', names[3]!, 'kuryr/busybox', 'sleep', '600');
    assert.equal(exposed.code, 0, exposed.err);
    const dUuid = prop(exposed.out, 'uuid');
    made.containers.push(dUuid);
    await waitRunning(names[3]!);
    const [sg] = await neutron.list('security-groups', { name: `zun-${dUuid}` });
    assert.ok(sg, 'exposed-ports security group');
    const dPorts = await neutron.list('ports', { device_id: dUuid });
    assert.deepEqual(dPorts[0]!.security_groups, [sg!.id]);
    assert.equal((await zun('delete', names[3]!)).code, 0);
    assert.deepEqual(await neutron.list('security-groups', { name: `zun-${dUuid}` }), [], 'group deleted with the container');
    mark('exposed ports');

    if (KEYSTONE) {
      // project isolation on real tokens: the admin project does not see demo's container; no token → 401
      assert.equal((await zunAs('lab-admin', 'show', names[0]!)).code, 1);
      const noToken = await fetch(`${zunUrl}/v1/containers`);
      assert.equal(noToken.status, 401);
      const bogus = await fetch(`${zunUrl}/v1/containers`, { headers: { 'X-Auth-Token': 'gAAAAAbogus' } });
      assert.equal(bogus.status, 401);
    }

    assert.equal((await zun('network-delete', FOO)).code, 1, 'refused while containers are attached');
    for (const name of names.slice(0, 2)) {
      const d = await zun('delete', name);
      assert.equal(d.code, 0, d.err);
    }
    mark('containers deleted');
    for (const uuid of made.containers) assert.deepEqual(await neutron.list('ports', { device_id: uuid }), [], 'port deleted');
    assert.equal((await docker('ps', '-aq', '--filter', 'label=zun.container.uuid=' + made.containers[0])), '');
    const del = await zun('network-delete', FOO);
    assert.equal(del.code, 0, del.err);
    assert.equal(await docker('network', 'ls', '-q', '--filter', `name=${netId}`), '');
    made.neutronNet = '';
  });
});
