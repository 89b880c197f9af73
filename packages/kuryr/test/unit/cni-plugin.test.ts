/**
 * The `kuryr-cni` binary as a runtime runs it (cnitool-style: the CNI
 * environment, the network configuration on stdin) against a stub daemon on
 * a temporary unix socket: every verb, VERSION, bad configurations, missing
 * environment and a daemon that is down all end in CNI error JSON with a code
 * and exit status 1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../../bin/kuryr-cni.js', import.meta.url)); // from packages/kuryr/dist/test/unit/
const RESULT = { cniVersion: '1.0.0', interfaces: [{ name: 'tap0123456789a' }, { name: 'eth0', mac: 'fa:16:3e:00:00:01', sandbox: '/var/run/netns/x' }], ips: [], routes: [] };

interface Run {
  code: number | null;
  stdout: string;
  json: Record<string, unknown> | undefined;
}

function runCni(env: Record<string, string>, stdin: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, json: stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined }));
    child.stdin.end(stdin);
  });
}

describe('kuryr-cni (the plugin binary) against a stub daemon', () => {
  let dir: string;
  let socket: string;
  let server: Server;
  const seen: Array<{ path: string; body: Record<string, unknown> }> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kuryr-cni-'));
    socket = join(dir, 'kuryr.sock');
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        seen.push({ path: req.url ?? '', body });
        res.setHeader('content-type', 'application/json');
        if ((body.containerId as string) === 'failing') {
          res.statusCode = 404;
          res.end(JSON.stringify({ cniVersion: '1.0.0', code: 102, msg: 'kuryr CNI ADD failed', details: 'ADD: no Neutron network nope', kuryrCode: 'KURYR_ERR_CNI_NO_NETWORK' }));
        } else if (req.url === '/kuryr/cni/add') res.end(JSON.stringify({ ...RESULT, cniVersion: body.cniVersion }));
        else res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(socket, r));
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'pods', type: 'kuryr-cni', daemon_socket: socket, neutron: { network: 'pods' }, ...extra });
  const env = (command: string, extra: Record<string, string> = {}) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee',
    CNI_NETNS: '/var/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    ...extra,
  });

  it('VERSION lists the supported versions, without the daemon', async () => {
    const r = await runCni({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    assert.equal(r.code, 0);
    assert.deepEqual(r.json, { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('ADD hands the environment, CNI_ARGS and the configuration to the daemon and prints its result', async () => {
    seen.length = 0;
    const r = await runCni(env('ADD', { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web;NEUTRON_PORT=p1' }), config());
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.json, RESULT);
    assert.equal(seen[0]!.path, '/kuryr/cni/add');
    const body = seen[0]!.body;
    assert.deepEqual([body.cniVersion, body.containerId, body.netns, body.ifname], ['1.0.0', 'c0ffee', '/var/run/netns/x', 'eth0']);
    assert.deepEqual(body.args, { IgnoreUnknown: '1', K8S_POD_NAME: 'web', NEUTRON_PORT: 'p1' });
    assert.deepEqual((body.config as { neutron: unknown }).neutron, { network: 'pods' });
  });

  it('DEL, CHECK, STATUS and GC print nothing and exit 0 on success; DEL needs no namespace', async () => {
    seen.length = 0;
    for (const [verb, version, extra] of [
      ['DEL', '1.0.0', { CNI_NETNS: '' }],
      ['CHECK', '1.0.0', {}],
      ['STATUS', '1.1.0', {}],
      ['GC', '1.1.0', {}],
    ] as const) {
      const r = await runCni(env(verb, extra), config({ cniVersion: version }));
      assert.deepEqual([verb, r.code, r.stdout], [verb, 0, '']);
    }
    assert.deepEqual(seen.map((s) => s.path), ['/kuryr/cni/del', '/kuryr/cni/check', '/kuryr/cni/status', '/kuryr/cni/gc']);
  });

  it("the daemon's CNI error passes through with its code, exit 1", async () => {
    const r = await runCni(env('ADD', { CNI_CONTAINERID: 'failing' }), config({ cniVersion: '0.4.0' }));
    assert.equal(r.code, 1);
    assert.equal(r.json!.code, 102);
    assert.equal(r.json!.cniVersion, '0.4.0');
    assert.match(String(r.json!.details), /no Neutron network/);
  });

  it('bad configurations: not JSON (6), no cniVersion (7), an unsupported version (1), CHECK before 0.4.0 (1), a relative socket (7)', async () => {
    const cases: Array<[string, number]> = [
      ['{not json', 6],
      [JSON.stringify({ name: 'x', daemon_socket: socket }), 7],
      [config({ cniVersion: '0.2.0' }), 1],
      [config({ daemon_socket: 'kuryr.sock' }), 7],
    ];
    for (const [stdin, code] of cases) {
      const r = await runCni(env('ADD'), stdin);
      assert.deepEqual([r.code, r.json?.code], [1, code], stdin);
      assert.equal(typeof r.json?.msg, 'string');
    }
    const check = await runCni(env('CHECK'), config({ cniVersion: '0.3.1' }));
    assert.deepEqual([check.code, check.json?.code], [1, 1]);
  });

  it('missing environment: no CNI_COMMAND, an unknown one, ADD without CNI_NETNS, bad CNI_ARGS: code 4', async () => {
    for (const e of [{}, { CNI_COMMAND: 'FROB' }, env('ADD', { CNI_NETNS: '' }), env('ADD', { CNI_ARGS: 'novalue' })]) {
      const r = await runCni(e, config());
      assert.deepEqual([r.code, r.json?.code], [1, 4], JSON.stringify(e));
    }
  });

  it('the daemon is down: code 11 (try again later), exit 1', async () => {
    const r = await runCni(env('ADD'), config({ daemon_socket: join(dir, 'nobody.sock') }));
    assert.equal(r.code, 1);
    assert.equal(r.json!.code, 11);
    assert.match(String(r.json!.msg), /did not answer on .*nobody\.sock/);
    assert.match(String(r.json!.details), /ENOENT/);
  });
});
