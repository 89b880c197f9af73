/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * The container service exposed to tenants: who is an admin (the admin role
 * in the admin project; noauth callers are members), revoked tokens, JSON-only
 * writes (415) and cross-site writes (403), body limits (413), fixed IPs and
 * ports in `nets` checked against the caller's rights, capped logs and exec
 * output, placement that a hung host does not stall, a Neutron answer that is
 * not JSON.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { NoAuth } from '@kuryr-ts/openstack/keystone/auth';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { NeutronError } from '@kuryr-ts/openstack/errors';
import { KeystoneTokens } from '../../src/adapters/keystone-tokens.js';
import { NeutronRest } from '../../src/adapters/neutron-rest.js';
import { buildApi } from '../../src/api/server.js';
import { buildZunConfig } from '../../src/main/zun-config.js';
import { as, asAdmin, harness, seedWorkflow, type Harness } from '../fakes.js';

async function call(h: Harness, method: 'GET' | 'POST' | 'DELETE', url: string, headers: Record<string, string>, body?: unknown) {
  const res = await h.app.inject({ method, url, headers, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {}, text: res.body };
}

/** A Keystone that knows some tokens and can revoke them; counts validations. */
function keystone(tokens: Record<string, { project: string; projectName?: string; domain?: string; roles: string[] }>) {
  let calls = 0;
  const revoked = new Set<string>();
  const fetch = async (_url: string, init: RequestInit): Promise<Response> => {
    calls++;
    const subject = (init.headers as Record<string, string>)['X-Subject-Token']!;
    const t = tokens[subject];
    if (!t || revoked.has(subject)) return new Response('{"error":{"code":404}}', { status: 404 });
    return Response.json({
      token: {
        expires_at: '2099-01-01T00:00:00Z',
        user: { id: `u-${t.project}` },
        project: { id: t.project, name: t.projectName ?? t.project, domain: { id: 'd', name: t.domain ?? 'Default' } },
        roles: t.roles.map((name) => ({ name })),
      },
    });
  };
  return { fetch, revoke: (t: string) => revoked.add(t), calls: () => calls };
}

describe('who is an admin', () => {
  it('Keystone: the admin role counts only in the admin project (by name and domain)', async () => {
    const ks = keystone({
      projadmin: { project: 'p9', roles: ['admin', 'member'] },
      cloud: { project: 'pa', projectName: 'admin', roles: ['admin'] },
      otherdomain: { project: 'pb', projectName: 'admin', domain: 'Other', roles: ['admin'] },
      member: { project: 'pa', projectName: 'admin', roles: ['member'] },
    });
    const v = new KeystoneTokens({ authUrl: 'http://keystone/v3', serviceHeaders: async () => ({ 'X-Auth-Token': 'svc' }), invalidateService: () => undefined, fetch: ks.fetch });
    assert.equal((await v.validate('projadmin')).isAdmin, false, 'admin of another project is a member there');
    assert.equal((await v.validate('cloud')).isAdmin, true);
    assert.equal((await v.validate('otherdomain')).isAdmin, false, 'a project named admin in another domain');
    assert.equal((await v.validate('member')).isAdmin, false, 'a member of the admin project');
    const custom = new KeystoneTokens({
      authUrl: 'http://keystone/v3', serviceHeaders: async () => ({}), invalidateService: () => undefined, fetch: ks.fetch,
      adminProject: { name: 'p9', domainName: 'Default', role: 'admin' },
    });
    assert.equal((await custom.validate('projadmin')).isAdmin, true, 'admin_project_name is configurable');
  });

  it('noauth: a caller without headers is a member of noauth_project_id; X-Roles admin counts only in the admin project', async () => {
    const h = await harness('sqlite::memory:', { auth: { kind: 'noauth', projectId: 'dev', userId: 'u' } });
    try {
      assert.equal((await call(h, 'GET', '/v1/hosts', {})).status, 403, 'no X-Roles: not an admin');
      seedWorkflow(h.neutron, 'dev');
      const c = await call(h, 'POST', '/v1/containers', { 'openstack-api-version': 'container 1.40' }, { image: 'kuryr/busybox' });
      assert.equal(c.status, 202, c.text);
      assert.equal(c.body.project_id, 'dev', 'the configured project');
      await h.containers.idle();
      assert.equal((await call(h, 'GET', '/v1/hosts', as('p1', 'admin'))).status, 403, 'admin role in project p1 (not the admin project)');
      assert.equal((await call(h, 'GET', '/v1/hosts', asAdmin('p1'))).status, 200, 'admin role in the project named admin');
      assert.equal((await call(h, 'GET', '/v1/containers?all_projects=1', as('p1', 'admin'))).status, 403);
    } finally {
      await h.close();
    }
  });

  it('zun.conf: noauth_project_id, noauth_roles, admin_project_name, token_cache_time, limits', () => {
    const c = buildZunConfig(parseIni('[DEFAULT]\nauth_strategy = noauth\nnoauth_project_id = demo\n', 'zun.conf'), {});
    assert.equal(c.noauthProjectId, 'demo');
    assert.deepEqual(c.noauthRoles, ['member']);
    assert.deepEqual(c.adminProject, { name: 'admin', domainName: 'Default', role: 'admin' });
    assert.equal(c.tokenCacheS, 5);
    assert.equal(c.api.maxBodyBytes, 114_688, "oslo.middleware's default");
    const d = buildZunConfig(
      parseIni(
        '[DEFAULT]\nadmin_project_name = cloud-admin\nadmin_project_domain_name = Ops\n[keystone_authtoken]\nauth_url = http://k/v3\ntoken_cache_time = 0\n[oslo_middleware]\nmax_request_body_size = 2048\n[api]\nmax_log_bytes = 10\nmax_exec_output_bytes = 20\n[docker]\nexec_timeout = 7\napi_timeout = 9\n',
        'zun.conf',
      ),
      {},
    );
    assert.deepEqual([d.adminProject.name, d.adminProject.domainName, d.tokenCacheS, d.api.maxBodyBytes, d.api.maxLogBytes, d.api.maxExecOutputBytes, d.docker.execTimeoutS, d.docker.apiTimeoutS], ['cloud-admin', 'Ops', 0, 2048, 10, 20, 7, 9]);
    assert.equal(d.keystoneAuthtoken.token_cache_time, undefined, 'not handed to the auth plugin');
    assert.throws(() => buildZunConfig(parseIni('[oslo_middleware]\nmax_request_body_size = 0\n', 'zun.conf'), {}), /max_request_body_size/);
  });
});

describe('the cross-project matrix', () => {
  it("another project gets 404 from every container and network endpoint, and does not see them in lists", async () => {
    const h = await harness();
    try {
      seedWorkflow(h.neutron);
      const net2 = h.neutron.add('networks', { name: 'net2', project_id: 'p1' });
      h.neutron.add('subnets', { network_id: net2.id, project_id: 'p1', ip_version: 4, cidr: '10.9.0.0/24', gateway_ip: '10.9.0.1' });
      const foo = await call(h, 'POST', '/v1/networks', as('p1'), { name: 'foo', neutron_net_id: 'testnet' });
      const c = await call(h, 'POST', '/v1/containers?run=true', as('p1'), { name: 'mine', image: 'kuryr/busybox', nets: [{ network: 'foo' }] });
      await h.containers.idle();
      const P2 = as('p2', 'admin,member'); // an admin of p2 only
      const u = c.body.uuid as string;
      const matrix: Array<['GET' | 'POST' | 'DELETE', string, unknown?]> = [
        ['GET', `/v1/containers/${u}`],
        ['GET', '/v1/containers/mine'],
        ['POST', `/v1/containers/${u}/start`],
        ['POST', `/v1/containers/${u}/stop`],
        ['GET', `/v1/containers/${u}/logs`],
        ['POST', `/v1/containers/${u}/execute`, { command: ['true'] }],
        ['POST', `/v1/containers/${u}/network_attach?network=${net2.id}`],
        ['POST', `/v1/containers/${u}/network_detach?network=testnet`],
        ['GET', `/v1/containers/${u}/network_list`],
        ['DELETE', `/v1/containers/${u}?stop=true`],
        ['GET', `/v1/networks/${foo.body.uuid}`],
        ['GET', '/v1/networks/foo'],
        ['DELETE', `/v1/networks/${foo.body.uuid}`],
      ];
      const before = h.docker.calls.length;
      for (const [method, url, body] of matrix) {
        const r = await call(h, method, url, P2, body);
        assert.equal(r.status, 404, `${method} ${url}: ${r.text}`);
      }
      assert.equal(h.docker.calls.length, before, 'nothing reached Docker');
      assert.deepEqual((await call(h, 'GET', '/v1/containers', P2)).body.containers, []);
      assert.deepEqual((await call(h, 'GET', '/v1/networks', P2)).body.networks, []);
      assert.equal((await call(h, 'GET', '/v1/containers?all_projects=1', P2)).status, 403, 'a project admin is not a cloud admin');
      assert.equal((await call(h, 'DELETE', `/v1/containers/${u}?force=true`, P2)).status, 403);
      assert.equal((await call(h, 'POST', '/v1/containers', P2, { image: 'kuryr/busybox', nets: [{ network: 'testnet' }] })).status, 404, "p1's private network");
      assert.equal((await call(h, 'GET', `/v1/containers/${u}`, as('p1'))).body.status, 'Running', 'untouched');
      assert.equal((await call(h, 'GET', '/v1/containers?all_projects=1', asAdmin('p9'))).body.containers.length, 1, 'the cloud admin sees it');
    } finally {
      await h.close();
    }
  });
});

describe('revoked tokens', () => {
  it('reads reuse a validation for token_cache_time at most; writes always ask Keystone', async () => {
    const ks = keystone({ demo: { project: 'p1', roles: ['member'] } });
    let now = 1_000_000;
    const validator = new KeystoneTokens({ authUrl: 'http://keystone/v3', serviceHeaders: async () => ({}), invalidateService: () => undefined, fetch: ks.fetch, cacheMs: 5_000, now: () => now });
    const h = await harness();
    const app = buildApi({ networks: h.networks, containers: h.containers, hosts: h.hostService, auth: { kind: 'keystone', validator } });
    try {
      const get = () => app.inject({ method: 'GET', url: '/v1/containers', headers: { 'x-auth-token': 'demo' } });
      const post = () => app.inject({ method: 'POST', url: '/v1/containers/nope/start', headers: { 'x-auth-token': 'demo' } });
      for (let i = 0; i < 10; i++) assert.equal((await get()).statusCode, 200);
      assert.equal(ks.calls(), 1, 'ten reads within the window: one validation');
      for (let i = 0; i < 3; i++) assert.equal((await post()).statusCode, 404, 'a write goes through (the container does not exist)');
      assert.equal(ks.calls(), 4, 'every write is validated afresh');
      ks.revoke('demo');
      assert.equal((await post()).statusCode, 401, 'a revoked token writes nothing, at once');
      // the failed validation also dropped the cached one: reads stop at once too
      assert.equal((await get()).statusCode, 401);
      now += 5_001;
      assert.equal((await get()).statusCode, 401);
    } finally {
      await app.close();
      await h.close();
    }
  });

  it('a cached read stops within token_cache_time when only reads are made', async () => {
    const ks = keystone({ demo: { project: 'p1', roles: ['member'] } });
    let now = 0;
    const v = new KeystoneTokens({ authUrl: 'http://keystone/v3', serviceHeaders: async () => ({}), invalidateService: () => undefined, fetch: ks.fetch, cacheMs: 5_000, now: () => now });
    await v.validate('demo');
    ks.revoke('demo');
    now += 4_000;
    assert.equal((await v.validate('demo')).projectId, 'p1', 'still cached');
    now += 1_001;
    await assert.rejects(v.validate('demo'), (e: { code?: string }) => e.code === 'ZUN_ERR_UNAUTHORIZED');
    const none = new KeystoneTokens({ authUrl: 'http://keystone/v3', serviceHeaders: async () => ({}), invalidateService: () => undefined, fetch: ks.fetch, cacheMs: 0 });
    await assert.rejects(none.validate('demo'));
  });
});

describe('writes are JSON from a client', () => {
  it('415 for a body that is not JSON (text/plain, a form), 403 for a browser cross-site write; requests without content need no Content-Type', async () => {
    const h = await harness();
    seedWorkflow(h.neutron);
    try {
      const P1 = as('p1');
      const send = (method: 'POST' | 'DELETE', url: string, headers: Record<string, string>, payload?: string) =>
        h.app.inject({ method, url, headers: { ...P1, ...headers }, ...(payload !== undefined ? { payload } : {}) });
      const plain = await send('POST', '/v1/containers', { 'content-type': 'text/plain' }, '{"image":"kuryr/busybox"}');
      assert.equal(plain.statusCode, 415);
      assert.equal((plain.json() as any).errors[0].code, 'ZUN_ERR_UNSUPPORTED_MEDIA_TYPE');
      // a request without content has no media type to check (python-zunclient's DELETE says application/octet-stream);
      // from a web page it is refused by its origin
      assert.equal((await send('POST', '/v1/containers/x/stop', { 'content-type': 'text/plain' }, '')).statusCode, 404, 'no content: the type is ignored');
      assert.equal((await send('POST', '/v1/containers/x/stop', { 'content-type': 'text/plain', origin: 'http://evil.example' }, '')).statusCode, 403, 'an empty form post from a page');
      assert.equal((await send('POST', '/v1/containers', { 'content-type': 'application/x-www-form-urlencoded' }, 'image=x')).statusCode, 415);
      assert.equal((await send('POST', '/v1/containers/x/start', {})).statusCode, 404, 'no body, no Content-Type: fine (404: no such container)');
      assert.equal((await send('DELETE', '/v1/containers/x', {})).statusCode, 404, 'delete --force sends no body');
      assert.equal((await send('DELETE', '/v1/containers/x', { 'content-type': 'application/json' }, '')).statusCode, 404);
      assert.equal((await send('POST', '/v1/containers', { 'content-type': 'application/json; charset=utf-8' }, '{"image":"kuryr/busybox"}')).statusCode, 202);
      await h.containers.idle();
      const cross = await send('POST', '/v1/containers/x/start', { origin: 'http://evil.example', host: 'zun.local:9517' });
      assert.equal(cross.statusCode, 403);
      assert.equal((cross.json() as any).errors[0].code, 'ZUN_ERR_CROSS_SITE');
      assert.equal((await send('POST', '/v1/containers/x/start', { 'sec-fetch-site': 'cross-site' })).statusCode, 403);
      assert.equal((await send('POST', '/v1/containers/x/start', { origin: 'http://zun.local:9517', host: 'zun.local:9517' })).statusCode, 404, 'same origin');
      assert.equal((await h.app.inject({ method: 'GET', url: '/v1/containers', headers: { ...P1, origin: 'http://evil.example' } })).statusCode, 200, 'reads are not writes');
    } finally {
      await h.close();
    }
  });

  it('a body over [oslo_middleware] max_request_body_size is 413, coded', async () => {
    const h = await harness('sqlite::memory:', { maxBodyBytes: 1000 });
    try {
      const r = await h.app.inject({ method: 'POST', url: '/v1/containers', headers: { ...as('p1'), 'content-type': 'application/json' }, payload: JSON.stringify({ image: 'x'.repeat(5000) }) });
      assert.equal(r.statusCode, 413);
      assert.equal((r.json() as any).errors[0].code, 'ZUN_ERR_REQUEST_TOO_LARGE');
      assert.match((r.json() as any).errors[0].detail, /larger than 1000 bytes/);
      // without Content-Length (chunked), fastify's own limit answers the same
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (h.app.server.address() as { port: number }).port;
      const body = new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(JSON.stringify({ image: 'x'.repeat(5000) })));
          c.close();
        },
      });
      const chunked = await fetch(`http://127.0.0.1:${port}/v1/containers`, { method: 'POST', headers: { ...as('p1'), 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
      assert.equal(chunked.status, 413);
      assert.equal(((await chunked.json()) as any).errors[0].code, 'ZUN_ERR_REQUEST_TOO_LARGE');
    } finally {
      await h.close();
    }
  });
});

describe('nets: fixed IPs and ports within the caller\'s rights', () => {
  async function setup() {
    const h = await harness();
    const own = seedWorkflow(h.neutron);
    const shared = h.neutron.add('networks', { name: 'public-shared', project_id: 'p2', shared: true });
    const sharedSubnet = h.neutron.add('subnets', { network_id: shared.id, project_id: 'p2', ip_version: 4, cidr: '10.50.0.0/24', gateway_ip: '10.50.0.1' });
    return { h, own, shared, sharedSubnet };
  }

  it('a fixed IP only on a network of the caller\'s project (403 on a shared one); an admin may', async () => {
    const { h, shared } = await setup();
    try {
      const create = (nets: unknown, headers = as('p1')) => call(h, 'POST', '/v1/containers', headers, { image: 'kuryr/busybox', nets });
      const refused = await create([{ network: shared.id, 'v4-fixed-ip': '10.50.0.1' }]);
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.body.errors[0].code, 'ZUN_ERR_FIXED_IP_NOT_ALLOWED');
      assert.equal(h.neutron.ports.length, 0, 'nothing made');
      assert.equal((await create([{ network: shared.id }])).status, 202, 'the shared network itself is usable');
      assert.equal((await create([{ network: 'testnet', 'v4-fixed-ip': '10.2.0.77' }])).status, 202, 'its own network');
      assert.equal((await create([{ network: shared.id, 'v4-fixed-ip': '10.50.0.99' }], asAdmin('p1'))).status, 202, 'an admin');
      await h.containers.idle();
      assert.equal((await create([{ network: 'nothere', 'v4-fixed-ip': '10.50.0.9' }])).status, 404);
    } finally {
      await h.close();
    }
  });

  it('network_attach with a fixed IP on a shared network is 403 too', async () => {
    const { h, shared } = await setup();
    try {
      const c = await call(h, 'POST', '/v1/containers?run=true', as('p1'), { image: 'kuryr/busybox', nets: [{ network: 'testnet' }] });
      await h.containers.idle();
      const r = await call(h, 'POST', `/v1/containers/${c.body.uuid}/network_attach?network=${shared.id}&fixed_ip=10.50.0.1`, as('p1'));
      assert.equal(r.status, 403);
      assert.equal(h.neutron.ports.filter((p) => p.network_id === shared.id).length, 0);
    } finally {
      await h.close();
    }
  });

  it('a Zun network whose Neutron network is no longer visible to the caller is not usable (404); its fixed IPs follow the owner rule', async () => {
    const { h, shared } = await setup();
    try {
      const wrap = await call(h, 'POST', '/v1/networks', as('p1'), { name: 'wrapped', neutron_net_id: shared.id });
      assert.equal(wrap.status, 200, wrap.text);
      const fixed = await call(h, 'POST', '/v1/containers', as('p1'), { image: 'kuryr/busybox', nets: [{ network: 'wrapped', 'v4-fixed-ip': '10.50.0.1' }] });
      assert.equal(fixed.status, 403, 'wrapping a shared network does not give its addresses');
      shared.shared = false;
      const gone = await call(h, 'POST', '/v1/containers', as('p1'), { image: 'kuryr/busybox', nets: [{ network: 'wrapped' }] });
      assert.equal(gone.status, 404, gone.text);
    } finally {
      await h.close();
    }
  });

  it('a port only of the caller\'s project, by id or name', async () => {
    const { h, shared } = await setup();
    try {
      const theirs = h.neutron.add('ports', { name: 'theirs', network_id: shared.id, project_id: 'p2', fixed_ips: [] });
      assert.equal((await call(h, 'POST', '/v1/containers', as('p1'), { image: 'kuryr/busybox', nets: [{ port: theirs.id }] })).body.errors[0].code, 'ZUN_ERR_PORT_NOT_USABLE');
      assert.equal((await call(h, 'POST', '/v1/containers', as('p1'), { image: 'kuryr/busybox', nets: [{ port: 'theirs' }] })).status, 404, 'invisible by name');
      assert.equal(theirs.device_id, '', 'untouched');
    } finally {
      await h.close();
    }
  });
});

describe('limits', () => {
  it('logs keep their end and exec output its start, marked, past the configured size', async () => {
    const h = await harness('sqlite::memory:', { settings: { maxLogBytes: 100, maxExecOutputBytes: 50 } });
    try {
      seedWorkflow(h.neutron);
      const c = await call(h, 'POST', '/v1/containers?run=true', as('p1'), { image: 'kuryr/busybox', nets: [{ network: 'testnet' }] });
      await h.containers.idle();
      h.docker.output = `${'a'.repeat(400)}${'z'.repeat(100)}`;
      const logs = (await call(h, 'GET', `/v1/containers/${c.body.uuid}/logs`, as('p1'))).body as unknown as string;
      assert.match(logs, /^\[output truncated by zun-api: only the last 100 bytes are shown \(\[api\] max_log_bytes\)\]\n/);
      assert.equal(logs.split('\n')[1], 'z'.repeat(100), 'the end of the log, nothing before it');
      const exec = (await call(h, 'POST', `/v1/containers/${c.body.uuid}/execute`, as('p1'), { command: ['cat', 'big'] })).body;
      assert.equal(exec.exit_code, 0);
      assert.ok(exec.output.startsWith('a'.repeat(50) + '\n[output truncated by zun-api: only the first 50 bytes are shown ([api] max_exec_output_bytes)]'), exec.output);
      h.docker.output = 'short\n';
      assert.equal((await call(h, 'GET', `/v1/containers/${c.body.uuid}/logs`, as('p1'))).body as unknown as string, 'short\n', 'under the limit: untouched');
    } finally {
      await h.close();
    }
  });

  it('placement holds no lock while a host is pinged: a hung host does not stall a create elsewhere', async () => {
    const h = await harness('sqlite::memory:', { hosts: ['h1', 'h2'] });
    try {
      seedWorkflow(h.neutron);
      await h.hosts.check();
      let release!: () => void;
      h.dockers.get('h1')!.gates.set('ping', new Promise<void>((r) => (release = r)));
      const stuck = call(h, 'POST', '/v1/containers', as('p1'), { image: 'kuryr/busybox', nets: [{ network: 'testnet' }] });
      await new Promise((r) => setTimeout(r, 10));
      const elsewhere = await call(h, 'POST', '/v1/containers', asAdmin('p1'), { image: 'kuryr/busybox', nets: [{ network: 'testnet' }], host: 'h2' });
      assert.equal(elsewhere.status, 202, 'placed on h2 while h1 hangs');
      release();
      assert.equal((await stuck).status, 202);
      await h.containers.idle();
    } finally {
      await h.close();
    }
  });
});

describe('Neutron answers that are not JSON', () => {
  it('is a clear Neutron error (503, InvalidResponse), not "authentication failed"', async () => {
    const html = async (): Promise<Response> => new Response('<html><body>Proxy error</body></html>', { status: 200, headers: { 'content-type': 'text/html' } });
    const client = new NeutronClient(new NoAuth('http://127.0.0.1:9696', html), { timeoutMs: 1000, attempts: 1, stats: new OpStats() });
    const err = await client.list('networks').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof NeutronError);
    assert.equal(err.kind, 'unavailable');
    assert.match(err.message, /InvalidResponse: the answer is not JSON \(text\/html; it starts with "<html><body>Proxy error/);
    const rest = new NeutronRest(new NoAuth('http://127.0.0.1:9696', html), 1000, 1);
    await assert.rejects(rest.list('networks'), (e: Error) => /not JSON/.test(e.message) && !/authentication/.test(e.message));
  });
});
