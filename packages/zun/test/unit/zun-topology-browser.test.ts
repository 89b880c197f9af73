/**
 * The topology page in a real browser: headless Chromium (Debian's, driven by
 * playwright-core; lab/install.sh installs it) against a zun-api over fakes on
 * 127.0.0.1 in keystone mode (a fake token validator). The page asks for a
 * token, keeps it out of the URL, draws the member's networks, containers and
 * ports and none of another project's, picks up a new container by itself,
 * and shows an admin every project and a host that is down. Screenshots go to
 * docs/topology.png and docs/topology-admin.png when those are missing or
 * KURYR_UPDATE_SCREENSHOTS=1 (to a temporary directory otherwise, so test runs
 * leave the tree clean).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { unauthorized } from '@kuryr-ts/openstack/errors';
import { buildApi } from '../../src/api/server.js';
import type { RequestContext } from '../../src/domain/context.js';
import { as } from '../fakes.js';
import { topologyFixture, type TopologyFixture } from '../topology-fixture.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y --no-install-recommends chromium; lab/install.sh does)`;

const TOKENS: Record<string, RequestContext> = {
  'tok-member-p1': { projectId: 'p1', userId: 'alice', roles: ['member'], isAdmin: false },
  'tok-admin': { projectId: 'admin-project', userId: 'admin', roles: ['admin'], isAdmin: true },
};

function screenshotPath(name: string, scratch: string): string {
  const docs = join(ROOT, 'docs', name);
  return process.env.KURYR_UPDATE_SCREENSHOTS === '1' || !existsSync(docs) ? docs : join(scratch, name);
}

describe('topology page in headless Chromium', { skip }, () => {
  let f: TopologyFixture;
  let app: FastifyInstance;
  let base: string;
  let scratch: string;
  let context: import('playwright-core').BrowserContext;

  before(async () => {
    f = await topologyFixture();
    const validator = { validate: async (t: string) => TOKENS[t] ?? Promise.reject(unauthorized('The token is not valid', 'ZUN_ERR_UNAUTHORIZED')) };
    app = buildApi({ networks: f.h.networks, containers: f.h.containers, hosts: f.h.hostService, topology: f.h.topology, auth: { kind: 'keystone', validator } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    assert.ok(addr && typeof addr === 'object');
    base = `http://127.0.0.1:${addr.port}`;
    scratch = mkdtempSync(join(tmpdir(), 'zun-topology-'));
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(join(scratch, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1000, height: 640 } });
  });

  after(async () => {
    await context?.close();
    await app?.close();
    await f?.h.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('a member signs in with a token and sees their project only; the view refreshes by itself', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
    });
    await page.goto(`${base}/topology`);
    await page.locator('#token').waitFor({ state: 'visible' });
    await page.fill('#token', 'tok-member-p1');
    await page.click('#login button[type=submit]');
    await page.locator('[data-kind=container]').nth(1).waitFor();

    const names = async (kind: string) => (await page.locator(`[data-kind=${kind}]`).evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).sort();
    assert.deepEqual(await names('network'), ['blue']);
    assert.deepEqual(await names('container'), ['db', 'web']);
    assert.deepEqual(await names('host'), ['host-1', 'host-2']);
    assert.equal(await page.locator('[data-kind=port]').count(), 2);
    assert.equal(await page.locator('[data-kind=port][data-status=ACTIVE]').count(), 1);
    const text = await page.locator('svg').textContent();
    assert.match(text ?? '', /10\.2\.0\.\d+/);
    assert.match(text ?? '', /fa:16:3e:/);
    const html = await page.content();
    for (const hidden of ['secret-app', 'red-net', 'compute-a', '10.9.0.']) assert.equal(html.includes(hidden), false, `${hidden} is another project's or admin-only`);
    assert.equal(page.url(), `${base}/topology`, 'no token in the URL');
    assert.equal(await page.evaluate('sessionStorage.getItem("zun-topology-token")'), 'tok-member-p1');

    // a new container appears without a reload
    const res = await f.h.app.inject({ method: 'POST', url: '/v1/containers?run=true', headers: as('p1'), payload: { name: 'cache', image: 'kuryr/busybox', nets: [{ network: 'blue' }] } });
    assert.equal(res.statusCode, 202, res.body);
    await f.h.containers.idle();
    await page.locator('[data-kind=container][data-name=cache]').waitFor({ timeout: 10_000 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: screenshotPath('topology.png', scratch), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a refused token brings the sign-in back; an admin sees every project and a host that is down', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/topology`);
    await page.locator('#token').waitFor({ state: 'visible' }); // sessionStorage is per tab: a new tab asks again
    await page.fill('#token', 'not-a-token');
    await page.click('#login button[type=submit]');
    await page.locator('#why').filter({ hasText: 'refused' }).waitFor();
    f.h.dockers.get('compute-b')!.down = true;
    await f.h.hosts.check();
    await page.fill('#token', 'tok-admin');
    await page.click('#login button[type=submit]');
    await page.locator('[data-kind=container][data-name=secret-app]').waitFor();
    assert.equal(await page.locator('[data-kind=host][data-name=compute-b][data-state=down]').count(), 1);
    assert.equal(await page.locator('[data-kind=network]').count(), 2);
    await page.waitForTimeout(300);
    await page.screenshot({ path: screenshotPath('topology-admin.png', scratch), fullPage: true });
    await page.close();
  });
});
