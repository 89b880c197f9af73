/**
 * The `zun` CLI against a real zun-api HTTP listener (over the fakes): the
 * user workflow, tables, exit codes (0 ok, 1 API error, 2 usage).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { main, parseNet } from '../../src/cli/zun-cli.js';
import { harness, seedWorkflow, type Harness } from '../fakes.js';

let h: Harness;
let url: string;

async function zun(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'zun', ...args], (t) => out.push(t), (t) => err.push(t), { ZUN_URL: url, OS_PROJECT_ID: 'p1' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

before(async () => {
  h = await harness();
  seedWorkflow(h.neutron);
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await h.close();
});

describe('zun CLI', () => {
  it('parses --net forms', () => {
    assert.deepEqual(parseNet('foo'), { network: 'foo' });
    assert.deepEqual(parseNet('network=foo,v4-fixed-ip=10.2.0.5'), { network: 'foo', 'v4-fixed-ip': '10.2.0.5' });
    assert.deepEqual(parseNet('port=p1'), { port: 'p1' });
    assert.throws(() => parseNet('network=a,port=b'));
    assert.throws(() => parseNet('net=a'));
  });

  it('runs the user workflow with tables and exit codes', async () => {
    const created = await zun('network-create', '--neutron-net', 'testnet', '--neutron-pool', 'testpool', '--neutron-subnet', 'testsubnet', 'foo');
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /\| Property +\| Value/);
    assert.match(created.out, /\| name +\| foo/);

    const run = await zun('run', '--net=foo', '--name', 'web', '--wait', 'kuryr/busybox', 'sleep', '600');
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /\| status +\| Running/);

    const nl = await zun('network-list');
    assert.equal(nl.code, 0);
    assert.match(nl.out, /\| uuid +\| name +\| neutron_net_id/);
    assert.match(nl.out, /\| foo +\|/);
    assert.match((await zun('network-show', 'foo')).out, /neutron_pool_id/);

    const list = await zun('list');
    assert.match(list.out, /\| web +\| kuryr\/busybox +\| Running +\| - +\| 10\.2\.0\.\d+/);
    assert.match((await zun('network-list', 'web')).out, /\| net_id +\| port_id +\| fixed_ips/);
    assert.match((await zun('logs', 'web')).out, /logs of zun-/);
    const ex = await zun('exec', 'web', 'echo', 'hi');
    assert.equal(ex.code, 0);
    assert.equal(ex.out, 'ran echo hi');

    const busy = await zun('network-delete', 'foo');
    assert.equal(busy.code, 1);
    assert.match(busy.err, /still has 1 container.*HTTP 409/);

    const running = await zun('delete', '--no-stop', 'web');
    assert.equal(running.code, 1);
    assert.match(running.err, /Running state/);
    assert.equal((await zun('delete', 'web')).code, 0, 'the CLI stops a running container first by default');
    assert.equal((await zun('network-delete', 'foo')).code, 0);
    assert.doesNotMatch((await zun('network-list')).out, /foo/);
  });

  it('API errors exit 1 with Zun\'s detail; usage errors exit 2', async () => {
    const missing = await zun('show', 'nothing-here');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^ERROR: Container nothing-here could not be found \(HTTP 404\)/);
    assert.equal((await zun('network-create', 'foo')).code, 2, 'missing --neutron-net');
    assert.equal((await zun('bogus-command')).code, 2);
    assert.equal((await zun('run', '--net', 'net=x', 'img')).code, 2);
    assert.equal((await zun('run', '--security-group', 'a', '-p', '80', 'img')).code, 2);
  });

  it('an unreachable zun-api exits 1, naming the URL and the reason (no HTTP status it did not send)', async () => {
    const out: string[] = [];
    const code = await main(['node', 'zun', 'list'], () => {}, (t) => out.push(t), { ZUN_URL: 'http://127.0.0.1:1' });
    assert.equal(code, 1);
    assert.match(out.join(''), /^ERROR: cannot reach zun-api at http:\/\/127\.0\.0\.1:1: /);
    assert.doesNotMatch(out.join(''), /HTTP/);
  });
});

describe('zun CLI over several compute hosts', () => {
  let m: Harness;
  let murl: string;
  const mzun = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'zun', ...args], (t) => out.push(t), (t) => err.push(t), { ZUN_URL: murl, OS_PROJECT_ID: 'p1' });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  before(async () => {
    m = await harness('sqlite::memory:', { hosts: ['host1', 'host2', 'host3'], auth: { kind: 'noauth', projectId: 'p1', userId: 'u1', roles: ['admin'], adminProject: { name: 'p1', domainName: 'Default', role: 'admin' } } });
    seedWorkflow(m.neutron);
    m.dockers.get('host3')!.down = true;
    await m.app.listen({ host: '127.0.0.1', port: 0 });
    murl = `http://127.0.0.1:${(m.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await m.close();
  });

  it('host-list / host-show, run --host, and a clear error for a host that is down', async () => {
    assert.equal((await mzun('network-create', '--neutron-net', 'testnet', '--neutron-subnet', 'testsubnet', 'foo')).code, 0);
    const hosts = await mzun('host-list', '--refresh');
    assert.equal(hosts.code, 0, hosts.err);
    assert.match(hosts.out, /\| hostname +\| state +\| disabled +\| total_containers +\| reason/);
    assert.match(hosts.out, /\| host1 +\| up +\| False +\| 0 +\| - +\|/);
    assert.match(hosts.out, /\| host3 +\| down +\| False +\| 0 +\| Docker is unavailable/);
    const onTwo = await mzun('run', '--host', 'host2', '--net', 'foo', '--wait', 'kuryr/busybox', 'sleep', '600');
    assert.equal(onTwo.code, 0, onTwo.err);
    assert.match(onTwo.out, /\| host +\| host2 +\|/);
    const least = await mzun('run', '--net', 'foo', '--wait', 'kuryr/busybox', 'sleep', '600');
    assert.match(least.out, /\| host +\| host1 +\|/);
    assert.match((await mzun('host-show', 'host2')).out, /\| total_containers +\| 1 +\|/);
    const down = await mzun('run', '--host', 'host3', '--net', 'foo', 'kuryr/busybox');
    assert.equal(down.code, 1);
    assert.match(down.err, /^ERROR: Compute host host3 is down \(Docker is unavailable: .*\): cannot place a container there; retry when it is up \(zun host-list\) \(HTTP 409\)/);
    const ghost = await mzun('host-show', 'ghost');
    assert.match(ghost.err, /Compute host ghost could not be found .*\(HTTP 404\)/);
  });
});
