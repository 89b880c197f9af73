/**
 * Observability on the real lab, after a `docker run` on a kuryr network:
 *  - the lab daemon's /metrics, /readyz and /healthz on its plugin socket
 *    (libnetwork calls by method and status, Neutron calls by operation and
 *    status, Neutron ready), its log in oslo's text lines;
 *  - a plugin call's request id (X-OpenStack-Request-ID of the answer) in the
 *    daemon's log and, as the global request id, in Neutron's log;
 *  - a zun-api running this code (in process, over the lab's Keystone,
 *    Neutron, Docker and database in a temp dir): /metrics and /readyz on
 *    loopback, every dependency ready, its request id in Neutron's log too;
 *    and the lab's own zun-api when it runs code that serves them.
 * Names carry RUN_PREFIX (the lab is shared); everything made is removed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { ZunObservability } from '@kuryr-ts/zun/main/observability';
import { buildZunConfig } from '@kuryr-ts/zun/main/zun-config';
import { buildZunApp, type ZunApp } from '@kuryr-ts/zun/main/zun-api';
import { IMAGE, PLUGIN_SOCKET, RUN_PREFIX, cleanupDocker, docker, hostId, waitFor } from './support.js';

const KURYR_LOG = '/var/log/kuryr-lab/kuryr.log';
const NEUTRON_LOG = '/var/log/kuryr-lab/neutron-server.log';
const LAB_ZUN = 'http://127.0.0.1:9517';
const REQ_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OSLO_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) kuryr \[(req-[0-9a-f-]{36}|-)\] /;
const KEYSTONE = (() => {
  try {
    return readFileSync('/run/kuryr-lab/auth', 'utf8').trim() === 'keystone';
  } catch {
    return false;
  }
})();

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** An HTTP request on the plugin socket, or to a loopback URL. */
function call(target: { socket: string } | { url: string }, method: string, path: string, payload = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const where = 'socket' in target ? { socketPath: target.socket } : { host: new URL(target.url).hostname, port: Number(new URL(target.url).port) };
    const req = request({ ...where, path, method, headers: { 'Content-Length': Buffer.byteLength(payload) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject).end(payload);
  });
}

/** A sample's value in a Prometheus text exposition (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const read = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/** Neutron wrote an access line carrying `id` as the global request id ([<global> <local> …]). */
async function neutronLogged(id: string): Promise<void> {
  await waitFor(`Neutron's log to show ${id} as the global request id`, async () => (read(NEUTRON_LOG).includes(`[${id} req-`) ? true : undefined), 15_000);
}

const containers: string[] = [];
const networks: string[] = [];
after(() => cleanupDocker(containers, networks));

describe('observability of the lab daemon after docker run', { timeout: 300_000 }, () => {
  before(async () => {
    const net = `${RUN_PREFIX}-obs`;
    const c = `${RUN_PREFIX}-obs-c`;
    networks.push(net);
    containers.push(c);
    await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.171.0.0/24', '--gateway', '10.171.0.1', net);
    await docker('run', '-d', '--name', c, '--net', net, IMAGE, 'sleep', '600');
  });

  it('/metrics on the plugin socket: libnetwork calls, Neutron calls, Neutron ready, process metrics', async () => {
    const res = await call({ socket: PLUGIN_SOCKET }, 'GET', '/metrics');
    assert.equal(res.status, 200, res.body);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    for (const method of ['IpamDriver.RequestPool', 'NetworkDriver.CreateNetwork', 'IpamDriver.RequestAddress', 'NetworkDriver.CreateEndpoint', 'NetworkDriver.Join']) {
      assert.ok((sample(text, 'kuryr_plugin_requests_total', { method, status: '200' }) ?? 0) >= 1, `${method} counted`);
      assert.ok((sample(text, 'kuryr_plugin_request_duration_seconds_count', { method }) ?? 0) >= 1, `${method} timed`);
    }
    assert.ok((sample(text, 'kuryr_neutron_requests_total', { resource: 'ports', operation: 'create', status: '201' }) ?? 0) >= 1, 'a port made');
    assert.ok((sample(text, 'kuryr_neutron_requests_total', { resource: 'networks', operation: 'create', status: '201' }) ?? 0) >= 1, 'a network made');
    assert.ok((sample(text, 'kuryr_neutron_request_duration_seconds_count', { resource: 'ports', operation: 'create' }) ?? 0) >= 1);
    assert.equal(sample(text, 'kuryr_neutron_ready'), 1);
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);
  });

  it('/healthz and /readyz on the plugin socket: ready, Neutron named', async () => {
    assert.deepEqual(JSON.parse((await call({ socket: PLUGIN_SOCKET }, 'GET', '/healthz')).body), { status: 'ok' });
    const ready = await call({ socket: PLUGIN_SOCKET }, 'GET', '/readyz');
    assert.equal(ready.status, 200, ready.body);
    const body = JSON.parse(ready.body) as { status: string; notReady: string[]; checks: Record<string, { ready: boolean }> };
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.notReady, []);
    assert.equal(body.checks.neutron?.ready, true);
  });

  it("a plugin call's request id: answered, on the daemon's oslo log lines, Neutron's global request id", async () => {
    const res = await call({ socket: PLUGIN_SOCKET }, 'POST', '/NetworkDriver.DeleteNetwork', `${JSON.stringify({ NetworkID: randomBytes(32).toString('hex') })}\n`);
    assert.equal(res.status, 200, res.body);
    const id = String(res.headers['x-openstack-request-id']);
    assert.match(id, REQ_ID);
    // The call's lines reach the file one by one: wait for its closing line, not merely the first one.
    const closing = / INFO kuryr \[req-[^\]]+\] ok method=NetworkDriver\.DeleteNetwork neutronCalls=[1-9]/;
    const lines = (): string[] => read(KURYR_LOG).split('\n').filter((l) => l.includes(`[${id}]`));
    await waitFor(`the daemon's log to close ${id}`, async () => (lines().some((l) => closing.test(l)) ? true : undefined), 10_000).catch(() => undefined);
    const mine = lines();
    for (const l of mine) assert.match(l, OSLO_LINE);
    assert.ok(mine.some((l) => closing.test(l)), mine.join('\n'));
    await neutronLogged(id);
  });
});

describe('observability of zun-api on the lab', { timeout: 300_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'zun-obs-it-'));
  let zun: ZunApp;
  let url: string;

  before(async () => {
    const kuryrNeutron = parseIni(readFileSync('/etc/kuryr-lab/kuryr.conf', 'utf8'), 'kuryr.conf').get('neutron');
    const neutronConf = [...(kuryrNeutron?.entries() ?? [])].filter(([k]) => !['enable_dhcp', 'vif_plugging_is_fatal'].includes(k)).map(([k, v]) => `${k} = ${v.value}`).join('\n');
    const conf = `[DEFAULT]\nhost = ${hostId()}\nauth_strategy = ${KEYSTONE ? 'keystone' : 'noauth'}\n[database]\nconnection = sqlite://${join(tmp, 'zun.sqlite')}\n[neutron]\n${neutronConf}\n`;
    const log = pino({ level: 'warn' });
    zun = await buildZunApp(buildZunConfig(parseIni(conf, 'test zun.conf'), {}), log, { observability: new ZunObservability(log) });
    await zun.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(zun.app.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await zun?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('/readyz: the database, Keystone, Neutron and the Docker host are ready; its request id reaches Neutron', async () => {
    const res = await call({ url }, 'GET', '/readyz');
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body) as { status: string; checks: Record<string, { ready: boolean; details?: Record<string, string> }> };
    assert.equal(body.status, 'ready');
    for (const dep of ['database', 'keystone', 'neutron', 'docker']) assert.equal(body.checks[dep]?.ready, true, dep);
    assert.equal(body.checks.docker!.details![hostId()], 'up');
    const id = String(res.headers['x-openstack-request-id']);
    assert.match(id, REQ_ID);
    await neutronLogged(id);
  });

  it('/metrics: Neutron and Docker calls, the compute host up, API requests', async () => {
    await call({ url }, 'GET', '/v1/containers'); // 401 with Keystone, 200 in noauth: counted either way
    const res = await call({ url }, 'GET', '/metrics');
    assert.equal(res.status, 200, res.body);
    const text = res.body;
    assert.equal(sample(text, 'zun_compute_host_up', { host: hostId() }), 1);
    assert.ok((sample(text, 'zun_docker_requests_total', { host: hostId(), operation: 'ping', status: 'ok' }) ?? 0) >= 1);
    assert.ok((sample(text, 'zun_neutron_requests_total', { resource: 'extensions', operation: 'show', status: '200' }) ?? 0) >= 1);
    assert.equal(sample(text, 'zun_api_requests_total', { method: 'GET', route: '/v1/containers', status: KEYSTONE ? '401' : '200' }), 1);
  });

  it("the lab's zun-api serves them too (when it runs code that has them)", async (t) => {
    const health = await call({ url: LAB_ZUN }, 'GET', '/healthz').catch(() => undefined);
    if (health?.status !== 200) {
      t.skip(`the lab's zun-api does not serve /healthz (${health ? `HTTP ${health.status}` : 'not running'}): bash lab/zun.sh start restarts it on new code`);
      return;
    }
    const metrics = await call({ url: LAB_ZUN }, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.ok(sample(metrics.body, 'zun_compute_host_up', { host: hostId() }) !== undefined, 'the main host is a compute host');
    const ready = await call({ url: LAB_ZUN }, 'GET', '/readyz');
    const body = JSON.parse(ready.body) as { checks: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'docker', 'keystone', 'neutron']);
  });
});
