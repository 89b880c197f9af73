/** Keystone token validation (over a fake Keystone fetch), the noauth/keystone edge, and zun.conf parsing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { KeystoneTokens } from '../../src/adapters/keystone-tokens.js';
import { buildApi } from '../../src/api/server.js';
import { buildZunConfig } from '../../src/main/zun-config.js';
import { harness } from '../fakes.js';

function fakeKeystone(tokens: Record<string, { project: string; roles: string[]; projectName?: string }>, opts: { cacheMs?: number; now?: () => number } = {}) {
  const calls: Array<{ subject: string; service: string }> = [];
  let serviceToken = 'svc-1';
  const fetch = async (_url: string, init: RequestInit): Promise<Response> => {
    const h = init.headers as Record<string, string>;
    calls.push({ subject: h['X-Subject-Token']!, service: h['X-Auth-Token']! });
    if (h['X-Auth-Token'] !== serviceToken) return new Response('{}', { status: 401 });
    const t = tokens[h['X-Subject-Token']!];
    if (!t) return new Response('{"error":{"code":404}}', { status: 404 });
    const project = { id: t.project, name: t.projectName ?? t.project, domain: { id: 'default', name: 'Default' } };
    return Response.json({ token: { expires_at: '2099-01-01T00:00:00Z', user: { id: `u-${t.project}` }, project, roles: t.roles.map((name) => ({ name })) } });
  };
  let current = 'svc-1';
  return {
    calls,
    rotate: () => {
      serviceToken = 'svc-2';
    },
    validator: new KeystoneTokens({
      authUrl: 'http://keystone/v3',
      serviceHeaders: async () => ({ 'X-Auth-Token': current }),
      invalidateService: () => {
        current = 'svc-2';
      },
      fetch,
      ...opts,
    }),
  };
}

describe('zun auth', () => {
  it('validates a token with Keystone, caches it, maps roles to admin', async () => {
    const ks = fakeKeystone({ good: { project: 'p1', roles: ['member'] }, boss: { project: 'p9', projectName: 'admin', roles: ['admin', 'member'] } });
    assert.deepEqual(await ks.validator.validate('good'), { projectId: 'p1', userId: 'u-p1', roles: ['member'], isAdmin: false });
    await ks.validator.validate('good');
    assert.equal(ks.calls.length, 1, 'cached');
    assert.equal((await ks.validator.validate('boss')).isAdmin, true);
    await assert.rejects(ks.validator.validate('bad'), (e: { kind?: string; code?: string }) => e.kind === 'unauthorized' && e.code === 'ZUN_ERR_UNAUTHORIZED');
  });

  it('re-authenticates the service once when its own token is refused', async () => {
    const ks = fakeKeystone({ good: { project: 'p1', roles: [] } });
    ks.rotate();
    assert.equal((await ks.validator.validate('good')).projectId, 'p1');
    assert.deepEqual(ks.calls.map((c) => c.service), ['svc-1', 'svc-2']);
  });

  it('keystone mode: no token → 401, a valid token → the caller\'s project only', async () => {
    const h = await harness();
    const ks = fakeKeystone({ demo: { project: 'p1', roles: ['member'] } });
    const app = buildApi({ networks: h.networks, containers: h.containers, hosts: h.hostService, auth: { kind: 'keystone', validator: ks.validator } });
    try {
      const none = await app.inject({ method: 'GET', url: '/v1/containers' });
      assert.equal(none.statusCode, 401);
      assert.equal((none.json() as { errors: Array<{ title: string }> }).errors[0]!.title, 'The request you have made requires authentication.');
      assert.equal((await app.inject({ method: 'GET', url: '/v1/containers', headers: { 'x-auth-token': 'nope' } })).statusCode, 401);
      assert.equal((await app.inject({ method: 'GET', url: '/v1/containers', headers: { 'x-auth-token': 'demo' } })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/v1/containers?all_projects=1', headers: { 'x-auth-token': 'demo' } })).statusCode, 403);
      assert.equal((await app.inject({ method: 'GET', url: '/v1/openapi.json' })).statusCode, 200, 'the API description is public');
    } finally {
      await app.close();
      await h.close();
    }
  });

  it('reads zun.conf with defaults and refuses bad values', () => {
    const c = buildZunConfig(parseIni('[DEFAULT]\nhost = h1\n[neutron]\nauth_type = none\nendpoint_override = http://n:9696\n', 'zun.conf'), {});
    assert.equal(c.authStrategy, 'keystone', 'Keystone unless noauth is asked for');
    assert.equal(c.api.port, 9517);
    assert.equal(c.api.hostIp, '127.0.0.1');
    assert.equal(c.network.sandboxImage, 'kuryr/pause:latest');
    assert.match(c.database, /^sqlite:/);
    assert.deepEqual(c.keystoneAuthtoken, c.neutron);
    assert.throws(() => buildZunConfig(parseIni('[DEFAULT]\nauth_strategy = magic\n', 'zun.conf'), {}), /auth_strategy/);
    assert.throws(() => buildZunConfig(parseIni('[api]\nport = 99999\n', 'zun.conf'), {}), /port/);
    assert.equal(buildZunConfig(parseIni('', 'zun.conf'), { ZUN_DATABASE_URL: 'postgresql://x@y/z' }).database, 'postgresql://x@y/z');
  });
});
