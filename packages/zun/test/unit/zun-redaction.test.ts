/**
 * Secrets never reach a log line or an answer: URL passwords (with ':' '/'
 * '@' in them), password/secret/token pairs, Keystone tokens, the
 * configuration's own secrets (passwords, application credential secrets, the
 * database password) — at start-up, when the database cannot be opened, in
 * request and error logs, in error answers and in a container's
 * status_reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { NeutronError } from '@kuryr-ts/openstack/errors';
import { KeystoneTokens } from '../../src/adapters/keystone-tokens.js';
import { errorAnswer } from '../../src/api/errors.js';
import { openDatabase } from '../../src/db/kysely-store.js';
import { Redactor, redactUrl, secretValues, urlPassword } from '../../src/lib/redact.js';
import { secretsOf, zunLogger } from '../../src/main/logging.js';
import { buildZunApp } from '../../src/main/zun-api.js';
import { buildZunConfig } from '../../src/main/zun-config.js';
import { as, harness, seedWorkflow } from '../fakes.js';

const TOKEN = 'gAAAAABnX2V4YW1wbGUtdG9rZW4tMTIzNDU2Nzg5MGFiY2RlZg';
const SECRETS = ['pa:ss', 'N3utr0n-pw', 'AppCr3d-S3cret/+=', 'Keyst0ne-pw', TOKEN];

function assertClean(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} shows ${s}: ${text}`);
  assert.doesNotMatch(text, /:ss@|pa%3Ass/, `${where}: part of the database password`);
}

const CONF = `[DEFAULT]
host = h1
[database]
connection = postgresql+psycopg2://zun:pa:ss@127.0.0.1:1/zun
[docker]
socket = /nonexistent/docker.sock
[neutron]
auth_type = v3applicationcredential
auth_url = http://127.0.0.1:1/v3
application_credential_id = 0123abcd
application_credential_secret = AppCr3d-S3cret/+=
[keystone_authtoken]
auth_type = password
auth_url = http://127.0.0.1:1/v3
username = zun
password = Keyst0ne-pw
project_name = service
user_domain_name = Default
project_domain_name = Default
`;

describe('redaction', () => {
  it('URLs: the whole password, whatever it holds; secret query parameters', () => {
    assert.equal(redactUrl('postgresql+psycopg2://user:pa:ss@host/db'), 'postgresql+psycopg2://user:***@host/db');
    assert.equal(redactUrl('postgresql://u:p/w@rd@10.0.0.1:5432/zun?sslmode=require&password=x'), 'postgresql://u:***@10.0.0.1:5432/zun?sslmode=require&password=***');
    assert.equal(redactUrl('sqlite:////var/lib/zun/zun.sqlite'), 'sqlite:////var/lib/zun/zun.sqlite');
    assert.equal(redactUrl('postgresql://zun@db/zun'), 'postgresql://zun@db/zun', 'no password: unchanged');
    assert.equal(urlPassword('postgresql+psycopg2://user:pa:ss@host/db'), 'pa:ss');
    assert.equal(urlPassword('postgresql://user@host/db'), undefined);
  });

  it('texts: known secrets in every encoding, key=value pairs, JSON pairs, Fernet tokens, URLs', () => {
    const r = new Redactor(['pa:ss', 'AppCr3d-S3cret/+=', 'abc']);
    const text = [
      'db postgresql+psycopg2://user:pa:ss@host/db down',
      'encoded pa%3Ass and AppCr3d-S3cret%2F%2B%3D',
      'json {"password": "hunter2", "application_credential_secret":"AppCr3d-S3cret/+="}',
      'escaped {\\"password\\":\\"hunter2\\"}',
      `header X-Auth-Token: ${TOKEN}`,
      'conf password = hunter2',
      'keep token_cache_time = 5 and "abc" is too short to hide',
    ].join('\n');
    const out = r.text(text);
    for (const s of ['pa:ss', 'pa%3Ass', 'AppCr3d', 'hunter2', TOKEN]) assert.ok(!out.includes(s), `${s} in ${out}`);
    assert.match(out, /token_cache_time = 5/, 'numbers of non-secret options stay readable');
    assert.match(out, /"abc"/);
    assert.deepEqual(secretValues({ password: 'x1', username: 'u', application_credential_secret: 's', token: '' }), ['x1', 's']);
  });

  it('start-up: the configuration line and a database that cannot be opened show no secret', async () => {
    const lines: string[] = [];
    const config = buildZunConfig(parseIni(CONF, 'zun.conf'), {});
    const log = zunLogger({ level: 'debug', redactor: new Redactor(secretsOf(config)), write: (l) => lines.push(l) });
    const err = await buildZunApp(config, log).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err, 'the database at 127.0.0.1:1 refuses');
    assertClean(err.message, 'the start-up error');
    assert.match(err.message, /postgresql\+psycopg2:\/\/zun:\*\*\*@127\.0\.0\.1:1\/zun/);
    const startup = lines.find((l) => l.includes('zun-api configuration'))!;
    assert.ok(startup);
    assertClean(startup, 'the configuration line');
    assert.match(startup, /"database":"postgresql\+psycopg2:\/\/zun:\*\*\*@127\.0\.0\.1:1\/zun"/);
    // whatever else is logged with those secrets in it
    log.error({ err: new Error(`connect to postgresql://zun:pa:ss@db failed with ${TOKEN}`), headers: { 'x-auth-token': TOKEN }, conf: { password: 'N3utr0n-pw' } }, 'boom AppCr3d-S3cret/+= Keyst0ne-pw');
    assertClean(lines.at(-1)!, 'an error line');
    assert.ok(secretsOf(config).includes('AppCr3d-S3cret/+='));
    assert.ok(secretsOf(config).includes('Keyst0ne-pw'));
    assert.ok(secretsOf(config).includes('pa:ss'));
  });

  it('an unknown database URL is refused without its password', async () => {
    const err = await openDatabase('mysql://zun:pa:ss@db/zun').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err);
    assertClean(err.message, 'the error');
  });

  it('error answers: secrets in a cause are hidden; a 500 shows no internal text', () => {
    const neutron = new NeutronError('GET', '/v2.0/ports', undefined, undefined, 'ECONNREFUSED (http://admin:N3utr0n-pw@neutron:9696)');
    const a = errorAnswer(neutron, 'req-1', new Redactor(['N3utr0n-pw']));
    assert.equal(a.status, 503);
    assertClean(a.body.errors[0]!.detail, 'a Neutron error');
    const b = errorAnswer(new Error('SQLITE_CONSTRAINT: UNIQUE constraint failed: x password=hunter2'), 'req-2');
    assert.equal(b.status, 500);
    assert.doesNotMatch(b.body.errors[0]!.detail, /SQLITE|hunter2|constraint/);
    assert.match(b.body.errors[0]!.detail, /req-2/);
  });

  it('token validation: no answer or error carries the caller\'s token', async () => {
    const down = new KeystoneTokens({
      authUrl: 'http://keystone/v3',
      serviceHeaders: async () => ({}),
      invalidateService: () => undefined,
      fetch: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    const e1 = await down.validate(TOKEN).then(() => undefined, (e: unknown) => e as Error);
    assertClean(e1!.message, 'Keystone down');
    const h = await harness('sqlite::memory:', { auth: { kind: 'keystone', validator: down } });
    try {
      const r = await h.app.inject({ method: 'GET', url: '/v1/containers', headers: { 'x-auth-token': TOKEN } });
      assert.equal(r.statusCode, 503);
      assertClean(r.body, 'the 503 answer');
    } finally {
      await h.close();
    }
  });

  it('request logs and 5xx error logs of the HTTP edge go through the same redaction', async () => {
    const lines: string[] = [];
    const log = zunLogger({ level: 'info', redactor: new Redactor(['N3utr0n-pw']), write: (l) => lines.push(l) });
    const h = await harness();
    const { buildApi } = await import('../../src/api/server.js');
    const app = buildApi({ networks: h.networks, containers: h.containers, hosts: h.hostService, auth: { kind: 'noauth', projectId: 'p1', userId: 'u1' }, logger: log });
    try {
      seedWorkflow(h.neutron);
      h.neutron.failNext(/GET networks/, new NeutronError('GET', '/v2.0/networks', undefined, undefined, 'ECONNREFUSED (http://admin:N3utr0n-pw@neutron:9696)'));
      const r = await app.inject({ method: 'POST', url: '/v1/containers?password=hunter2', headers: as('p1'), payload: { image: 'kuryr/busybox', nets: [{ network: 'testnet' }] } });
      assert.equal(r.statusCode, 503);
      assertClean(r.body, 'the answer');
      const all = lines.join('');
      assert.ok(lines.length > 0);
      assertClean(all, 'the request log');
      assert.ok(!all.includes('hunter2'), 'a secret in a query string');
    } finally {
      await app.close();
      await h.close();
    }
  });

  it("a container's status_reason hides URL passwords", async () => {
    const h = await harness();
    try {
      seedWorkflow(h.neutron);
      h.neutron.failNext(/POST ports/, new NeutronError('POST', '/v2.0/ports', undefined, undefined, 'ECONNRESET (http://admin:N3utr0n-pw@neutron:9696)'));
      const c = await h.app.inject({ method: 'POST', url: '/v1/containers', headers: as('p1'), payload: { image: 'kuryr/busybox', nets: [{ network: 'testnet' }] } });
      await h.containers.idle();
      const show = await h.app.inject({ method: 'GET', url: `/v1/containers/${(c.json() as { uuid: string }).uuid}`, headers: as('p1') });
      assert.match(show.body, /"status":"Error"/);
      assertClean(show.body, 'status_reason');
    } finally {
      await h.close();
    }
  });
});
