/**
 * The shared observability parts: oslo-style log lines (text and JSON, level
 * names, the request id, secrets redacted, the file reopened after a
 * rotation), request ids sent to Neutron and Keystone (a loopback
 * Keystone + Neutron), the Neutron call observer, readiness, and where a
 * metrics listener may listen.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NeutronError } from '../../src/errors.js';
import { KeystoneAuth } from '../../src/keystone/keystone-auth.js';
import { NoAuth } from '../../src/keystone/auth.js';
import { OpStats } from '../../src/lib/op-stats.js';
import { isRequestId, newRequestId, requestIdFrom } from '../../src/lib/request-id.js';
import { NeutronClient, neutronOperation, type NeutronCall } from '../../src/neutron/client.js';
import { Readiness } from '../../src/observability/health.js';
import { isLoopback, metricsAddress } from '../../src/observability/listener.js';
import { logFilePath, osloLine, serviceLog } from '../../src/observability/log.js';
import { Prometheus } from '../../src/observability/prometheus.js';
import { LoopbackOpenStack } from '../../src/testing/loopback-openstack.js';

const TEXT_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ \[(req-[0-9a-f-]{36}|-)\] /;

function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(...line.split('\n').filter(Boolean)) };
}

describe('request ids', () => {
  it('are req-<uuid>; a well-formed caller id is kept, anything else replaced', () => {
    const id = newRequestId();
    assert.ok(isRequestId(id), id);
    assert.equal(requestIdFrom(id), id);
    assert.equal(requestIdFrom([id, 'x']), id);
    for (const bad of [undefined, '', 'req-123', 'abc', `${id} `, id.toUpperCase()]) {
      const got = requestIdFrom(bad);
      assert.ok(isRequestId(got) && got !== bad, String(bad));
    }
  });

  it('a scope opened in a request keeps its id; detached work too, counted as background', async () => {
    const stats = new OpStats();
    assert.equal(stats.requestId(), undefined);
    await stats.withRequest('req-00000000-0000-4000-8000-000000000001', async () => {
      await stats.run('NetworkDriver.Join', async (scope) => {
        assert.equal(scope.requestId, 'req-00000000-0000-4000-8000-000000000001');
        stats.countNeutronCall();
        await new Promise<void>((resolve) => {
          stats.detached(async () => {
            await new Promise((r) => setTimeout(r, 1));
            assert.equal(stats.requestId(), 'req-00000000-0000-4000-8000-000000000001');
            stats.countNeutronCall();
            resolve();
          });
        });
      });
    });
    assert.deepEqual(stats.snapshot(), { operations: { 'NetworkDriver.Join': { ...stats.snapshot().operations['NetworkDriver.Join']!, neutronCalls: 1 } }, backgroundNeutronCalls: 1 });
  });
});

describe('logs in the oslo manner', () => {
  it('text: time, pid, level name, name, [request id], message, key=value', async () => {
    const stats = new OpStats();
    const sink = capture();
    const { logger } = serviceLog({ name: 'kuryr', level: 'debug', sink, requestId: () => stats.requestId() });
    logger.info({ port: 'p1', note: 'two words' }, 'outside');
    stats.withRequest('req-00000000-0000-4000-8000-0000000000aa', () => logger.warn({ n: 3 }, 'inside'));
    logger.debug({}, 'debug');
    logger.error({ err: new Error('boom') }, 'failed');
    assert.match(sink.lines[0]!, TEXT_LINE);
    assert.match(sink.lines[0]!, / INFO kuryr \[-\] outside port=p1 note="two words"$/);
    assert.match(sink.lines[1]!, / WARNING kuryr \[req-00000000-0000-4000-8000-0000000000aa\] inside n=3$/);
    assert.match(sink.lines[2]!, / DEBUG kuryr \[-\] debug$/);
    assert.match(sink.lines[3]!, / ERROR kuryr \[-\] failed err=boom$/);
    assert.match(sink.lines[4]!, / ERROR kuryr \[-\] at /, 'the stack follows, each line with the prefix');
    for (const l of sink.lines) assert.match(l, TEXT_LINE);
  });

  it('JSON (use_json): ISO 8601 UTC time, level names, name, request_id, msg', () => {
    const stats = new OpStats();
    const sink = capture();
    const { logger } = serviceLog({ name: 'zun-api', level: 'info', json: true, sink, requestId: () => stats.requestId() });
    stats.withRequest('req-00000000-0000-4000-8000-0000000000bb', () => logger.warn({ host: 'h1' }, 'compute host down'));
    const r = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
    assert.equal(r.level, 'WARNING');
    assert.match(String(r.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(r.name, 'zun-api');
    assert.equal(r.request_id, 'req-00000000-0000-4000-8000-0000000000bb');
    assert.equal(r.msg, 'compute host down');
    assert.equal(r.host, 'h1');
    assert.equal(typeof r.pid, 'number');
  });

  it('secrets under their usual keys are written as ***', () => {
    for (const json of [true, false]) {
      const sink = capture();
      const { logger } = serviceLog({ name: 'kuryr', level: 'info', json, sink });
      logger.info({ password: 'pa55', auth: { token: 'tok-1', application_credential_secret: 's3cr3t' }, headers: { 'x-auth-token': 'tok-2' } }, 'x');
      const text = sink.lines.join('\n');
      for (const secret of ['pa55', 'tok-1', 's3cr3t', 'tok-2']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      assert.ok(text.includes('***'));
    }
  });

  it('osloLine of a record pino wrote', () => {
    const line = osloLine({ level: 'INFO', time: '2026-12-06T07:00:00.123Z', pid: 42, name: 'kuryr', request_id: 'req-1', msg: 'ok', method: 'NetworkDriver.Join', ms: 12 });
    assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.123 42 INFO kuryr \[req-1\] ok method=NetworkDriver\.Join ms=12\n$/);
  });

  it("log_file / log_dir as oslo.log reads them", () => {
    assert.equal(logFilePath(undefined, undefined, 'zun-api'), undefined);
    assert.equal(logFilePath('/var/log/zun/api.log', undefined, 'zun-api'), '/var/log/zun/api.log');
    assert.equal(logFilePath('api.log', '/var/log/zun', 'zun-api'), '/var/log/zun/api.log');
    assert.equal(logFilePath(undefined, '/var/log/zun', 'zun-api'), '/var/log/zun/zun-api.log');
    assert.equal(logFilePath('/abs.log', '/var/log/zun', 'zun-api'), '/abs.log');
  });

  it('reopen() after the file was moved (logrotate without copytruncate) writes to a new file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kuryr-log-'));
    try {
      const file = join(dir, 'sub', 'kuryr.log');
      const log = serviceLog({ name: 'kuryr', level: 'info', file });
      log.logger.info({}, 'first');
      renameSync(file, `${file}.1`);
      log.logger.info({}, 'second'); // still the moved file's descriptor
      log.reopen();
      log.logger.info({}, 'third');
      log.flush();
      const old = readFileSync(`${file}.1`, 'utf8');
      const now = readFileSync(file, 'utf8');
      assert.match(old, /first\n.*second\n$/s);
      assert.doesNotMatch(old, /third/);
      assert.match(now, TEXT_LINE);
      assert.match(now, /\] third\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('request ids and metrics on the wire (loopback Keystone + Neutron)', () => {
  let cloud: LoopbackOpenStack;
  before(async () => {
    cloud = await new LoopbackOpenStack().start();
  });
  after(() => cloud.stop());

  it('the Neutron client sends the scope\'s id as X-OpenStack-Request-ID and reports each call', async () => {
    const stats = new OpStats();
    const calls: NeutronCall[] = [];
    const client = new NeutronClient(new NoAuth(cloud.neutronUrl), { timeoutMs: 5000, attempts: 1, stats, observer: (c) => calls.push(c) });
    const id = newRequestId();
    await stats.withRequest(id, () => client.list('networks', { tags: ['a'] }));
    await client.hasExtension('tag');
    const [inside, outside] = cloud.to('/neutron/v2.0/').slice(-2);
    assert.equal(inside!.headers['x-openstack-request-id'], id);
    assert.equal(outside!.headers['x-openstack-request-id'], undefined, 'no id outside a request');
    assert.deepEqual(
      calls.map(({ resource, operation, status }) => ({ resource, operation, status })),
      [
        { resource: 'networks', operation: 'list', status: '200' },
        { resource: 'extensions', operation: 'show', status: '200' },
      ],
    );
    assert.ok(calls.every((c) => c.seconds >= 0 && c.seconds < 5));
  });

  it('a Neutron that does not answer is reported as status "error"', async () => {
    const calls: NeutronCall[] = [];
    const client = new NeutronClient(new NoAuth('http://127.0.0.1:1'), { timeoutMs: 2000, attempts: 1, stats: new OpStats(), observer: (c) => calls.push(c) });
    await assert.rejects(() => client.show('ports', 'p1'), NeutronError);
    assert.deepEqual(calls.map((c) => [c.resource, c.operation, c.status]), [['ports', 'show', 'error']]);
  });

  it('Neutron not answering while Keystone is away: the error names Keystone too (Neutron waits for it)', async () => {
    const away = Object.assign(new NoAuth('http://127.0.0.1:1'), {
      reachable: async (): Promise<void> => {
        throw new Error('Keystone (GET http://127.0.0.1:2/v3) is unreachable: ECONNREFUSED');
      },
    });
    const client = new NeutronClient(away, { timeoutMs: 2000, attempts: 1, stats: new OpStats() });
    await assert.rejects(() => client.show('ports', 'p1'), /unreachable: [^;]* \(http:\/\/127\.0\.0\.1:1\); Keystone \(GET http:\/\/127\.0\.0\.1:2\/v3\) is unreachable: ECONNREFUSED: Neutron cannot validate tokens without it/);
    const up = Object.assign(new NoAuth('http://127.0.0.1:1'), { reachable: async (): Promise<void> => undefined });
    await assert.rejects(
      () => new NeutronClient(up, { timeoutMs: 2000, attempts: 1, stats: new OpStats() }).show('ports', 'p1'),
      (err: Error) => !err.message.includes('Keystone'),
    );
  });

  it('Keystone away while Neutron hangs, back by the time the call gives up: the error still names Keystone', async () => {
    const hung: Socket[] = [];
    const server = createServer((socket) => void hung.push(socket)); // accepts, never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const t0 = performance.now();
    let probes = 0;
    const auth = Object.assign(new NoAuth(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), {
      reachable: async (): Promise<void> => {
        probes++;
        if (performance.now() - t0 < 1500) throw new Error('Keystone (GET http://127.0.0.1:2/v3) is unreachable: ETIMEDOUT');
      },
    });
    try {
      await assert.rejects(() => new NeutronClient(auth, { timeoutMs: 2000, attempts: 1, stats: new OpStats() }).show('ports', 'p1'), /; Keystone \(GET http:\/\/127\.0\.0\.1:2\/v3\) is unreachable: ETIMEDOUT: Neutron cannot validate tokens without it/);
      assert.equal(probes, 1, 'asked once, halfway; not again when the call gave up');
    } finally {
      for (const s of hung) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('Keystone gets the id on token requests; reachable() asks for no token', async () => {
    const stats = new OpStats();
    const auth = new KeystoneAuth({
      authUrl: cloud.authUrl,
      method: { kind: 'password', user: { name: 'kuryr', domain: { id: 'default' } }, password: 'x' },
      scope: { project: { name: 'service', domain: { id: 'default' } } },
      requestId: () => stats.requestId(),
    });
    const id = newRequestId();
    await stats.withRequest(id, () => auth.headers());
    const post = cloud.to('/identity/v3/auth/tokens').filter((r) => r.method === 'POST');
    assert.equal(post.at(-1)!.headers['x-openstack-request-id'], id);
    const before = cloud.requests.length;
    await auth.reachable();
    assert.deepEqual(cloud.requests.slice(before).map((r) => `${r.method} ${r.path}`), ['GET /identity/v3']);
    cloud.down = true;
    try {
      await assert.rejects(() => auth.reachable(), /answered 503/);
    } finally {
      cloud.down = false;
    }
  });

  it('Prometheus: the Neutron call metrics in the text exposition', async () => {
    const prom = new Prometheus({ prefix: 'test' });
    const observe = prom.neutronCalls();
    observe({ resource: 'ports', operation: 'create', status: '201', seconds: 0.02 });
    observe({ resource: 'ports', operation: 'create', status: '409', seconds: 0.01 });
    const { contentType, text } = await prom.exposition();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.match(text, /^# TYPE test_neutron_requests_total counter$/m);
    assert.match(text, /^test_neutron_requests_total\{resource="ports",operation="create",status="201"\} 1$/m);
    assert.match(text, /^test_neutron_requests_total\{resource="ports",operation="create",status="409"\} 1$/m);
    assert.match(text, /^# TYPE test_neutron_request_duration_seconds histogram$/m);
    assert.match(text, /^test_neutron_request_duration_seconds_bucket\{le="0\.025",resource="ports",operation="create"\} 2$/m);
    assert.match(text, /^test_neutron_request_duration_seconds_count\{resource="ports",operation="create"\} 2$/m);
  });
});

describe('Neutron operations (metric labels)', () => {
  it('by method and path', () => {
    const cases: Array<[Parameters<typeof neutronOperation>, string]> = [
      [['GET', '/ports?device_owner=kuryr%3Acontainer'], 'ports list'],
      [['GET', '/ports/abc'], 'ports show'],
      [['POST', '/ports'], 'ports create'],
      [['PUT', '/ports/abc'], 'ports update'],
      [['DELETE', '/networks/abc'], 'networks delete'],
      [['PUT', '/networks/abc/tags'], 'networks replace_tags'],
      [['PUT', '/subnets/abc/tags/kuryr.net.uuid'], 'subnets add_tag'],
      [['DELETE', '/subnets/abc/tags/x'], 'subnets remove_tag'],
      [['PUT', '/trunks/t1/add_subports'], 'trunks add_subports'],
      [['GET', '/extensions/standard-attr-tag'], 'extensions show'],
      [['POST', '/security-group-rules'], 'security-group-rules create'],
    ];
    for (const [args, want] of cases) {
      const { resource, operation } = neutronOperation(...args);
      assert.equal(`${resource} ${operation}`, want, args.join(' '));
    }
  });
});

describe('readiness', () => {
  it('names what is not ready and why; a check that hangs is cut short', async () => {
    let neutronUp = false;
    const r = new Readiness(
      {
        neutron: async () => {
          if (!neutronUp) throw new NeutronError('GET', '/v2.0/extensions', undefined, undefined, 'ECONNREFUSED');
        },
        database: async () => ({ ready: true }),
        docker: () => new Promise(() => undefined),
      },
      { timeoutMs: 50 },
    );
    const down = await r.report();
    assert.equal(down.ready, false);
    assert.equal(down.status, 'not ready');
    assert.deepEqual(down.notReady, ['neutron', 'docker']);
    assert.match(down.checks.neutron!.reason!, /ECONNREFUSED/);
    assert.match(down.checks.docker!.reason!, /no answer within 0\.05 s/);
    assert.equal(down.checks.database!.ready, true);
    neutronUp = true;
    const up = new Readiness({ neutron: async () => (neutronUp ? undefined : { ready: false }) });
    assert.deepEqual((await up.report()).notReady, []);
  });

  it('reuses a report for cacheMs; concurrent callers share one round', async () => {
    let runs = 0;
    let now = 0;
    const r = new Readiness({ x: async () => void runs++ }, { cacheMs: 1000, now: () => now });
    await Promise.all([r.report(), r.report(), r.report()]);
    assert.equal(runs, 1);
    now = 999;
    await r.report();
    assert.equal(runs, 1);
    now = 1000;
    await r.report();
    assert.equal(runs, 2);
  });
});

describe('metrics_uri', () => {
  it('loopback only, unless allowed; http with a port and no path', async () => {
    const ok = await metricsAddress('http://127.0.0.1:9659', '[DEFAULT] metrics_uri', false, 'insecure_metrics_uri');
    assert.deepEqual(ok, { host: '127.0.0.1', port: 9659, loopback: true });
    assert.deepEqual(await metricsAddress('http://[::1]:9659', 'x', false, 'y'), { host: '::1', port: 9659, loopback: true });
    assert.equal((await metricsAddress('http://localhost:9659', 'x', false, 'y')).loopback, true);
    await assert.rejects(() => metricsAddress('http://0.0.0.0:9659', '[DEFAULT] metrics_uri', false, '[DEFAULT] insecure_metrics_uri'), /\[DEFAULT\] metrics_uri = http:\/\/0\.0\.0\.0:9659: not a loopback address.*\[DEFAULT\] insecure_metrics_uri = True/);
    assert.deepEqual(await metricsAddress('http://0.0.0.0:9659', 'x', true, 'y'), { host: '0.0.0.0', port: 9659, loopback: false });
    await assert.rejects(() => metricsAddress('https://127.0.0.1:9659', 'x', false, 'y'), /only http/);
    await assert.rejects(() => metricsAddress('http://127.0.0.1', 'x', false, 'y'), /name the port/);
    await assert.rejects(() => metricsAddress('http://127.0.0.1:9659/metrics', 'x', false, 'y'), /no path/);
    await assert.rejects(() => metricsAddress('127.0.0.1:9659', 'x', false, 'y'), /only http|not a URL/);
  });

  it('loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) assert.ok(isLoopback(a), a);
    for (const a of ['0.0.0.0', '10.0.0.1', '::', '', 'fe80::1', '::ffff:10.0.0.1']) assert.ok(!isLoopback(a), a);
  });
});
