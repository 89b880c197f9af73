/**
 * The daemon's observability: metrics of libnetwork calls, Neutron calls,
 * port pools and the domain's counters in the Prometheus exposition (plugin
 * calls through fastify inject()); /healthz and /readyz following Neutron;
 * the request id of a plugin call in its log lines and in the headers a
 * loopback Neutron receives; and the real daemon (kuryr-server): oslo text
 * lines, /metrics on the plugin socket and on metrics_uri, and its log file
 * reopened on SIGHUP after a rotation.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { NeutronError } from '@kuryr-ts/openstack/errors';
import { NoAuth } from '@kuryr-ts/openstack/keystone/auth';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { NeutronClient, type NeutronCall } from '@kuryr-ts/openstack/neutron/client';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';
import { serviceLog } from '@kuryr-ts/openstack/observability/log';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { LoopbackOpenStack } from '@kuryr-ts/openstack/testing/loopback-openstack';
import { composeDriver } from '../../src/main/compose.js';
import { DaemonObservability, metricsListenAddress } from '../../src/main/observability.js';
import { FakeLinks, FakeOvs } from '../fake-host.js';
import { buildDriver, dockerId, settings } from '../harness.js';

const SERVER_BIN = fileURLToPath(new URL('../../../bin/kuryr-server.js', import.meta.url)); // from dist/test/unit/
const TEXT_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) kuryr \[(req-[0-9a-f-]{36}|-)\] \S/;

function lines(): { lines: string[]; write(line: string): void } {
  const out: string[] = [];
  return { lines: out, write: (l: string) => void out.push(...l.split('\n').filter(Boolean)) };
}

/** The driver as the daemon composes it, with its observability, over `neutron`. */
function observedDriver(neutron: NeutronApi, opts: { stats?: OpStats; ready?: Promise<void> } = {}) {
  const stats = opts.stats ?? new OpStats();
  const sink = lines();
  const { logger } = serviceLog({ name: 'kuryr', level: 'info', sink, requestId: () => stats.requestId() });
  const obs = new DaemonObservability({ readinessCacheMs: 0, readinessTimeoutMs: 2000 });
  const driver = composeDriver({
    neutron,
    host: { links: new FakeLinks(), ovs: new FakeOvs() },
    binding: { portDriver: 'veth', integrationBridge: 'br-int', linkIface: '' },
    settings,
    neutronFeatures: { tags: true, tagOnCreate: false },
    logger,
    stats,
    background: (work) => stats.detached(work),
    onUndoFailure: () => undefined,
    observability: obs.plugin,
    metrics: obs.metrics,
  });
  obs.watch({ ready: opts.ready ?? driver.ready, neutron, portPool: driver.portPool });
  const app = driver.server;
  const post = (method: string, body?: unknown) => app.inject({ method: 'POST', url: `/${method}`, payload: body === undefined ? '' : `${JSON.stringify(body)}\n` });
  const get = (url: string) => app.inject({ method: 'GET', url });
  return { app, obs, stats, logs: sink.lines, post, get };
}

describe('daemon metrics (GET /metrics on the plugin server)', () => {
  it('libnetwork calls by method and status, with latency histograms; the domain counters', async () => {
    const d = observedDriver(new FakeNeutron());
    assert.equal((await d.post('Plugin.Activate')).statusCode, 200);
    const pool = await d.post('IpamDriver.RequestPool', { AddressSpace: 'no_address_space', Pool: '10.80.0.0/24', SubPool: '', Options: {}, V6: false });
    assert.equal(pool.statusCode, 200);
    assert.equal((await d.post('IpamDriver.RequestPool', { AddressSpace: 'no_address_space', Pool: '10.80.0.0/24', SubPool: '', Options: {}, V6: false })).statusCode, 200);
    assert.equal((await d.post('NetworkDriver.CreateNetwork')).statusCode, 400, 'no body');
    assert.equal((await d.post('NetworkDriver.NoSuchMethod', {})).statusCode, 404);
    d.obs.metrics.count('reconcile_runs', { mode: 'apply', result: 'complete' });
    d.obs.metrics.count('reconcile_findings', { kind: 'port', outcome: 'removed' }, 2);

    const res = await d.get('/metrics');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    assert.match(text, /^# TYPE kuryr_plugin_requests_total counter$/m);
    assert.match(text, /^kuryr_plugin_requests_total\{method="Plugin\.Activate",status="200"\} 1$/m);
    assert.match(text, /^kuryr_plugin_requests_total\{method="IpamDriver\.RequestPool",status="200"\} 2$/m);
    assert.match(text, /^kuryr_plugin_requests_total\{method="NetworkDriver\.CreateNetwork",status="400"\} 1$/m);
    assert.match(text, /^kuryr_plugin_requests_total\{method="unknown",status="404"\} 1$/m);
    assert.match(text, /^# TYPE kuryr_plugin_request_duration_seconds histogram$/m);
    assert.match(text, /^kuryr_plugin_request_duration_seconds_bucket\{le="\+Inf",method="IpamDriver\.RequestPool"\} 2$/m);
    assert.match(text, /^kuryr_plugin_request_duration_seconds_count\{method="IpamDriver\.RequestPool"\} 2$/m);
    assert.match(text, /^kuryr_neutron_ready 1$/m);
    assert.match(text, /^kuryr_reconcile_runs_total\{mode="apply",result="complete"\} 1$/m);
    assert.match(text, /^kuryr_reconcile_findings_total\{kind="port",outcome="removed"\} 2$/m);
    assert.doesNotMatch(text, /method="metrics"|GET/, 'scrapes and probes are not plugin calls');
    assert.doesNotMatch(text, /^process_cpu/m, 'process metrics only when asked for');
  });

  it('port pool sizes per subnet', async () => {
    const d = buildDriver(undefined, { portPool: { min: 2, batch: 3, max: 0 } });
    const net = await d.createNetwork('10.81.0.0/24', '10.81.0.1');
    await d.attach(net);
    await d.idle();
    const obs = new DaemonObservability();
    obs.watch({ ready: Promise.resolve(), neutron: d.neutron, portPool: d.portPool });
    const [[subnet, free]] = Object.entries(d.portPool!.sizes()) as [[string, number]];
    assert.ok(free > 0);
    const { text } = await obs.prometheus.exposition();
    assert.match(text, new RegExp(`^kuryr_port_pool_free_ports\\{subnet="${subnet}"\\} ${free}$`, 'm'));
  });

  it('process metrics (prom-client defaults) when asked for', async () => {
    const obs = new DaemonObservability({ processMetrics: true });
    const { text } = await obs.prometheus.exposition();
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });
});

describe('daemon health and readiness', () => {
  it('/healthz answers while /readyz follows the start-up probe and Neutron', async () => {
    const neutron = new FakeNeutron();
    let probed!: () => void;
    const d = observedDriver(neutron, { ready: new Promise<void>((r) => (probed = r)) });
    assert.deepEqual((await d.get('/healthz')).json(), { status: 'ok' });

    const probing = await d.get('/readyz');
    assert.equal(probing.statusCode, 503);
    assert.deepEqual(probing.json().notReady, ['neutron']);
    assert.match(probing.json().checks.neutron.reason, /not probed yet/);

    probed();
    await new Promise((r) => setImmediate(r));
    const ready = await d.get('/readyz');
    assert.equal(ready.statusCode, 200, ready.body);
    assert.equal(ready.json().status, 'ready');
    assert.equal(ready.json().checks.neutron.ready, true);

    // Neutron goes away: the check's GET /v2.0/extensions/subnet_allocation gets no answer
    neutron.failNext(/GET extensions/, new NeutronError('GET', '/v2.0/extensions/subnet_allocation', undefined, undefined, 'ECONNREFUSED (http://127.0.0.1:9696)'));
    const down = await d.get('/readyz');
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().status, 'not ready');
    assert.deepEqual(down.json().notReady, ['neutron']);
    assert.match(down.json().checks.neutron.reason, /ECONNREFUSED/);
    assert.equal((await d.get('/healthz')).statusCode, 200, 'alive all along');

    assert.equal((await d.get('/readyz')).statusCode, 200, 'Neutron is back');
  });

  it('while the probe retries, /readyz says what it last saw', async () => {
    const obs = new DaemonObservability({ readinessCacheMs: 0 });
    obs.watch({ ready: new Promise(() => undefined), neutron: new FakeNeutron(), probe: () => ({ attempts: 3, lastError: 'Neutron is unreachable: ECONNREFUSED' }) });
    const report = await obs.readiness.report();
    assert.equal(report.ready, false);
    assert.match(report.checks.neutron!.reason!, /not probed yet .*: Neutron is unreachable: ECONNREFUSED$/);
    assert.deepEqual(report.checks.neutron!.details, { attempts: 3, lastError: 'Neutron is unreachable: ECONNREFUSED' });
  });

  it('a start-up probe that gave up keeps the daemon not ready, saying why', async () => {
    const d = observedDriver(new FakeNeutron(), { ready: Promise.reject(new Error('Neutron lacks the mandatory subnet_allocation extension')) });
    await new Promise((r) => setImmediate(r));
    const res = await d.get('/readyz');
    assert.equal(res.statusCode, 503);
    assert.match(res.json().checks.neutron.reason, /gave up: Neutron lacks the mandatory subnet_allocation extension/);
  });
});

describe('request ids of plugin calls', () => {
  let cloud: LoopbackOpenStack;
  before(async () => {
    cloud = await new LoopbackOpenStack().start();
  });
  after(() => cloud.stop());

  it('each call gets a req-<uuid>: answered, on its log lines, sent to Neutron; Neutron calls are counted by operation', async () => {
    const stats = new OpStats();
    const calls: string[] = [];
    const to: { metrics?: (c: NeutronCall) => void } = {};
    const observer = (c: NeutronCall): void => {
      calls.push(`${c.resource} ${c.operation} ${c.status}`);
      to.metrics?.(c);
    };
    const neutron = new NeutronClient(new NoAuth(cloud.neutronUrl), { timeoutMs: 5000, attempts: 1, stats, observer });
    const d = observedDriver(neutron, { stats });
    to.metrics = d.obs.neutronCalls;
    const first = cloud.requests.length;
    const res = await d.post('NetworkDriver.DeleteNetwork', { NetworkID: dockerId() });
    assert.equal(res.statusCode, 200, res.body);
    const id = String(res.headers['x-openstack-request-id']);
    assert.match(id, /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const sent = cloud.requests.slice(first);
    assert.ok(sent.length > 0, 'DeleteNetwork looked the network up');
    for (const r of sent) assert.equal(r.headers['x-openstack-request-id'], id, `${r.method} ${r.path}`);

    const mine = d.logs.filter((l) => l.includes(`[${id}]`));
    assert.ok(mine.some((l) => / INFO kuryr \[req-[^\]]+\] DeleteNetwork: no Neutron network/.test(l)), 'a domain service line');
    assert.ok(mine.some((l) => /\] ok method=NetworkDriver\.DeleteNetwork neutronCalls=\d+/.test(l)), "the plugin server's line");
    for (const l of d.logs) assert.match(l, TEXT_LINE);

    // a second call has another id; a failing one logs it too
    const bad = await d.post('NetworkDriver.Join', { NetworkID: 'x' });
    assert.equal(bad.statusCode, 400);
    const badId = String(bad.headers['x-openstack-request-id']);
    assert.notEqual(badId, id);
    assert.ok(d.logs.some((l) => l.includes(`WARNING kuryr [${badId}] request failed`)), d.logs.join('\n'));
    const invalid = await d.app.inject({ method: 'POST', url: '/NetworkDriver.Join', payload: '{not json' });
    assert.equal(invalid.statusCode, 400);
    assert.ok(d.logs.some((l) => l.includes(`[${String(invalid.headers['x-openstack-request-id'])}] request failed`)), 'a body that does not parse');

    assert.ok(calls.includes('networks list 200'), calls.join(', '));
    const { text } = await d.obs.prometheus.exposition();
    assert.match(text, /^kuryr_neutron_requests_total\{resource="networks",operation="list",status="200"\} \d+$/m);
    assert.match(text, /^kuryr_neutron_request_duration_seconds_count\{resource="networks",operation="list"\} \d+$/m);
  });
});

describe('metrics_uri', () => {
  it('loopback, or refused without insecure_metrics_uri', async () => {
    const { logger } = serviceLog({ name: 'kuryr', level: 'silent', sink: lines() });
    assert.equal(await metricsListenAddress({ metricsUri: undefined, insecureMetricsUri: false }, logger), undefined);
    assert.deepEqual(await metricsListenAddress({ metricsUri: 'http://127.0.0.1:9659', insecureMetricsUri: false }, logger), { host: '127.0.0.1', port: 9659, loopback: true });
    await assert.rejects(() => metricsListenAddress({ metricsUri: 'http://0.0.0.0:9659', insecureMetricsUri: false }, logger), /KURYR_ERR_CONFIG|not a loopback address/);
    assert.equal((await metricsListenAddress({ metricsUri: 'http://0.0.0.0:9659', insecureMetricsUri: true }, logger))!.loopback, false);
  });
});

/** GET over the daemon's unix socket or TCP. */
function httpGet(target: { socketPath: string } | { port: number }, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...('socketPath' in target ? { socketPath: target.socketPath } : { host: '127.0.0.1', port: target.port }), path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject).end();
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('kuryr-server: text log lines, metrics, readiness, SIGHUP', () => {
  it('serves /metrics and /readyz on the socket and metrics_uri, and reopens its log file on SIGHUP', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kuryr-obs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cloud = await new LoopbackOpenStack().start();
    t.after(() => cloud.stop());
    const port = await freePort();
    const socket = join(dir, 'kuryr.sock');
    const log = join(dir, 'log', 'kuryr-server.log');
    const conf = join(dir, 'kuryr.conf');
    writeFileSync(
      conf,
      // never a reconcile pass: the host's veths and Docker are real, this Neutron is a stand-in
      `[DEFAULT]\nplugin_socket = ${socket}\nlog_dir = ${join(dir, 'log')}\nmetrics_uri = http://127.0.0.1:${port}\nreconcile_interval = 0\ndocker_host = unix:///nonexistent/docker.sock\n` +
        `[neutron]\nauth_type = none\nendpoint_override = ${cloud.neutronUrl}\n[binding]\nhost_id = unit-test\n`,
    );
    const child = spawn(process.execPath, [SERVER_BIN, '--config-file', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    t.after(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const waitFor = async (what: string, ok: () => boolean): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!ok()) {
        assert.ok(child.exitCode === null && Date.now() < deadline, `${what}: ${output} ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    await waitFor('the daemon logs "Neutron ready" and "also served on metrics_uri"', () => /Neutron ready/.test(read(log)) && /metrics_uri/.test(read(log)));

    for (const l of read(log).trimEnd().split('\n')) assert.match(l, TEXT_LINE);
    assert.match(read(log), / INFO kuryr \[-\] Neutron ready/);

    await httpGet({ socketPath: socket }, '/Plugin.Activate');
    for (const target of [{ socketPath: socket }, { port }] as const) {
      const metrics = await httpGet(target, '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^kuryr_neutron_ready 1$/m);
      assert.match(metrics.body, /^kuryr_neutron_requests_total\{resource="extensions",operation="show",status="200"\} \d+$/m);
      assert.match(metrics.body, /^process_resident_memory_bytes \d+/m);
      const ready = await httpGet(target, '/readyz');
      assert.equal(ready.status, 200, ready.body);
      assert.equal((JSON.parse(ready.body) as { status: string }).status, 'ready');
      assert.equal((await httpGet(target, '/healthz')).status, 200);
    }
    assert.equal((await httpGet({ port }, '/Plugin.Activate')).status, 404, 'metrics_uri serves only the observability paths');

    renameSync(log, `${log}.1`);
    child.kill('SIGHUP');
    await waitFor('a new log file after SIGHUP', () => /log file reopened signal=SIGHUP/.test(read(log)));
    assert.doesNotMatch(read(`${log}.1`), /log file reopened/);
    assert.equal(child.exitCode, null, 'SIGHUP does not stop the daemon');

    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    assert.match(read(log), /shutting down signal=SIGTERM/);
  });
});
