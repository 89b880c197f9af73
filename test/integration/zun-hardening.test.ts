/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * zun-api exposed to tenants, against the real lab with Keystone on: a zun-api
 * runs in this process (the code under test; Keystone token validation, the
 * lab's Neutron, Docker and kuryr daemon, SQLite in a temp dir). A second
 * project with its own user is made in Keystone for the test (and removed).
 *
 * - one winner: two concurrent deletes, two concurrent attaches;
 * - crash then recovery: a create killed between steps (the in-process
 *   zun-api's checkpoint seam never resolves), a second zun-api on the same
 *   database recovers, and nothing is left in Neutron or Docker;
 * - the cross-project matrix: another project's caller gets 404 from every
 *   container and network endpoint and does not see them in lists; a project
 *   admin is not a cloud admin; the cloud admin sees all;
 * - a fixed IP on a network shared by another project is refused;
 * - a revoked token stops writing at once and reading within
 *   token_cache_time; the cost of validating every write is measured;
 * - no password, token or secret in any log line or answer.
 * Skipped when the lab runs noauth. Names carry RUN_PREFIX (shared lab).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import type { NeutronAuth } from '@kuryr-ts/openstack/keystone/auth';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { KeystoneAuth } from '@kuryr-ts/openstack/keystone/keystone-auth';
import type { NeutronNetwork } from '@kuryr-ts/openstack/neutron/types';
import type { Checkpoint } from '@kuryr-ts/zun/domain/sandbox-builder';
import { Redactor } from '@kuryr-ts/zun/lib/redact';
import { secretsOf, zunLogger } from '@kuryr-ts/zun/main/logging';
import { buildZunApp, type ZunApp } from '@kuryr-ts/zun/main/zun-api';
import { buildZunConfig, type ZunConfig } from '@kuryr-ts/zun/main/zun-config';
import { IMAGE, RUN_PREFIX, docker, hostId, neutron, waitFor } from './support.js';

const KEYSTONE = (() => {
  try {
    return readFileSync('/run/kuryr-lab/auth', 'utf8').trim() === 'keystone';
  } catch {
    return false;
  }
})();
const CLOUDS = '/etc/kuryr-lab/clouds.yaml';
const tmp = mkdtempSync(join(tmpdir(), 'zun-hard-'));
const VERSION = { 'OpenStack-API-Version': 'container 1.40' };

const cloudAuth = (cloud: string): NeutronAuth | undefined => (KEYSTONE ? neutronAuthFrom({ cloud }, { env: { OS_CLIENT_CONFIG_FILE: CLOUDS } }).auth : undefined);
const adminAuth = cloudAuth('lab-admin');
const demoAuth = cloudAuth('lab-demo');

/** Every line the in-process zun-apis log (through their redacting logger). */
const logLines: string[] = [];
const made = {
  projectB: '',
  userB: '',
  passwordB: randomBytes(12).toString('base64url'),
  demoProject: '',
  networks: [] as string[],
  containers: [] as string[],
};
let zunApp: ZunApp;
let zunUrl = '';
let config: ZunConfig;
let netA: NeutronNetwork;
let netA2: NeutronNetwork;
let shared: NeutronNetwork;
let zunNetA = '';

// --- Keystone, as the lab's admin ---------------------------------------------------------------

function keystoneBase(): string {
  assert.ok(adminAuth instanceof KeystoneAuth);
  return adminAuth.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '') + '/v3';
}

async function ks<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${keystoneBase()}${path}`, {
    method,
    headers: { Accept: 'application/json', ...(await adminAuth!.headers()), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
}

/** A project-scoped token of the test's user B (password auth). */
async function tokenOfB(): Promise<string> {
  const res = await fetch(`${keystoneBase()}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { id: made.userB, password: made.passwordB } } }, scope: { project: { id: made.projectB } } } }),
  });
  assert.equal(res.status, 201, await res.text());
  return res.headers.get('x-subject-token')!;
}

/** Keystone's token revocation (DELETE /v3/auth/tokens), by the token itself. */
async function revoke(token: string): Promise<void> {
  const res = await fetch(`${keystoneBase()}/auth/tokens`, { method: 'DELETE', headers: { 'X-Auth-Token': token, 'X-Subject-Token': token } });
  assert.equal(res.status, 204, await res.text());
}

// --- zun-api ------------------------------------------------------------------------------------

function zunConf(db: string): ZunConfig {
  const kuryrNeutron = parseIni(readFileSync('/etc/kuryr-lab/kuryr.conf', 'utf8'), 'kuryr.conf').get('neutron');
  const neutronConf = [...(kuryrNeutron?.entries() ?? [])].filter(([k]) => !['enable_dhcp', 'vif_plugging_is_fatal'].includes(k)).map(([k, v]) => `${k} = ${v.value}`).join('\n');
  const text = `[DEFAULT]\nhost = ${hostId()}\nauth_strategy = keystone\n[docker]\nstop_timeout = 1\n[database]\nconnection = sqlite://${db}\n[neutron]\n${neutronConf}\n`;
  return buildZunConfig(parseIni(text, 'test zun.conf'), {});
}

async function startZun(db: string, checkpoint?: Checkpoint): Promise<ZunApp> {
  const conf = zunConf(db);
  const log = zunLogger({ level: 'info', redactor: new Redactor(secretsOf(conf)), write: (l) => logLines.push(l) });
  return buildZunApp(conf, log, checkpoint ? { checkpoint } : {});
}

type Who = 'demo' | 'admin' | { token: string };

async function headersOf(who: Who): Promise<Record<string, string>> {
  if (typeof who === 'object') return { 'X-Auth-Token': who.token };
  return (who === 'demo' ? demoAuth : adminAuth)!.headers();
}

async function api(who: Who, method: string, path: string, body?: unknown, base = zunUrl): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...VERSION, ...(await headersOf(who)), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed, text };
}

async function runContainer(name: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await api('demo', 'POST', '/v1/containers?run=true', { name: `${RUN_PREFIX}-${name}`, image: IMAGE, command: ['sleep', '600'], nets: [{ network: zunNetA }], ...body });
  assert.equal(r.status, 202, r.text);
  made.containers.push(r.body.uuid);
  await waitFor(`container ${name} running`, async () => {
    const s = await api('demo', 'GET', `/v1/containers/${r.body.uuid}`);
    if (s.body.status === 'Creating') return undefined;
    assert.equal(s.body.status, 'Running', s.body.status_reason);
    return true;
  }, 90_000);
  return r.body.uuid as string;
}

const noDatabaseText = (text: string): void => assert.doesNotMatch(text, /constraint|UNIQUE|SQLITE|duplicate key|violates/i, text);

before(async () => {
  if (!KEYSTONE) return;
  // Keystone: project B and its user, a member — and an admin of B only (a project admin is not a cloud admin)
  const project = await ks<{ project: { id: string } }>('POST', '/projects', { project: { name: `${RUN_PREFIX}-b`, domain_id: 'default', description: 'zun-hardening integration test' } });
  assert.equal(project.status, 201, JSON.stringify(project.body));
  made.projectB = project.body.project.id;
  const user = await ks<{ user: { id: string } }>('POST', '/users', { user: { name: `${RUN_PREFIX}-ub`, domain_id: 'default', password: made.passwordB, default_project_id: made.projectB } });
  assert.equal(user.status, 201, JSON.stringify(user.body));
  made.userB = user.body.user.id;
  for (const role of ['member', 'admin']) {
    const found = await ks<{ roles: Array<{ id: string }> }>('GET', `/roles?name=${role}`);
    const id = found.body.roles[0]?.id;
    assert.ok(id, `Keystone role ${role}`);
    assert.equal((await ks('PUT', `/projects/${made.projectB}/users/${made.userB}/roles/${id}`)).status, 204);
  }
  const demo = await ks<{ projects: Array<{ id: string }> }>('GET', '/projects?name=demo');
  made.demoProject = demo.body.projects[0]!.id;

  // Neutron (as admin): two networks of demo, one of B shared with everyone
  const mk = async (name: string, project: string, cidr: string, isShared = false): Promise<NeutronNetwork> => {
    const n = await neutron.create('networks', { name: `${RUN_PREFIX}-${name}`, project_id: project, ...(isShared ? { shared: true } : {}) });
    made.networks.push(n.id);
    await neutron.create('subnets', { name: `${RUN_PREFIX}-${name}-subnet`, network_id: n.id, project_id: project, ip_version: 4, cidr });
    return n;
  };
  netA = await mk('a', made.demoProject, '10.167.0.0/24');
  netA2 = await mk('a2', made.demoProject, '10.168.0.0/24');
  shared = await mk('shared', made.projectB, '10.169.0.0/24', true);

  const db = join(tmp, 'zun.sqlite');
  config = zunConf(db);
  zunApp = await startZun(db);
  await zunApp.app.listen({ host: '127.0.0.1', port: 0 });
  zunUrl = `http://127.0.0.1:${(zunApp.app.server.address() as AddressInfo).port}`;
  const zn = await api('demo', 'POST', '/v1/networks', { name: `${RUN_PREFIX}-foo`, neutron_net_id: netA.id });
  assert.equal(zn.status, 200, zn.text);
  zunNetA = zn.body.uuid;
});

after(async () => {
  if (!KEYSTONE) {
    rmSync(tmp, { recursive: true, force: true });
    return;
  }
  // every container is demo's; what a failed assertion left is removed through the API, then by hand
  for (const c of made.containers) await api('demo', 'DELETE', `/v1/containers/${c}?stop=true`).catch(() => undefined);
  for (const c of made.containers) {
    const ids = await docker('ps', '-aq', '--filter', `label=zun.container.uuid=${c}`).catch(() => '');
    for (const id of ids.split('\n').filter(Boolean)) await docker('rm', '-f', id).catch(() => undefined);
    for (const p of await neutron.list('ports', { device_id: c }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
    for (const sg of await neutron.list('security-groups', { name: `zun-${c}` }).catch(() => [])) await neutron.delete('security-groups', sg.id).catch(() => undefined);
  }
  if (zunUrl) await api('demo', 'DELETE', `/v1/networks/${zunNetA}`).catch(() => undefined);
  for (const n of made.networks) await docker('network', 'rm', n).catch(() => undefined);
  await zunApp?.close();
  for (const n of made.networks) {
    for (const p of await neutron.list('ports', { network_id: n }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
    for (const s of await neutron.list('subnets', { network_id: n }).catch(() => [])) await neutron.delete('subnets', s.id).catch(() => undefined);
    await neutron.delete('networks', n).catch(() => undefined);
  }
  if (made.userB) await ks('DELETE', `/users/${made.userB}`).catch(() => undefined);
  if (made.projectB) await ks('DELETE', `/projects/${made.projectB}`).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('zun-api hardening on the real lab (Keystone)', { skip: !KEYSTONE && 'the lab runs noauth (KURYR_LAB_NOAUTH=1)', timeout: 900_000 }, () => {
  it('two concurrent deletes: one 204, the other a coded 409 (or 404); nothing left', async () => {
    const uuid = await runContainer('del');
    const answers = await Promise.all([api('demo', 'DELETE', `/v1/containers/${uuid}?stop=true`), api('demo', 'DELETE', `/v1/containers/${uuid}?stop=true`)]);
    const statuses = answers.map((a) => a.status).sort();
    assert.equal(statuses[0], 204, answers.map((a) => a.text).join(' | '));
    assert.ok([404, 409].includes(statuses[1]!), answers.map((a) => a.text).join(' | '));
    for (const a of answers) noDatabaseText(a.text);
    assert.deepEqual(await neutron.list('ports', { device_id: uuid }), []);
    assert.equal(await docker('ps', '-aq', '--filter', `label=zun.container.uuid=${uuid}`), '');
  });

  it('two concurrent attaches of one network: one 200, one coded 409; one port', async () => {
    const uuid = await runContainer('att');
    const path = `/v1/containers/${uuid}/network_attach?network=${netA2.id}`;
    const answers = await Promise.all([api('demo', 'POST', path), api('demo', 'POST', path)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409], answers.map((a) => a.text).join(' | '));
    const loser = answers.find((a) => a.status === 409)!;
    assert.match(loser.body.errors[0].code, /^ZUN_ERR_(CONTAINER_BUSY|ALREADY_ATTACHED)$/);
    for (const a of answers) noDatabaseText(a.text);
    assert.equal((await neutron.list('ports', { device_id: uuid, network_id: netA2.id })).length, 1);
    const list = await api('demo', 'GET', `/v1/containers/${uuid}/network_list`);
    assert.equal(list.body.networks.length, 2);
    // and two concurrent detaches: one wins
    const detach = `/v1/containers/${uuid}/network_detach?network=${netA2.id}`;
    const d = await Promise.all([api('demo', 'POST', detach), api('demo', 'POST', detach)]);
    assert.equal(d.filter((a) => a.status === 202).length, 1, d.map((a) => a.text).join(' | '));
    assert.equal((await neutron.list('ports', { device_id: uuid, network_id: netA2.id })).length, 0);
    assert.equal((await api('demo', 'DELETE', `/v1/containers/${uuid}?stop=true`)).status, 204);
  });

  it('another project sees nothing of demo\'s: 404 on every endpoint, absent from lists; a project admin is no cloud admin', async () => {
    const uuid = await runContainer('iso');
    const b = { token: await tokenOfB() };
    const c = `/v1/containers/${uuid}`;
    const matrix: Array<[string, string, unknown?]> = [
      ['GET', c],
      ['POST', `${c}/start`],
      ['POST', `${c}/stop`],
      ['GET', `${c}/logs`],
      ['POST', `${c}/execute`, { command: ['true'] }],
      ['POST', `${c}/network_attach?network=${shared.id}`],
      ['POST', `${c}/network_detach?network=${netA.id}`],
      ['GET', `${c}/network_list`],
      ['DELETE', `${c}?stop=true`],
      ['GET', `/v1/networks/${zunNetA}`],
      ['DELETE', `/v1/networks/${zunNetA}`],
    ];
    for (const [method, path, body] of matrix) {
      const r = await api(b, method, path, body);
      assert.equal(r.status, 404, `${method} ${path} as another project: ${r.text}`);
    }
    const list = await api(b, 'GET', '/v1/containers');
    assert.equal(list.status, 200);
    assert.ok(!list.text.includes(uuid), 'not in their list');
    assert.ok(!(await api(b, 'GET', '/v1/networks')).text.includes(zunNetA));
    // admin of project B is not the cloud admin
    assert.equal((await api(b, 'GET', '/v1/containers?all_projects=1')).status, 403);
    assert.equal((await api(b, 'GET', '/v1/hosts')).status, 403);
    assert.equal((await api(b, 'DELETE', `${c}?force=true`)).status, 403);
    // they cannot use demo's private network or demo's port either
    assert.equal((await api(b, 'POST', '/v1/containers', { image: IMAGE, nets: [{ network: netA.id }] })).status, 404);
    const demoPort = (await neutron.list('ports', { device_id: uuid }))[0]!;
    assert.ok([400, 404].includes((await api(b, 'POST', '/v1/containers', { image: IMAGE, nets: [{ port: demoPort.id }] })).status));
    // demo itself: every endpoint works
    assert.equal((await api('demo', 'GET', c)).status, 200);
    assert.equal((await api('demo', 'GET', `${c}/logs`)).status, 200);
    assert.equal((await api('demo', 'POST', `${c}/execute`, { command: ['true'] })).status, 200);
    assert.equal((await api('demo', 'GET', `${c}/network_list`)).status, 200);
    assert.equal((await api('demo', 'GET', '/v1/hosts')).status, 403, 'a member is no admin');
    // the cloud admin (admin role in project admin) sees every project's
    const all = await api('admin', 'GET', '/v1/containers?all_projects=1');
    assert.equal(all.status, 200);
    assert.ok(all.text.includes(uuid));
    assert.equal((await api('admin', 'GET', '/v1/hosts')).status, 200);
    assert.equal((await api('demo', 'POST', `${c}/stop`)).status, 202);
    assert.equal((await api('demo', 'POST', `${c}/start`)).status, 202);
    assert.equal((await api('demo', 'DELETE', `${c}?stop=true`)).status, 204);
  });

  it('a fixed IP on a network another project shares is refused (403); the network itself is usable', async () => {
    const refused = await api('demo', 'POST', '/v1/containers', { image: IMAGE, nets: [{ network: shared.id, 'v4-fixed-ip': '10.169.0.1' }] });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.body.errors[0].code, 'ZUN_ERR_FIXED_IP_NOT_ALLOWED');
    assert.deepEqual((await neutron.list('ports', { network_id: shared.id })).filter((p) => p.device_owner === 'compute:kuryr'), []);
  });

  it('a revoked token: writes refused at once, reads within token_cache_time; what validating every write costs', async (t) => {
    const token = await tokenOfB();
    const who = { token };
    const N = 20;
    let t0 = performance.now();
    for (let i = 0; i < N; i++) assert.equal((await api(who, 'GET', '/v1/containers')).status, 200);
    const read = (performance.now() - t0) / N;
    t0 = performance.now();
    for (let i = 0; i < N; i++) assert.equal((await api(who, 'POST', '/v1/containers/00000000-0000-0000-0000-000000000000/stop')).status, 404);
    const write = (performance.now() - t0) / N;
    t.diagnostic(`per request: a read (validation cached) ${read.toFixed(1)} ms, a write (validated with Keystone) ${write.toFixed(1)} ms: a validation costs ≈ ${(write - read).toFixed(1)} ms`);
    await revoke(token);
    const w = await api(who, 'POST', '/v1/containers/00000000-0000-0000-0000-000000000000/stop');
    assert.equal(w.status, 401, 'a revoked token writes nothing');
    assert.ok(!w.text.includes(token), 'the answer does not repeat the token');
    await waitFor('reads with the revoked token to stop', async () => (await api(who, 'GET', '/v1/containers')).status === 401, (config.tokenCacheS + 2) * 1000);
  });

  for (const step of ['port created', 'sandbox created', 'sandbox started']) {
    it(`a create killed after "${step}": a restarted zun-api leaves nothing in Neutron or Docker`, async () => {
      const db = join(tmp, `crash-${step.replace(/ /g, '-')}.sqlite`);
      let reached!: () => void;
      const crashed = new Promise<void>((r) => (reached = r));
      const hook: Checkpoint = async (s) => {
        if (s !== step) return;
        reached();
        await new Promise<never>(() => undefined); // this zun-api does nothing more
      };
      const dying = await startZun(db, hook);
      await dying.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(dying.app.server.address() as AddressInfo).port}`;
      const r = await api('demo', 'POST', '/v1/containers?run=true', { name: `${RUN_PREFIX}-crash`, image: IMAGE, command: ['sleep', '600'], nets: [{ network: netA.id }], exposed_ports: { '8080/tcp': {} } }, url);
      assert.equal(r.status, 202, r.text);
      const uuid = r.body.uuid as string;
      made.containers.push(uuid);
      await crashed;
      assert.ok((await neutron.list('ports', { device_id: uuid })).length > 0, 'the port exists');
      await dying.app.close(); // its database handle stays open: the process "died" mid-create

      const restarted = await startZun(db); // recovery runs at start
      try {
        await restarted.app.listen({ host: '127.0.0.1', port: 0 });
        const url2 = `http://127.0.0.1:${(restarted.app.server.address() as AddressInfo).port}`;
        const show = await api('demo', 'GET', `/v1/containers/${uuid}`, undefined, url2);
        assert.equal(show.body.status, 'Error', show.text);
        assert.deepEqual(await neutron.list('ports', { device_id: uuid }), [], 'no port');
        assert.deepEqual(await neutron.list('security-groups', { name: `zun-${uuid}` }), [], 'no exposed-ports group');
        assert.equal(await docker('ps', '-aq', '--filter', `label=zun.container.uuid=${uuid}`), '', 'no Docker container');
        assert.equal((await api('demo', 'DELETE', `/v1/containers/${uuid}`, undefined, url2)).status, 204);
      } finally {
        await restarted.close();
      }
    });
  }

  it('no password, token or secret in any log line or answer', async () => {
    const secrets = [
      ...secretsOf(config),
      made.passwordB,
      ...Object.values(await demoAuth!.headers()),
      ...Object.values(await adminAuth!.headers()),
    ].filter((s) => s.length >= 6);
    assert.ok(secrets.length >= 3, 'the lab has secrets to look for');
    const bogus = await fetch(`${zunUrl}/v1/containers`, { headers: { 'X-Auth-Token': `gAAAAA${made.passwordB}` } });
    assert.equal(bogus.status, 401);
    assert.ok(!(await bogus.text()).includes(made.passwordB));
    assert.ok(logLines.length > 0);
    const all = logLines.join('');
    for (const s of secrets) assert.ok(!all.includes(s), `a secret (${s.slice(0, 3)}…) in zun-api's log`);
  });
});
