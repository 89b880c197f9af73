/**
 * Keystone v3 auth of the Neutron client against an in-process fake Keystone +
 * Neutron (node:http on 127.0.0.1:0): password, application credential and
 * token methods, catalog selection, endpoint_override, token caching, expiry,
 * re-auth on 401, single-flight, secrets kept out of errors, TLS (CA file,
 * insecure), and where the credentials come from (kuryr.conf, clouds.yaml,
 * OS_* variables).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { neutronAuthFrom, resolveAuthSource } from '@kuryr-ts/openstack/keystone/auth-sources';
import { KeystoneAuth, KeystoneError, type KeystoneAuthOptions } from '@kuryr-ts/openstack/keystone/keystone-auth';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import type { NeutronAuth } from '@kuryr-ts/openstack/keystone/auth';
import { buildConfig } from '../../src/config/kuryr-config.js';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { NeutronError } from '@kuryr-ts/openstack/errors';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { NeutronProbe } from '../../src/main/neutron-probe.js';

const PASSWORD = 'pa55-w0rd-TOP';
const APP_SECRET = 'app-cred-SECRET-42';

interface Issued {
  expiresAt: number;
  user: string;
  scope: unknown;
}

/** Fake Keystone (/identity/v3) + Neutron (/<interface>-<region>/v2.0) on one port. */
class FakeCloud {
  readonly tokens = new Map<string, Issued>();
  readonly authBodies: Array<{ auth: { identity: Record<string, unknown>; scope?: unknown } }> = [];
  neutronCalls = 0;
  /** Lifetime of the tokens Keystone issues. */
  ttlMs = 3600_000;
  /** Delay of every Keystone answer (single-flight test). */
  authDelayMs = 0;
  /** Neutron answers 401 to every request (the token keeps being refused). */
  neutronRejectsAll = false;
  /** Keystone's 401 message echoes the secret it got (redaction test). */
  echoSecrets = false;
  readonly server: Server;
  readonly scheme: string;
  base = '';

  constructor(tls?: HttpsServer) {
    this.server = (tls ?? createServer()) as Server;
    this.scheme = tls ? 'https' : 'http';
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `${this.scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  get authUrl(): string {
    return `${this.base}/identity`;
  }

  catalog(): unknown {
    const ep = (iface: string, region: string) => ({ interface: iface, region_id: region, region, url: `${this.base}/${iface}-${region}` });
    return [
      { type: 'identity', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: `${this.base}/identity` }] },
      {
        type: 'network',
        name: 'neutron',
        endpoints: [ep('public', 'RegionOne'), ep('internal', 'RegionOne'), ep('admin', 'RegionOne'), ep('public', 'RegionTwo')],
      },
    ];
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', this.base);
    if (url.pathname === '/identity/v3/auth/tokens' && req.method === 'POST') {
      if (this.authDelayMs) await new Promise((r) => setTimeout(r, this.authDelayMs));
      const body = JSON.parse(text) as FakeCloud['authBodies'][number];
      this.authBodies.push(body);
      const id = body.auth.identity as {
        methods: string[];
        password?: { user: { name?: string; id?: string; password: string; domain?: unknown } };
        application_credential?: { id?: string; name?: string; secret: string };
        token?: { id: string };
      };
      let user: string | undefined;
      if (id.methods[0] === 'password' && id.password?.user.password === PASSWORD) user = id.password.user.name ?? id.password.user.id;
      if (id.methods[0] === 'application_credential' && id.application_credential?.secret === APP_SECRET) user = 'kuryr';
      if (id.methods[0] === 'token' && id.token && this.valid(id.token.id)) user = this.tokens.get(id.token.id)!.user;
      if (!user) {
        const got = id.password?.user.password ?? id.application_credential?.secret ?? id.token?.id;
        const message = `The request you have made requires authentication.${this.echoSecrets ? ` (got ${got})` : ''}`;
        return send(401, { error: { code: 401, title: 'Unauthorized', message } });
      }
      const token = `tok-${randomUUID()}`;
      const expiresAt = Date.now() + this.ttlMs;
      this.tokens.set(token, { expiresAt, user, scope: body.auth.scope });
      const unscoped = id.methods[0] !== 'application_credential' && !body.auth.scope;
      return send(
        201,
        { token: { expires_at: new Date(expiresAt).toISOString().replace('Z', '000Z'), ...(unscoped ? {} : { catalog: this.catalog() }) } },
        { 'X-Subject-Token': token },
      );
    }
    const m = /^\/([a-z]+-Region[A-Za-z]+)\/v2\.0\/networks$/.exec(url.pathname);
    if (m) {
      this.neutronCalls++;
      const token = String(req.headers['x-auth-token'] ?? '');
      if (this.neutronRejectsAll || !this.valid(token)) return send(401, { error: { message: 'Authentication required' } });
      return send(200, { networks: [{ id: 'net-1', name: m[1] }] });
    }
    send(404, { NeutronError: { type: 'NotFound', message: `no route ${url.pathname}` } });
  }

  valid(token: string): boolean {
    const t = this.tokens.get(token);
    return !!t && t.expiresAt > Date.now();
  }
}

const passwordOpts = (cloud: FakeCloud, extra: Partial<KeystoneAuthOptions> = {}): KeystoneAuthOptions => ({
  authUrl: cloud.authUrl,
  method: { kind: 'password', user: { name: 'kuryr', domain: { name: 'Default' } }, password: PASSWORD },
  scope: { project: { name: 'service', domain: { name: 'Default' } } },
  ...extra,
});

const client = (auth: NeutronAuth) => new NeutronClient(auth, { timeoutMs: 5000, attempts: 2, stats: new OpStats(), sleep: async () => {} });
/** Which catalog endpoint the request went to (the fake Neutron names its network after it). */
const endpointUsed = async (auth: NeutronAuth): Promise<string | undefined> => (await client(auth).list('networks'))[0]?.name;

describe('Keystone v3 auth (fake Keystone + Neutron)', () => {
  const cloud = new FakeCloud();
  before(() => cloud.start());
  after(() => cloud.stop());

  it('password, project scope: token in X-Auth-Token, Neutron from the catalog (public by default)', async () => {
    const auth = new KeystoneAuth(passwordOpts(cloud));
    assert.equal(await endpointUsed(auth), 'public-RegionOne');
    const body = cloud.authBodies.at(-1)!;
    assert.deepEqual(body.auth.identity, {
      methods: ['password'],
      password: { user: { name: 'kuryr', domain: { name: 'Default' }, password: PASSWORD } },
    });
    assert.deepEqual(body.auth.scope, { project: { name: 'service', domain: { name: 'Default' } } });
    assert.match((await auth.headers())['X-Auth-Token']!, /^tok-/);
  });

  it('application credential by id (no scope sent) and by name + user', async () => {
    const byId = new KeystoneAuth({ authUrl: cloud.authUrl, method: { kind: 'application_credential', id: 'ac-1', secret: APP_SECRET } });
    assert.equal(await endpointUsed(byId), 'public-RegionOne');
    assert.deepEqual(cloud.authBodies.at(-1)!.auth, {
      identity: { methods: ['application_credential'], application_credential: { id: 'ac-1', secret: APP_SECRET } },
    });
    const byName = new KeystoneAuth({
      authUrl: cloud.authUrl,
      method: { kind: 'application_credential', name: 'kuryr-cred', user: { name: 'kuryr', domain: { id: 'default' } }, secret: APP_SECRET },
    });
    assert.equal(await endpointUsed(byName), 'public-RegionOne');
    assert.deepEqual(cloud.authBodies.at(-1)!.auth.identity.application_credential, {
      name: 'kuryr-cred',
      user: { name: 'kuryr', domain: { id: 'default' } },
      secret: APP_SECRET,
    });
  });

  it('token method: a token is exchanged for a scoped one', async () => {
    const first = new KeystoneAuth(passwordOpts(cloud));
    const token = (await first.headers())['X-Auth-Token']!;
    const auth = new KeystoneAuth({ authUrl: `${cloud.authUrl}/v3/`, method: { kind: 'token', token }, scope: { project: { id: 'p-1' } } });
    assert.equal(await endpointUsed(auth), 'public-RegionOne');
    assert.deepEqual(cloud.authBodies.at(-1)!.auth, { identity: { methods: ['token'], token: { id: token } }, scope: { project: { id: 'p-1' } } });
    assert.notEqual((await auth.headers())['X-Auth-Token'], token);
  });

  it('picks the catalog endpoint by interface (also publicURL/internalURL/adminURL) and region', async () => {
    const via = (extra: Partial<KeystoneAuthOptions>) => endpointUsed(new KeystoneAuth(passwordOpts(cloud, extra)));
    assert.equal(await via({ interface: 'internal' }), 'internal-RegionOne');
    assert.equal(await via({ interface: 'admin', regionName: 'RegionOne' }), 'admin-RegionOne');
    assert.equal(await via({ regionName: 'RegionTwo' }), 'public-RegionTwo');
    const err = await via({ interface: 'internal', regionName: 'RegionTwo' }).catch((e: unknown) => e);
    assert.ok(err instanceof KeystoneError);
    assert.equal(err.code, 'KURYR_ERR_KEYSTONE_CATALOG');
    assert.match(err.message, /no "network" endpoint for interface internal in region RegionTwo \(catalog has: public\/RegionOne, internal\/RegionOne/);
    const { auth } = neutronAuthFrom(
      { auth_url: cloud.authUrl, username: 'kuryr', password: PASSWORD, project_name: 'service', endpoint_type: 'internalURL' },
      { env: {} },
    );
    assert.equal(await endpointUsed(auth), 'internal-RegionOne');
  });

  it('endpoint_override wins over the catalog; an unscoped token without it is a clear error', async () => {
    const auth = new KeystoneAuth(passwordOpts(cloud, { endpointOverride: `${cloud.base}/admin-RegionOne/`, regionName: 'RegionTwo' }));
    assert.equal(await endpointUsed(auth), 'admin-RegionOne');
    const unscoped = new KeystoneAuth(passwordOpts(cloud, { scope: undefined }));
    await assert.rejects(endpointUsed(unscoped), /the token has no service catalog/);
  });

  it('reuses the token until shortly before expires_at, then re-authenticates', async () => {
    let offset = 0;
    const auth = new KeystoneAuth(passwordOpts(cloud, { now: () => Date.now() + offset }));
    const c = client(auth);
    for (let i = 0; i < 5; i++) await c.list('networks');
    assert.equal(auth.authCount, 1, 'one token for five calls');
    offset = 3600_000 - 150_000; // 2.5 min before expiry: still good
    await c.list('networks');
    assert.equal(auth.authCount, 1);
    offset = 3600_000 - 60_000; // within the 120 s margin: renewed before Neutron refuses it
    const calls = cloud.neutronCalls;
    await c.list('networks');
    assert.equal(auth.authCount, 2);
    assert.equal(cloud.neutronCalls - calls, 1, 'no 401 round trip');
  });

  it('short-lived tokens are renewed at half their life', async () => {
    cloud.ttlMs = 2000;
    try {
      let offset = 0;
      const auth = new KeystoneAuth(passwordOpts(cloud, { now: () => Date.now() + offset }));
      await endpointUsed(auth);
      offset = 500;
      await endpointUsed(auth);
      assert.equal(auth.authCount, 1);
      offset = 1200;
      await endpointUsed(auth);
      assert.equal(auth.authCount, 2);
    } finally {
      cloud.ttlMs = 3600_000;
    }
  });

  it('re-authenticates once on a 401 (revoked token) and succeeds', async () => {
    const auth = new KeystoneAuth(passwordOpts(cloud));
    const c = client(auth);
    await c.list('networks');
    cloud.tokens.delete((await auth.headers())['X-Auth-Token']!); // revoked behind our back
    const calls = cloud.neutronCalls;
    assert.equal((await c.list('networks'))[0]?.name, 'public-RegionOne');
    assert.equal(auth.authCount, 2);
    assert.equal(cloud.neutronCalls - calls, 2, 'the 401, then the retry with the new token');
  });

  it('a Neutron that keeps answering 401 gets exactly one retry, and the error names Neutron and 401', async () => {
    const auth = new KeystoneAuth(passwordOpts(cloud));
    const c = client(auth);
    await c.list('networks');
    cloud.neutronRejectsAll = true;
    try {
      const calls = cloud.neutronCalls;
      const err = await c.list('networks').catch((e: unknown) => e);
      assert.ok(err instanceof NeutronError);
      assert.equal(err.status, 401);
      assert.equal(cloud.neutronCalls - calls, 2);
      assert.equal(auth.authCount, 2);
      assert.ok(!err.message.includes((await auth.headers())['X-Auth-Token']!));
    } finally {
      cloud.neutronRejectsAll = false;
    }
  });

  it('concurrent callers share one in-flight authentication', async () => {
    cloud.authDelayMs = 150;
    try {
      const auth = new KeystoneAuth(passwordOpts(cloud));
      const c = client(auth);
      const results = await Promise.all(Array.from({ length: 10 }, () => c.list('networks')));
      assert.equal(results.length, 10);
      assert.equal(auth.authCount, 1);
      auth.invalidate();
      await Promise.all([auth.headers(), auth.headers(), auth.endpoint()]);
      assert.equal(auth.authCount, 2);
    } finally {
      cloud.authDelayMs = 0;
    }
  });

  it('a wrong password: a clear error naming Keystone and the status, no secret in it; a failed auth is retried next time', async () => {
    cloud.echoSecrets = true;
    try {
      const auth = new KeystoneAuth(passwordOpts(cloud, { method: { kind: 'password', user: { name: 'kuryr', domain: { id: 'default' } }, password: `${PASSWORD}x` } }));
      const err = await client(auth).list('networks').catch((e: unknown) => e);
      assert.ok(err instanceof KeystoneError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'KURYR_ERR_KEYSTONE_401');
      assert.match(err.message, /^Keystone authentication \(POST http:\/\/127\.0\.0\.1:\d+\/identity\/v3\/auth\/tokens\) failed: 401 Unauthorized: The request you have made requires authentication/);
      assert.ok(!err.message.includes(`${PASSWORD}x`), err.message);
      assert.match(err.message, /\(got \*\*\*\)/, 'what Keystone echoed is redacted');
      await assert.rejects(auth.headers(), KeystoneError);
      assert.equal(auth.authCount, 2, 'a failure is not cached');
      const bad = new KeystoneAuth({ authUrl: cloud.authUrl, method: { kind: 'application_credential', id: 'x', secret: 'wrong-secret' } });
      const e2 = await bad.headers().catch((e: unknown) => e as Error);
      assert.match(e2.message, /401/);
      assert.ok(!e2.message.includes('wrong-secret'), e2.message);
    } finally {
      cloud.echoSecrets = false;
    }
  });

  it('an unreachable Keystone is "unavailable" (the start-up probe retries it)', async () => {
    const down = new FakeCloud();
    await down.start();
    const url = down.authUrl;
    await down.stop();
    const auth = new KeystoneAuth({ authUrl: url, method: { kind: 'password', user: { id: 'u' }, password: PASSWORD } });
    const err = await auth.headers().catch((e: unknown) => e);
    assert.ok(err instanceof KeystoneError);
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.code, 'KURYR_ERR_KEYSTONE_UNREACHABLE');
    assert.match(err.message, /Keystone authentication .* failed: unreachable: ECONNREFUSED/);

    let calls = 0;
    const flaky = {
      hasExtension: async () => {
        if (++calls === 1) throw err;
        return true;
      },
    } as unknown as ConstructorParameters<typeof NeutronProbe>[0];
    const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    const probe = new NeutronProbe(flaky, log, { sleep: async () => {} });
    probe.start();
    await probe.ready;
    assert.ok(calls >= 2);
  });

  it('describe() names method, identity, scope and endpoint choice, never the password', () => {
    const text = new KeystoneAuth(passwordOpts(cloud, { regionName: 'RegionOne' })).describe();
    assert.match(text, /password of user kuryr \(domain Default\), project service \(domain Default\); Neutron: catalog network endpoint, interface public, region RegionOne/);
    assert.ok(!text.includes(PASSWORD));
  });
});

describe('TLS: CA file and insecure (the https agent) for Keystone and Neutron', () => {
  let dir = '';
  let cloud: FakeCloud | undefined;
  let haveOpenssl = true;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kt-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
    } catch {
      haveOpenssl = false;
      return;
    }
    const https = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) });
    cloud = await new FakeCloud(https).start();
  });
  after(async () => {
    await cloud?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const conf = (extra: Record<string, string>) => ({
    auth_url: cloud!.authUrl,
    username: 'kuryr',
    password: PASSWORD,
    project_name: 'service',
    ...extra,
  });

  it('cafile: Keystone and the Neutron endpoint are verified against it', async (t) => {
    if (!haveOpenssl) return t.skip('no openssl');
    const { auth } = neutronAuthFrom(conf({ cafile: join(dir, 'cert.pem') }), { env: {} });
    assert.equal(await endpointUsed(auth), 'public-RegionOne');
  });

  it('without the CA the certificate is refused; insecure = true accepts it', async (t) => {
    if (!haveOpenssl) return t.skip('no openssl');
    const plain = neutronAuthFrom(conf({}), { env: {} }).auth;
    await assert.rejects(plain.headers(), (e: Error) => e instanceof KeystoneError && /unreachable/.test(e.message));
    const insecure = neutronAuthFrom(conf({ insecure: 'true' }), { env: {} });
    assert.match(insecure.description, /TLS not verified/);
    assert.equal(await endpointUsed(insecure.auth), 'public-RegionOne');
  });

  it('a missing CA file fails at start, naming the option', () => {
    assert.throws(() => neutronAuthFrom(conf({ cafile: '/nonexistent/ca.pem' }), { env: {} }), /cannot read \[neutron\] cafile \/nonexistent\/ca\.pem/);
  });
});

describe('credential sources: kuryr.conf, clouds.yaml, OS_* variables', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kt-clouds-'));
    writeFileSync(
      join(dir, 'clouds.yaml'),
      `clouds:
  lab-admin:
    auth:
      auth_url: http://ks.example:5000/v3
      username: admin
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: internal
    identity_api_version: 3
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://ks.example:5000
      application_credential_id: ac-9
      application_credential_secret: ${APP_SECRET}
    regions: [RegionTwo]
    verify: false
  nopass:
    auth:
      auth_url: http://ks.example:5000
      username: someone
`,
    );
    writeFileSync(join(dir, 'secure.yaml'), `clouds:\n  lab-admin:\n    auth:\n      password: ${PASSWORD}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const kuryrConf = (text: string) => buildConfig(parseIni(text, 'kuryr.conf'), {}).neutron.auth;

  it('kuryr.conf [neutron] with keystoneauth names (Kuryr-libnetwork style)', () => {
    const src = resolveAuthSource(
      kuryrConf(`[neutron]
auth_url = http://127.0.0.1:5000/v3
auth_type = password
username = kuryr
password = ${PASSWORD}
user_domain_name = Default
project_name = service
project_domain_name = Default
region_name = RegionOne
endpoint_type = internalURL
`),
      { env: { OS_CLOUD: 'lab-admin', OS_AUTH_URL: 'http://other' } },
    );
    assert.equal(src.label, 'kuryr.conf [neutron]');
    assert.equal(src.values.username, 'kuryr');
    assert.equal(src.values.endpoint_type, 'internalURL');
    const { description } = neutronAuthFrom(kuryrConf(`[neutron]\nauth_url = http://127.0.0.1:5000\nusername = kuryr\npassword = ${PASSWORD}\nproject_name = service\n`), { env: {} });
    assert.match(description, /^kuryr\.conf \[neutron\]: Keystone v3 http:\/\/127\.0\.0\.1:5000\/v3: password of user kuryr \(domain id default\), project service \(domain id default\)/);
    assert.ok(!description.includes(PASSWORD));
  });

  it('a clouds.yaml cloud named by [neutron] cloud or OS_CLOUD (secure.yaml merged; kuryr.conf adapter options win)', () => {
    const env = { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml'), OS_CLIENT_SECURE_FILE: join(dir, 'secure.yaml') };
    const src = resolveAuthSource(kuryrConf('[neutron]\ncloud = lab-admin\nregion_name = RegionX\n'), { env, cwd: '/nonexistent', home: '/nonexistent' });
    assert.match(src.label, /^clouds\.yaml cloud "lab-admin" \(.*clouds\.yaml\) \+ kuryr\.conf \[neutron\] region_name$/);
    assert.equal(src.values.password, PASSWORD);
    assert.equal(src.values.endpoint_type, 'internal');
    assert.equal(src.values.region_name, 'RegionX');
    const viaEnv = resolveAuthSource({}, { env: { OS_CLOUD: 'appcred' }, cwd: dir, home: '/nonexistent' });
    assert.equal(viaEnv.values.application_credential_id, 'ac-9');
    assert.equal(viaEnv.values.region_name, 'RegionTwo');
    assert.equal(viaEnv.values.insecure, 'true');
    const { description } = neutronAuthFrom({}, { env: { OS_CLOUD: 'appcred' }, cwd: dir, home: '/nonexistent' });
    assert.match(description, /application credential ac-9; Neutron: catalog network endpoint, interface public, region RegionTwo \(TLS not verified: insecure\)/);
    assert.ok(!description.includes(APP_SECRET));
  });

  it('clouds.yaml in ~/.config/openstack; missing cloud or password named clearly', () => {
    const home = mkdtempSync(join(tmpdir(), 'kt-home-'));
    try {
      execFileSync('mkdir', ['-p', join(home, '.config', 'openstack')]);
      writeFileSync(join(home, '.config', 'openstack', 'clouds.yaml'), readFileSync(join(dir, 'clouds.yaml')));
      const src = resolveAuthSource({ cloud: 'nopass' }, { env: {}, cwd: '/nonexistent', home });
      assert.equal(src.values.username, 'someone');
      assert.throws(() => neutronAuthFrom({ cloud: 'nopass' }, { env: {}, cwd: '/nonexistent', home }), /clouds\.yaml cloud "nopass" .*: password auth needs auth\.password/);
      assert.throws(() => resolveAuthSource({ cloud: 'nope' }, { env: {}, cwd: '/nonexistent', home }), /cloud "nope" not found in .* \(clouds there: lab-admin, appcred, nopass\)/);
      assert.throws(() => resolveAuthSource({ cloud: 'x' }, { env: {}, cwd: '/nonexistent', home: '/nonexistent' }), /no clouds\.yaml found \(searched /);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('OS_* variables (the openstack CLI names)', () => {
    const env = {
      OS_AUTH_URL: 'http://ks.example:5000/v3',
      OS_USERNAME: 'kuryr',
      OS_PASSWORD: PASSWORD,
      OS_PROJECT_NAME: 'service',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'RegionOne',
      OS_INTERFACE: 'admin',
    };
    const src = resolveAuthSource({}, { env });
    assert.equal(src.label, 'OS_* environment');
    assert.equal(src.values.endpoint_type, 'admin');
    const { description } = neutronAuthFrom({}, { env });
    assert.match(description, /^OS_\* environment: Keystone v3 http:\/\/ks\.example:5000\/v3: password of user kuryr \(domain Default\), project service \(domain Default\); Neutron: catalog network endpoint, interface admin, region RegionOne$/);
    const app = neutronAuthFrom({}, { env: { OS_AUTH_URL: 'http://ks', OS_APPLICATION_CREDENTIAL_ID: 'ac', OS_APPLICATION_CREDENTIAL_SECRET: APP_SECRET } });
    assert.match(app.description, /application credential ac/);
    const tok = neutronAuthFrom({}, { env: { OS_AUTH_URL: 'http://ks', OS_TOKEN: 'tok-abc', OS_PROJECT_ID: 'p1' } });
    assert.match(tok.description, /: token, project id p1/);
    assert.ok(!tok.description.includes('tok-abc'));
    assert.throws(() => neutronAuthFrom({}, { env: { OS_AUTH_URL: 'http://ks', OS_USERNAME: 'x' } }), /OS_\* environment: password auth needs OS_PASSWORD/);
    assert.throws(() => neutronAuthFrom({}, { env: { ...env, OS_INTERFACE: 'private' } }), /OS_INTERFACE = private: use public, internal or admin/);
  });

  it('auth_type none with endpoint_override stays available; nothing configured is a clear error', () => {
    const { auth, description } = neutronAuthFrom(kuryrConf('[neutron]\nauth_type = none\nendpoint_override = http://127.0.0.1:9696\n'), { env: { OS_CLOUD: 'x' } });
    assert.equal(description, 'kuryr.conf [neutron]: no auth, Neutron at http://127.0.0.1:9696');
    assert.equal(typeof auth.fetch, 'function', 'its own node:http transport');
    assert.throws(() => neutronAuthFrom(kuryrConf('[neutron]\nauth_type = noauth\n'), { env: {} }), /auth_type none needs \[neutron\] endpoint_override/);
    assert.throws(() => neutronAuthFrom({}, { env: {} }), /kuryr\.conf \[neutron\]: no Keystone auth_url: set \[neutron\] auth_url \(or \[neutron\] cloud \/ OS_CLOUD/);
    assert.throws(() => neutronAuthFrom({ auth_url: 'http://ks', auth_type: 'v2password' }, { env: {} }), /only Keystone v3 is supported/);
    assert.throws(() => neutronAuthFrom({ auth_url: 'http://ks', auth_type: 'kerberos' }, { env: {} }), /auth_type = kerberos is not supported/);
  });

  it('kuryr.conf accepts the new options and the v2 interface names', () => {
    const a = kuryrConf('[neutron]\ncloud = lab-admin\nendpoint_type = adminURL\ninsecure = yes\n');
    assert.equal(a.cloud, 'lab-admin');
    assert.equal(a.endpoint_type, 'adminURL');
    assert.equal(a.insecure, 'true');
    assert.throws(() => kuryrConf('[neutron]\nendpoint_type = private\n'), /invalid value for \[neutron\] endpoint_type/);
  });
});
