/**
 * The `zun` CLI's connection and output options: the Keystone catalog
 * (service type `container`, `--os-interface`, `--os-region-name`), the
 * `--os-*` options over clouds.yaml / OS_*, `--zun-url` / `--bypass-url`,
 * `--os-token`, the microversion header, an unreachable server reported as
 * such, `-f table|json|value|yaml`, `-c`, `--version`.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { shlexSplit } from '../../src/api/shlex.js';
import { apiRoot } from '../../src/cli/connection.js';
import { main, shellJoin } from '../../src/cli/zun-cli.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

async function serve(handler: (seen: Seen) => { status?: number; body?: unknown; headers?: Record<string, string> }): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString())).on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      const a = handler(s);
      res.writeHead(a.status ?? 200, { 'Content-Type': 'application/json', ...a.headers });
      res.end(a.body === undefined ? '' : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const CONTAINER = { uuid: 'c0ffee00-0000-4000-8000-000000000001', name: 'web', image: 'kuryr/busybox', status: 'Running', task_state: null, addresses: { n1: [{ addr: '10.2.0.5' }] }, ports: [80], command: ['sleep', '600'], links: [] };

let zunApi: Awaited<ReturnType<typeof serve>>;
let keystone: Awaited<ReturnType<typeof serve>>;
let closedUrl: string;
let tmp: string;

before(async () => {
  zunApi = await serve((s) => (s.url.startsWith('/v1/containers/web') ? { body: CONTAINER } : s.url.startsWith('/v1/containers') ? { body: { containers: [CONTAINER] } } : { status: 404, body: { errors: [{ detail: 'no route' }] } }));
  // a port nothing listens on
  const gone = await serve(() => ({}));
  closedUrl = gone.url;
  await new Promise((r) => gone.server.close(r));
  keystone = await serve((s) => {
    if (s.method !== 'POST') return { status: 404 };
    const ep = (itf: string, region: string, url: string) => ({ interface: itf, region_id: region, url });
    return {
      status: 201,
      headers: { 'X-Subject-Token': 'token-of-demo' },
      body: {
        token: {
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          catalog: [
            { type: 'network', endpoints: [ep('public', 'RegionOne', 'http://neutron.invalid:9696')] },
            { type: 'container', name: 'zun', endpoints: [ep('public', 'RegionOne', `${closedUrl}/v1`), ep('internal', 'RegionOne', `${zunApi.url}/v1/`), ep('public', 'RegionTwo', `${zunApi.url}/v1`)] },
          ],
        },
      },
    };
  });
  tmp = mkdtempSync(join(tmpdir(), 'zun-cli-'));
  writeFileSync(join(tmp, 'clouds.yaml'), `clouds:\n  demo:\n    auth:\n      auth_url: ${keystone.url}/v3\n      username: demo\n      password: secret\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n    interface: public\n`);
});
after(async () => {
  await new Promise((r) => zunApi.server.close(r));
  await new Promise((r) => keystone.server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  zunApi.seen.length = 0;
  keystone.seen.length = 0;
});

async function zun(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'zun', ...args], (t) => out.push(t), (t) => err.push(t), { OS_CLIENT_CONFIG_FILE: join(tmp, 'clouds.yaml'), ...env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
const CLOUD = { OS_CLOUD: 'demo' };

describe('zun CLI: where and as whom', () => {
  it('finds zun-api in the catalog by interface and region; the catalog URL\'s /v1 is the API root', async () => {
    const internal = await zun(CLOUD, '--os-interface', 'internal', 'list', '-f', 'value', '-c', 'name');
    assert.equal(internal.code, 0, internal.err);
    assert.equal(internal.out, 'web');
    assert.equal(zunApi.seen[0]!.url, '/v1/containers');
    assert.equal(zunApi.seen[0]!.headers['x-auth-token'], 'token-of-demo');
    assert.equal(zunApi.seen[0]!.headers['openstack-api-version'], 'container 1.40');
    const envCreds = { OS_AUTH_URL: `${keystone.url}/v3`, OS_USERNAME: 'demo', OS_PASSWORD: 'secret', OS_PROJECT_NAME: 'demo', OS_INTERFACE: 'internal' };
    assert.equal((await zun(envCreds, 'list')).code, 0, 'the OS_* variables, OS_INTERFACE');
    assert.equal((await zun(CLOUD, '--os-region-name', 'RegionTwo', 'list')).code, 0, 'public in RegionTwo');
    const auth = JSON.parse(keystone.seen[0]!.body) as { auth: { identity: { password: { user: { name: string } } }; scope: unknown } };
    assert.equal(auth.auth.identity.password.user.name, 'demo');
    assert.deepEqual(auth.auth.scope, { project: { name: 'demo', domain: { name: 'Default' } } });
  });

  it('an endpoint that does not answer, or none in the catalog, is said so (no invented HTTP status)', async () => {
    const down = await zun(CLOUD, 'list');
    assert.equal(down.code, 1);
    assert.equal(down.err, `ERROR: cannot reach zun-api at ${closedUrl}: ECONNREFUSED (the URL of the Keystone catalog's container endpoint; --zun-url gives another)`);
    const none = await zun(CLOUD, '--os-region-name', 'RegionThree', 'list');
    assert.equal(none.code, 1);
    assert.match(none.err, /^ERROR: Keystone catalog .*no "container" endpoint for interface public in region RegionThree .*; or give zun-api's URL with --zun-url \(ZUN_URL\)$/);
    const noauth = await zun({ ZUN_URL: closedUrl }, 'list');
    assert.equal(noauth.err, `ERROR: cannot reach zun-api at ${closedUrl}: ECONNREFUSED`);
    assert.doesNotMatch(noauth.err, /HTTP/);
  });

  it('--os-* options win over the cloud; --zun-url / --bypass-url win over the catalog', async () => {
    const r = await zun(CLOUD, '--os-username', 'other', '--os-password', 'pw2', '--os-project-name', 'p2', '--zun-url', `${zunApi.url}/v1/`, 'list');
    assert.equal(r.code, 0, r.err);
    const auth = JSON.parse(keystone.seen[0]!.body) as { auth: { identity: { password: { user: { name: string; password: string } } }; scope: { project: { name: string } } } };
    assert.equal(auth.auth.identity.password.user.name, 'other');
    assert.equal(auth.auth.identity.password.user.password, 'pw2');
    assert.equal(auth.auth.scope.project.name, 'p2');
    assert.equal(zunApi.seen[0]!.url, '/v1/containers');
    assert.equal((await zun(CLOUD, '--bypass-url', zunApi.url, 'list')).code, 0);
    const flags = await zun({}, '--os-auth-url', `${keystone.url}/v3`, '--os-username', 'demo', '--os-password', 'x', '--os-project-name', 'demo', '--os-interface', 'internal', 'list');
    assert.equal(flags.code, 0, flags.err);
    const missing = await zun({}, '--os-auth-url', `${keystone.url}/v3`, '--os-username', 'demo', 'list');
    assert.equal(missing.code, 2);
    assert.equal(missing.err, 'ERROR: command line: password auth needs --os-password / OS_PASSWORD');
  });

  it('--os-token with a URL is sent as is, without Keystone; OS_ENDPOINT (Neutron\'s) is never zun-api\'s', async () => {
    const r = await zun({ OS_ENDPOINT: 'http://neutron.invalid:9696' }, '--os-token', 'tok-1', '--zun-url', zunApi.url, 'list');
    assert.equal(r.code, 0, r.err);
    assert.equal(keystone.seen.length, 0);
    assert.equal(zunApi.seen[0]!.headers['x-auth-token'], 'tok-1');
    const viaCatalog = await zun({ ...CLOUD, OS_ENDPOINT: 'http://neutron.invalid:9696' }, '--os-interface', 'internal', 'list');
    assert.equal(viaCatalog.code, 0, viaCatalog.err);
  });

  it('microversions: ZUN_API_VERSION=1.latest or latest asks for the newest; a malformed one is a usage error', async () => {
    for (const v of ['1.latest', 'latest', '1']) {
      assert.equal((await zun({ ZUN_URL: zunApi.url, ZUN_API_VERSION: v }, 'list')).code, 0);
      assert.equal(zunApi.seen.at(-1)!.headers['openstack-api-version'], 'container latest', v);
    }
    assert.equal((await zun({ ZUN_URL: zunApi.url }, '--zun-api-version', '1.18', 'list')).code, 0);
    assert.equal(zunApi.seen.at(-1)!.headers['openstack-api-version'], 'container 1.18');
    assert.equal((await zun({ ZUN_URL: zunApi.url }, '--zun-api-version', 'one', 'list')).code, 2);
  });

  it('a catalog URL is the API root without /v1', () => {
    assert.equal(apiRoot('http://127.0.0.1:9517/v1'), 'http://127.0.0.1:9517');
    assert.equal(apiRoot('http://127.0.0.1:9517/v1/'), 'http://127.0.0.1:9517');
    assert.equal(apiRoot('https://cloud.example/container/v1'), 'https://cloud.example/container');
    assert.equal(apiRoot('http://127.0.0.1:9517'), 'http://127.0.0.1:9517');
  });
});

describe('zun CLI: output', () => {
  const local = { ZUN_URL: '' };
  beforeEach(() => {
    local.ZUN_URL = zunApi.url;
  });

  it('-f json / yaml / value and -c on lists, in the command\'s column order', async () => {
    const json = await zun(local, 'list', '-f', 'json', '-c', 'status', '-c', 'name');
    assert.equal(json.code, 0, json.err);
    assert.deepEqual(JSON.parse(json.out), [{ name: 'web', status: 'Running' }]);
    const yaml = await zun(local, 'list', '-f', 'yaml');
    assert.deepEqual(parseYaml(yaml.out), [{ uuid: CONTAINER.uuid, name: 'web', image: 'kuryr/busybox', status: 'Running', task_state: null, addresses: '10.2.0.5', ports: '80' }]);
    assert.equal((await zun(local, 'list', '-f', 'value', '-c', 'uuid', '-c', 'addresses')).out, `${CONTAINER.uuid} 10.2.0.5`);
    assert.match((await zun(local, 'list')).out, /^\+[-+]+\n\| uuid +\| name +\| image/);
  });

  it('-f and -c on show: one value per line, or the object', async () => {
    assert.equal((await zun(local, 'show', 'web', '-f', 'value', '-c', 'status', '-c', 'name')).out, 'web\nRunning');
    const obj = JSON.parse((await zun(local, 'show', 'web', '-f', 'json')).out) as Record<string, unknown>;
    assert.deepEqual(obj.command, ['sleep', '600']);
    assert.equal('links' in obj, false);
    assert.match((await zun(local, 'show', 'web', '-c', 'image')).out, /\| image +\| kuryr\/busybox +\|/);
  });

  it('unknown columns or formats are usage errors naming the choices; --version', async () => {
    const col = await zun(local, 'list', '-c', 'bogus');
    assert.equal(col.code, 2);
    assert.match(col.err, /no recognized column names in bogus; the columns are uuid, name, image, status, task_state, addresses, ports/);
    assert.equal((await zun(local, 'list', '-f', 'xml')).code, 2);
    const v = await zun({}, '--version');
    assert.equal(v.code, 0);
    assert.match(v.out, /^zun \(kuryr-ts\) \d+\.\d+\.\d+$/);
  });

  it('exec sends the words as one shell-quoted command that the server splits back', async () => {
    for (const words of [['echo', 'hi'], ['sh', '-c', "echo 'it''s' \"$HOME\" > /tmp/x"], ['printf', '%s\\n', ''], ['a b', 'c\td']]) {
      assert.deepEqual(shlexSplit(shellJoin(words)), words);
    }
  });
});
