/**
 * zun-api's observability, over the composition root (buildZunApp) with a
 * loopback Keystone + Neutron and a fake Docker Engine on a unix socket:
 * request ids (the caller's X-OpenStack-Request-ID kept when well formed,
 * answered, on the access line, sent to Keystone and Neutron), /readyz
 * following the database, Keystone, Neutron and the Docker hosts, /metrics
 * (API routes, Neutron and Docker calls, compute host health), loopback-only
 * without a token; and zun.conf's logging and metrics options.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { newRequestId } from '@kuryr-ts/openstack/lib/request-id';
import { serviceLog } from '@kuryr-ts/openstack/observability/log';
import { LoopbackOpenStack } from '@kuryr-ts/openstack/testing/loopback-openstack';
import { observedDocker } from '../../src/adapters/docker-metrics.js';
import { buildZunApp, type ZunApp } from '../../src/main/zun-api.js';
import { ZunObservability, metricsListenAddress } from '../../src/main/observability.js';
import { buildZunConfig } from '../../src/main/zun-config.js';
import { DockerRequestError, DockerUnavailable } from '../../src/ports/docker.js';
import { FakeDocker } from '../fakes.js';

const REQ_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A Docker Engine that answers its ping (and 404 to the rest) on a unix socket. */
class FakeEngine {
  readonly server: Server = createServer((req, res) => {
    req.resume();
    if ((req.url ?? '').endsWith('/_ping')) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK');
    else res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"not here"}');
  });
  constructor(readonly path: string) {}
  start(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('zun-api observability (buildZunApp over loopback Keystone, Neutron and Docker)', () => {
  let dir: string;
  let cloud: LoopbackOpenStack;
  let engine: FakeEngine;
  let zun: ZunApp;
  let obs: ZunObservability;
  const lines: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zun-obs-'));
    cloud = await new LoopbackOpenStack().start();
    engine = new FakeEngine(join(dir, 'docker.sock'));
    await engine.start();
    const config = buildZunConfig(
      parseIni(
        `[DEFAULT]\nhost = testhost\nauth_strategy = keystone\n[database]\nconnection = sqlite::memory:\n` +
          `[docker]\nsocket = ${engine.path}\nping_interval = 0\nping_timeout = 1\n` +
          `[neutron]\nauth_type = none\nendpoint_override = ${cloud.neutronUrl}\n` +
          `[keystone_authtoken]\nauth_url = ${cloud.authUrl}\nusername = zun\npassword = pa55-zun\nproject_name = service\nuser_domain_name = Default\nproject_domain_name = Default\n`,
        'zun.conf',
      ),
      {},
    );
    const stats = new OpStats();
    const { logger } = serviceLog({ name: 'zun-api', level: 'info', sink: { write: (l: string) => void lines.push(...l.split('\n').filter(Boolean)) }, requestId: () => stats.requestId() });
    obs = new ZunObservability(logger, { readinessCacheMs: 0, readinessTimeoutMs: 3000 });
    zun = await buildZunApp(config, logger, { stats, observability: obs });
  });

  after(async () => {
    await zun.close();
    await engine.stop();
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a caller's well-formed request id is kept: answered, on the access line, sent to Keystone", async () => {
    const id = newRequestId();
    const res = await zun.app.inject({ method: 'GET', url: '/v1/containers', headers: { 'x-auth-token': 'tok-user', 'x-openstack-request-id': id } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['x-openstack-request-id'], id);
    const keystone = cloud.to('/identity/v3/auth/tokens');
    assert.ok(keystone.some((r) => r.method === 'POST' && r.headers['x-openstack-request-id'] === id), "the service's own token, asked for in this request");
    assert.ok(keystone.some((r) => r.method === 'GET' && r.headers['x-openstack-request-id'] === id), "the caller's token validated");
    assert.ok(keystone.filter((r) => r.method === 'GET').every((r) => r.path.endsWith('?nocatalog')), 'validated without the catalog');
    assert.ok(
      lines.some((l) => new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\d+ INFO zun-api \\[${id}\\] 127\\.0\\.0\\.1 "GET /v1/containers" status: 200 time: \\d+\\.\\d{4}$`).test(l)),
      lines.join('\n'),
    );
    assert.ok(!lines.join('\n').includes('pa55-zun'), 'no secret in the log');

    const other = await zun.app.inject({ method: 'GET', url: '/v1/containers', headers: { 'x-auth-token': 'tok-user', 'x-openstack-request-id': 'req-not-a-uuid' } });
    const newId = String(other.headers['x-openstack-request-id']);
    assert.match(newId, REQ_ID);
    assert.notEqual(newId, 'req-not-a-uuid');
    const unauthenticated = await zun.app.inject({ method: 'GET', url: '/v1/containers' });
    assert.equal(unauthenticated.statusCode, 401);
    assert.equal((unauthenticated.json() as { errors: Array<{ request_id: string }> }).errors[0]!.request_id, unauthenticated.headers['x-openstack-request-id'], "Zun's error body names the request id");
  });

  it('/readyz names the dependencies, needs no token, and sends its id to Neutron', async () => {
    const before = cloud.requests.length;
    const res = await zun.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { status: string; notReady: string[]; checks: Record<string, { ready: boolean; details?: Record<string, string> }> };
    assert.equal(body.status, 'ready');
    assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'docker', 'keystone', 'neutron']);
    assert.deepEqual(body.checks.docker!.details, { testhost: 'up' });
    const neutron = cloud.requests.slice(before).filter((r) => r.path.startsWith('/neutron/'));
    assert.deepEqual(neutron.map((r) => `${r.method} ${r.path}`), ['GET /neutron/v2.0/extensions/subnet_allocation']);
    assert.equal(neutron[0]!.headers['x-openstack-request-id'], res.headers['x-openstack-request-id']);
    assert.deepEqual((await zun.app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
  });

  it('/metrics: API routes, Neutron and Docker calls, compute host health', async () => {
    await zun.app.inject({ method: 'GET', url: '/v1/containers/nope', headers: { 'x-auth-token': 'tok-user' } });
    await zun.app.inject({ method: 'GET', url: '/no/such/path', headers: { 'x-auth-token': 'tok-user' } });
    const res = await zun.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    assert.match(text, /^zun_api_requests_total\{method="GET",route="\/v1\/containers",status="200"\} 2$/m);
    assert.match(text, /^zun_api_requests_total\{method="GET",route="\/v1\/containers",status="401"\} 1$/m);
    assert.match(text, /^zun_api_requests_total\{method="GET",route="\/v1\/containers\/:[a-z_]+",status="404"\} 1$/m);
    assert.match(text, /^zun_api_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m);
    assert.match(text, /^zun_api_request_duration_seconds_count\{method="GET",route="\/v1\/containers"\} 3$/m);
    assert.doesNotMatch(text, /route="\/(readyz|healthz|metrics)"/, 'probes and scrapes are not API requests');
    assert.match(text, /^zun_neutron_requests_total\{resource="extensions",operation="show",status="200"\} 1$/m);
    assert.match(text, /^zun_docker_requests_total\{host="testhost",operation="ping",status="ok"\} \d+$/m);
    assert.match(text, /^zun_docker_request_duration_seconds_count\{host="testhost",operation="ping"\} \d+$/m);
    assert.match(text, /^zun_compute_host_up\{host="testhost"\} 1$/m);
    assert.match(text, /^zun_compute_host_checked_timestamp_seconds\{host="testhost"\} \d+/m);
  });

  it('/metrics and /readyz answer loopback clients only on the API port; /healthz anyone', async () => {
    for (const url of ['/metrics', '/readyz']) {
      const res = await zun.app.inject({ method: 'GET', url, remoteAddress: '192.0.2.7' });
      assert.equal(res.statusCode, 403, url);
      assert.match((res.json() as { reason: string }).reason, /loopback clients only/);
    }
    assert.equal((await zun.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.7' })).statusCode, 200);
    assert.equal((await zun.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '::1' })).statusCode, 200);
  });

  it('/readyz flips when Docker, then Neutron and Keystone, stop answering, and back', async () => {
    await engine.stop();
    try {
      const res = await zun.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      const body = res.json() as { notReady: string[]; checks: Record<string, { reason?: string; details?: Record<string, string> }> };
      assert.deepEqual(body.notReady, ['docker']);
      assert.match(body.checks.docker!.reason!, /no compute host answers/);
      assert.match(body.checks.docker!.details!.testhost!, /^down: Docker is unavailable/);
      assert.equal((await zun.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.match((await zun.app.inject({ method: 'GET', url: '/metrics' })).body, /^zun_compute_host_up\{host="testhost"\} 0$/m);
      cloud.down = true;
      const worse = (await zun.app.inject({ method: 'GET', url: '/readyz' })).json() as { notReady: string[] };
      assert.deepEqual(worse.notReady, ['keystone', 'neutron', 'docker']);
    } finally {
      cloud.down = false;
      await engine.start();
    }
    assert.equal((await zun.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  });
});

describe('Docker call metrics (the DockerApi decorator)', () => {
  it('reports operation and outcome, and is otherwise the engine', async () => {
    const calls: string[] = [];
    const fake = new FakeDocker();
    const docker = observedDocker(fake, 'h1', (c) => calls.push(`${c.host} ${c.operation} ${c.status}`));
    await docker.ping();
    assert.equal(await docker.inspectContainer('none'), undefined);
    fake.failures.set('createNetwork', new DockerRequestError(409, 'exists'));
    await assert.rejects(() => docker.createNetwork({ name: 'n', driver: 'kuryr', ipamDriver: 'kuryr', options: {}, ipamOptions: {}, ipamConfig: [], enableIpv6: false, labels: {} }), DockerRequestError);
    fake.down = true;
    await assert.rejects(() => docker.ping(), DockerUnavailable);
    assert.deepEqual(calls, ['h1 ping ok', 'h1 inspectContainer ok', 'h1 createNetwork 409', 'h1 ping unavailable']);
    assert.deepEqual(fake.calls, ['ping', 'inspectContainer', 'createNetwork', 'ping']);
  });
});

describe('zun.conf: logging and metrics options', () => {
  const conf = (text: string) => buildZunConfig(parseIni(text, 'zun.conf'), {});

  it('log_file, log_dir, use_json; [api] metrics_uri, insecure_metrics_uri', async () => {
    const none = conf('[DEFAULT]\nhost = h\n');
    assert.deepEqual(none.log, { file: undefined, dir: undefined, json: false });
    assert.equal(none.api.metricsUri, undefined);
    const set = conf('[DEFAULT]\nhost = h\nlog_dir = /var/log/zun\nuse_json = True\n[api]\nmetrics_uri = http://127.0.0.1:9660\n');
    assert.deepEqual(set.log, { file: undefined, dir: '/var/log/zun', json: true });
    const { logger } = serviceLog({ name: 'zun-api', level: 'silent', sink: { write: () => undefined } });
    assert.deepEqual(await metricsListenAddress(set, logger), { host: '127.0.0.1', port: 9660, loopback: true });
    await assert.rejects(() => metricsListenAddress(conf('[api]\nmetrics_uri = http://0.0.0.0:9660\n'), logger), /zun\.conf \[api\] metrics_uri = .*not a loopback address.*\[api\] insecure_metrics_uri = True/);
    assert.equal((await metricsListenAddress(conf('[api]\nmetrics_uri = http://0.0.0.0:9660\ninsecure_metrics_uri = true\n'), logger))!.loopback, false);
    assert.throws(() => conf('[DEFAULT]\nuse_json = maybe\n'), /use_json = maybe: not a boolean/);
  });
});
