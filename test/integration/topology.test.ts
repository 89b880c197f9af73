/**
 * The topology page against the real lab: a zun-api running the code under
 * test in this process (Keystone tokens checked by the lab's Keystone, the
 * lab's Neutron, Docker and kuryr daemon, SQLite in a temp dir), opened in
 * headless Chromium (Debian's, driven by playwright-core; lab/install.sh
 * installs it). The demo user signs in with a real token and sees the demo
 * project's network, container and port as Neutron and Docker have them (the
 * port's address and MAC, bound to this host, turning ACTIVE by itself as
 * OVN brings it up); the admin project's network and container, made for the
 * test, are not on the page. Names carry RUN_PREFIX (shared lab).
 * Skipped when the lab runs noauth (no tokens, so no project to scope by).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { buildZunConfig } from '@kuryr-ts/zun/main/zun-config';
import { buildZunApp, type ZunApp } from '@kuryr-ts/zun/main/zun-api';
import { RUN_PREFIX, docker, hostId, neutron, waitFor } from './support.js';

const KEYSTONE = (() => {
  try {
    return readFileSync('/run/kuryr-lab/auth', 'utf8').trim() === 'keystone';
  } catch {
    return false;
  }
})();
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CLOUDS = '/etc/kuryr-lab/clouds.yaml';
const tmp = mkdtempSync(join(tmpdir(), 'zun-topology-it-'));
const DEMO_NET = `${RUN_PREFIX}-topo-demo`;
const ADMIN_NET = `${RUN_PREFIX}-topo-admin`;
const DEMO_C = `${RUN_PREFIX}-topo-web`;
const ADMIN_C = `${RUN_PREFIX}-topo-hidden`;

const skip = !KEYSTONE
  ? 'the lab runs noauth: no Keystone tokens, so no project for the page to scope by'
  : !existsSync(CHROMIUM)
    ? `no Chromium at ${CHROMIUM}: bash lab/install.sh installs it (apt-get install -y --no-install-recommends chromium)`
    : false;

const authOf = (cloud: string) => neutronAuthFrom({ cloud }, { env: { OS_CLIENT_CONFIG_FILE: CLOUDS } }).auth;
const demoAuth = KEYSTONE ? authOf('lab-demo') : undefined;
const adminAuth = KEYSTONE ? authOf('lab-admin') : undefined;

let zunApp: ZunApp | undefined;
let zunUrl = '';
const made = { nets: [] as string[], containers: [] as Array<{ uuid: string; auth: NonNullable<typeof demoAuth> }> };

async function api(auth: NonNullable<typeof demoAuth>, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${zunUrl}${path}`, {
    method,
    headers: { ...(await auth.headers()), 'OpenStack-API-Version': 'container 1.40', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A Neutron network with a subnet in the caller's project, a Zun network over it, a running container on it. */
async function containerOf(auth: NonNullable<typeof demoAuth>, net: string, name: string, cidr: string): Promise<string> {
  const client = new NeutronClient(auth, { timeoutMs: 30_000, attempts: 3, stats: new OpStats() });
  const n = await client.create('networks', { name: net });
  made.nets.push(n.id);
  await client.create('subnets', { network_id: n.id, ip_version: 4, cidr, name: `${net}-subnet` });
  const zn = await api(auth, 'POST', '/v1/networks', { name: net, neutron_net_id: n.id });
  assert.equal(zn.status, 200, JSON.stringify(zn.body));
  const c = await api(auth, 'POST', '/v1/containers?run=true', { name, image: 'kuryr/busybox', command: ['sleep', '600'], nets: [{ network: net }] });
  assert.equal(c.status, 202, JSON.stringify(c.body));
  made.containers.push({ uuid: c.body.uuid as string, auth });
  await waitFor(`container ${name} to be Running`, async () => {
    const s = (await api(auth, 'GET', `/v1/containers/${name}`)).body;
    if (s.status === 'Error') assert.fail(`${name} is in Error: ${String(s.status_reason)}`);
    return s.status === 'Running' ? true : undefined;
  }, 120_000);
  return c.body.uuid as string;
}

before(async () => {
  if (skip) return;
  const kuryrNeutron = parseIni(readFileSync('/etc/kuryr-lab/kuryr.conf', 'utf8'), 'kuryr.conf').get('neutron');
  const neutronConf = [...(kuryrNeutron?.entries() ?? [])].filter(([k]) => !['enable_dhcp', 'vif_plugging_is_fatal'].includes(k)).map(([k, v]) => `${k} = ${v.value}`).join('\n');
  const conf = `[DEFAULT]\nhost = ${hostId()}\nauth_strategy = keystone\n[docker]\nstop_timeout = 1\n[database]\nconnection = sqlite://${join(tmp, 'zun.sqlite')}\n[neutron]\n${neutronConf}\n`;
  zunApp = await buildZunApp(buildZunConfig(parseIni(conf, 'test zun.conf'), {}), pino({ level: 'warn' }));
  await zunApp.app.listen({ host: '127.0.0.1', port: 0 });
  zunUrl = `http://127.0.0.1:${(zunApp.app.server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const c of made.containers) await api(c.auth, 'DELETE', `/v1/containers/${c.uuid}?stop=true`).catch(() => undefined);
  for (const c of made.containers) {
    await waitFor(`container ${c.uuid} to be gone`, async () => ((await api(c.auth, 'GET', `/v1/containers/${c.uuid}`).catch(() => ({ status: 404 }))).status === 404 ? true : undefined), 60_000).catch(() => undefined);
  }
  for (const n of made.nets) {
    for (const c of made.containers) await api(c.auth, 'DELETE', `/v1/networks/${n}`).catch(() => undefined);
    await docker('network', 'rm', n).catch(() => undefined);
  }
  await zunApp?.close();
  for (const c of made.containers) {
    for (const p of await neutron.list('ports', { device_id: c.uuid }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
  }
  for (const n of made.nets) {
    for (const p of await neutron.list('ports', { network_id: n }).catch(() => [])) await neutron.delete('ports', p.id).catch(() => undefined);
    for (const sn of await neutron.list('subnets', { network_id: n }).catch(() => [])) await neutron.delete('subnets', sn.id).catch(() => undefined);
    await neutron.delete('networks', n).catch(() => undefined);
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('topology page on the real lab', { skip, timeout: 600_000 }, () => {
  it('lab-demo sees its network, container and port as Neutron has them, live; the admin project\'s objects are hidden', async () => {
    const demoUuid = await containerOf(demoAuth!, DEMO_NET, DEMO_C, '10.61.0.0/24');
    await containerOf(adminAuth!, ADMIN_NET, ADMIN_C, '10.62.0.0/24');
    const port = (await neutron.list('ports', { device_id: demoUuid }))[0] as NeutronPort | undefined;
    assert.ok(port, 'the demo container has a Neutron port');
    const ip = port.fixed_ips[0]!.ip_address;

    const { chromium } = await import('playwright-core');
    const context = await chromium.launchPersistentContext(join(tmp, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1200, height: 800 } });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${zunUrl}/topology`);
      await page.locator('#token').waitFor({ state: 'visible' });
      const token = (await demoAuth!.headers())['X-Auth-Token'];
      assert.ok(token, 'the demo user has a Keystone token');
      await page.fill('#token', token);
      await page.click('#login button[type=submit]');
      const container = page.locator(`[data-kind=container][data-name="${DEMO_C}"]`);
      await container.waitFor({ timeout: 30_000 });
      assert.equal(await page.locator(`[data-kind=network][data-name="${DEMO_NET}"]`).count(), 1);
      assert.equal(await page.locator(`[data-kind=docker-network][data-name="${DEMO_NET}"]`).count(), 1, 'its Docker network on the host');
      const text = (await container.textContent()) ?? '';
      assert.ok(text.includes(ip), `the port's address ${ip} is drawn`);
      assert.ok(text.includes(port.mac_address), `the port's MAC ${port.mac_address} is drawn`);
      assert.ok(text.includes('bound host-'), 'bound to a compute host, named by its alias for a member');
      assert.equal(await page.locator('[data-kind=host][data-state=up]').count() >= 1, true, 'the compute host is up');
      // OVN reports the port up once kuryr plugged it: the page shows it without a reload
      await page.locator(`[data-kind=port][data-id="${port.id}"][data-status=ACTIVE]`).waitFor({ timeout: 60_000 });

      const html = await page.content();
      for (const hidden of [ADMIN_NET, ADMIN_C, '10.62.0.']) assert.equal(html.includes(hidden), false, `${hidden} is not the demo project's`);
      const drawing = await page.locator('#view').innerHTML();
      assert.equal([`>${hostId()}<`, `"${hostId()}"`, `bound ${hostId()}`, `compute host ${hostId()}`].some((s) => drawing.includes(s)), false, 'compute host names are admin-only');
      assert.equal(page.url(), `${zunUrl}/topology`, 'no token in the URL');
      await page.screenshot({ path: join(tmp, 'topology-lab.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
