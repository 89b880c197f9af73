/**
 * Issue 5's user workflow, verbatim, against the real lab: the `neutron` CLI
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
import { parseIni } from '../../src/config/ini.js';
import { buildZunConfig } from '../../src/zun/main/zun-config.js';
import { buildZunApp, type ZunApp } from '../../src/zun/main/zun-api.js';
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

let zunApp: ZunApp;
let zunUrl: string;
const made = { containers: [] as string[], neutronNet: '' };

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
const zun = (...args: string[]) => cli('node', [join(REPO, 'bin/zun.js'), ...args]);
const zunAs = (cloud: string, ...args: string[]) => cli('node', [join(REPO, 'bin/zun.js'), ...args], callerEnv(cloud));
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

async function waitRunning(name: string): Promise<string> {
  return waitFor(`container ${name} to leave Creating`, async () => {
    const r = await zun('show', name);
    const status = prop(r.out, 'status');
    if (status === 'Creating' || status === '') return undefined;
    assert.equal(status, 'Running', `status_reason: ${prop(r.out, 'status_reason')}`);
    return r.out;
  }, 90_000);
}

before(async () => {
  const kuryrNeutron = parseIni(readFileSync('/etc/kuryr-lab/kuryr.conf', 'utf8'), 'kuryr.conf').get('neutron');
  const neutronConf = [...(kuryrNeutron?.entries() ?? [])].filter(([k]) => !['enable_dhcp', 'vif_plugging_is_fatal'].includes(k)).map(([k, v]) => `${k} = ${v.value}`).join('\n');
  const conf = `[DEFAULT]\nhost = ${hostId()}\nauth_strategy = ${KEYSTONE ? 'keystone' : 'noauth'}\n[docker]\nstop_timeout = 1\n[database]\nconnection = sqlite://${join(tmp, 'zun.sqlite')}\n[neutron]\n${neutronConf}\n`;
  zunApp = await buildZunApp(buildZunConfig(parseIni(conf, 'test zun.conf'), {}), pino({ level: 'warn' }));
  await zunApp.app.listen({ host: '127.0.0.1', port: 0 });
  zunUrl = `http://127.0.0.1:${(zunApp.app.server.address() as AddressInfo).port}`;
});

after(async () => {
  // whatever a failed assertion left: our containers, the Docker network, the Neutron resources
  for (const c of made.containers) await zun('delete', '--force', c).catch(() => undefined);
  const leftovers = await docker('ps', '-aq', '--filter', `name=zun-`).catch(() => '');
  for (const id of leftovers.split('\n').filter(Boolean)) {
    const labels = await docker('inspect', '-f', '{{index .Config.Labels "zun.container.uuid"}}', id).catch(() => '');
    if (labels && made.containers.includes(labels)) await docker('rm', '-f', id).catch(() => undefined);
  }
  if (made.neutronNet) await docker('network', 'rm', made.neutronNet).catch(() => undefined);
  await zunApp?.close();
  for (const c of made.containers) for (const p of await neutron.list('ports', { device_id: c }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
  await cli('neutron', ['subnet-delete', SUBNET]);
  await cli('neutron', ['subnetpool-delete', POOL]);
  await cli('neutron', ['net-delete', NET]);
  rmSync(tmp, { recursive: true, force: true });
});

describe('zun workflow on the real lab (issue 5)', () => {
  it('neutron net/pool/subnet → zun network-create → run ×2 → ping → delete → network-delete', async (t) => {
    const t0 = Date.now();
    const mark = (what: string): void => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
    // the user's Neutron resources, exactly as the issue types them (names prefixed: the lab is shared)
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
    const names = [`${RUN_PREFIX}-a`, `${RUN_PREFIX}-b`];
    for (const name of names) {
      const r = await zun('run', `--net=${FOO}`, '--name', name, 'kuryr/busybox', 'sleep', '600');
      assert.equal(r.code, 0, r.err);
      made.containers.push(prop(r.out, 'uuid'));
    }
    mark('containers requested');
    const shows = [];
    for (const name of names) shows.push(await waitRunning(name));
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
    if (KEYSTONE) {
      // project isolation on real tokens: the admin project does not see demo's container; no token → 401
      assert.equal((await zunAs('lab-admin', 'show', names[0]!)).code, 1);
      const noToken = await fetch(`${zunUrl}/v1/containers`);
      assert.equal(noToken.status, 401);
      const bogus = await fetch(`${zunUrl}/v1/containers`, { headers: { 'X-Auth-Token': 'gAAAAAbogus' } });
      assert.equal(bogus.status, 401);
    }

    assert.equal((await zun('network-delete', FOO)).code, 1, 'refused while containers are attached');
    for (const name of names) {
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
