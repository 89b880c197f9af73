/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * The container service over fakes (Neutron, Docker) and SQLite :memory:,
 * driven through the real HTTP edge with inject(): the user workflow, the
 * sandbox model, rollback, cleanup, isolation, policies, versions and errors.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DockerRequestError } from '../../src/ports/docker.js';
import { NeutronError } from '@kuryr-ts/openstack/errors';
import { as, asAdmin, harness, seedWorkflow, type Harness } from '../fakes.js';

let h: Harness;
const P1 = as('p1');
const P2 = as('p2');
const ADMIN = asAdmin('p1');

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = P1) {
  const res = await h.app.inject({ method, url, headers, ...(body !== undefined ? { payload: body as object } : {}) });
  const text = res.body;
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, any>) : {}, headers: res.headers };
}

async function makeFoo() {
  const seeded = seedWorkflow(h.neutron);
  const res = await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet', neutron_pool_id: 'testpool', neutron_subnet_id: 'testsubnet' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { ...seeded, foo: res.body };
}

async function run(body: Record<string, unknown>, headers = P1) {
  const res = await call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', command: ['sleep', '600'], ...body }, headers);
  await h.containers.idle();
  return res;
}

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('zun-api: the user workflow', () => {
  it('network-create builds the kuryr Docker network from the Neutron net, pool and subnet', async () => {
    const { net, pool, subnet, foo } = await makeFoo();
    assert.equal(foo.name, 'foo');
    assert.equal(foo.neutron_net_id, net.id);
    assert.equal(foo.neutron_pool_id, pool.id);
    assert.equal(foo.neutron_subnet_id, subnet.id);
    assert.ok(foo.network_id, 'Docker network id');
    const docker = h.docker.networks.get(net.id)!;
    assert.equal(docker.spec.driver, 'kuryr');
    assert.equal(docker.spec.ipamDriver, 'kuryr');
    assert.deepEqual(docker.spec.ipamConfig, [{ subnet: '10.2.0.0/24', gateway: '10.2.0.1' }]);
    assert.equal(docker.spec.options['neutron.net.uuid'], net.id);
    assert.equal(docker.spec.options['neutron.pool.uuid'], pool.id);
    assert.equal(docker.spec.options['neutron.subnet.uuid'], subnet.id);
    assert.equal(docker.spec.ipamOptions['neutron.pool.uuid'], pool.id);
    const list = await call('GET', '/v1/networks');
    assert.deepEqual(list.body.networks.map((n: { name: string }) => n.name), ['foo']);
    const show = await call('GET', '/v1/networks/foo');
    assert.equal(show.body.uuid, foo.uuid);
    assert.equal(show.body.host, undefined, 'host is admin-only');
    assert.equal((await call('GET', '/v1/networks/foo', undefined, ADMIN)).body.host, 'testhost');
  });

  it('run: 202 Creating, then Running; the sandbox owns the pre-created port, the app joins its namespace', async () => {
    const { net, subnet } = await makeFoo();
    const res = await call('POST', '/v1/containers?run=true', { image: 'kuryr/busybox', command: ['sleep', '600'], nets: [{ network: 'foo' }] });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'Creating');
    assert.match(String(res.headers.location), new RegExp(`/v1/containers/${res.body.uuid}$`));
    await h.containers.idle();
    const show = await call('GET', `/v1/containers/${res.body.uuid}`);
    assert.equal(show.body.status, 'Running', show.body.status_reason);
    const addrs = show.body.addresses[net.id];
    assert.equal(addrs.length, 1);
    assert.equal(addrs[0].subnet_id, subnet.id);
    assert.match(addrs[0].addr, /^10\.2\.0\.\d+$/);
    assert.equal(addrs[0].preserve_on_delete, false);
    const port = h.neutron.all('ports').find((p) => p.id === addrs[0].port)!;
    assert.equal(port.device_owner, 'compute:kuryr');
    assert.equal(port.device_id, res.body.uuid);
    assert.equal(port['binding:host_id'], 'testhost');
    assert.equal(port.project_id, 'p1');
    const [sandbox, app] = [...h.docker.containers.values()];
    assert.equal(sandbox!.spec.image, 'kuryr/pause:latest');
    assert.equal(sandbox!.spec.networkMode, net.id);
    assert.deepEqual(sandbox!.spec.endpoint, { network: net.id, ipv4: addrs[0].addr });
    assert.equal(sandbox!.spec.macAddress, port.mac_address);
    assert.equal(app!.spec.networkMode, `container:${sandbox!.id}`);
    assert.equal(app!.spec.ipcMode, `container:${sandbox!.id}`);
    assert.deepEqual(app!.spec.command, ['sleep', '600']);
    assert.ok(sandbox!.running && app!.running);
    const nl = await call('GET', `/v1/containers/${res.body.uuid}/network_list`);
    assert.deepEqual(nl.body.networks, [{ net_id: net.id, port_id: port.id, fixed_ips: [{ ip_address: addrs[0].addr, version: 4, subnet_id: subnet.id }] }]);
  });

  it('delete removes app, sandbox and the port; the network can then be deleted (409 before)', async () => {
    const { net } = await makeFoo();
    const c = (await run({ nets: [{ network: 'foo' }] })).body;
    assert.equal((await call('DELETE', '/v1/networks/foo')).status, 409);
    const running = await call('DELETE', `/v1/containers/${c.uuid}`);
    assert.equal(running.status, 409, 'running container needs stop/force');
    assert.equal((await call('DELETE', `/v1/containers/${c.uuid}?stop=true`)).status, 204);
    assert.equal(h.docker.containers.size, 0);
    assert.equal(h.neutron.all('ports').length, 0);
    assert.equal((await call('GET', `/v1/containers/${c.uuid}`)).status, 404);
    assert.equal((await call('DELETE', '/v1/networks/foo')).status, 204);
    assert.equal(h.docker.networks.has(net.id), false);
    assert.equal((await call('GET', '/v1/networks')).body.networks.length, 0);
  });

  it('two containers on foo get distinct addresses; names and uuids both address a container', async () => {
    await makeFoo();
    const a = (await run({ name: 'ca', nets: [{ network: 'foo' }] })).body;
    await run({ name: 'cb', nets: [{ network: 'foo' }] });
    const list = await call('GET', '/v1/containers');
    assert.equal(list.body.containers.length, 2);
    const ips = list.body.containers.map((c: any) => Object.values(c.addresses as Record<string, any[]>)[0]![0].addr);
    assert.notEqual(ips[0], ips[1]);
    assert.equal((await call('GET', '/v1/containers/ca')).body.uuid, a.uuid);
  });
});

describe('zun-api: nets resolution', () => {
  it('a Neutron network by name makes the Zun network lazily (named after the net id)', async () => {
    const { net } = seedWorkflow(h.neutron);
    const c = (await run({ nets: [{ network: 'testnet', 'v4-fixed-ip': '10.2.0.77' }] })).body;
    const show = await call('GET', `/v1/containers/${c.uuid}`);
    assert.equal(show.body.status, 'Running', show.body.status_reason);
    assert.equal(show.body.addresses[net.id][0].addr, '10.2.0.77');
    const nets = (await call('GET', '/v1/networks')).body.networks;
    assert.equal(nets.length, 1);
    assert.equal(nets[0].name, net.id);
  });

  it('no nets: the project\'s oldest non-shared network, then a shared one; none → 409', async () => {
    assert.equal((await call('POST', '/v1/containers', { image: 'kuryr/busybox' })).status, 409);
    const shared = h.neutron.add('networks', { name: 'public-ish', project_id: 'other', shared: true });
    h.neutron.add('subnets', { network_id: shared.id, project_id: 'other', ip_version: 4, cidr: '10.9.0.0/24', gateway_ip: '10.9.0.1', subnetpool_id: null });
    const c1 = (await run({})).body;
    assert.ok((await call('GET', `/v1/containers/${c1.uuid}`)).body.addresses[shared.id]);
    const { net } = seedWorkflow(h.neutron);
    const c2 = (await run({})).body;
    assert.ok((await call('GET', `/v1/containers/${c2.uuid}`)).body.addresses[net.id]);
  });

  it('unknown network → 404, ambiguous name → 409, another project\'s network → 404', async () => {
    seedWorkflow(h.neutron);
    const missing = await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'nope' }] });
    assert.equal(missing.status, 404);
    assert.match(missing.body.errors[0].detail, /nope/);
    assert.equal(missing.body.errors[0].code, 'ZUN_ERR_NETWORK_NOT_FOUND');
    assert.equal((await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'testnet' }] }, P2)).status, 404);
    h.neutron.add('networks', { name: 'testnet', project_id: 'p1' });
    assert.equal((await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'testnet' }] })).status, 409);
    assert.equal(h.docker.containers.size, 0);
  });

  it('a user\'s port is used as is and only unbound (never deleted) on delete', async () => {
    const { net, subnet } = seedWorkflow(h.neutron);
    const port = h.neutron.add('ports', { name: 'mine', network_id: net.id, project_id: 'p1', status: 'DOWN', device_id: '', device_owner: '', mac_address: 'fa:16:3e:aa:bb:cc', fixed_ips: [{ subnet_id: subnet.id, ip_address: '10.2.0.50' }] });
    const c = (await run({ nets: [{ port: 'mine' }] })).body;
    const show = await call('GET', `/v1/containers/${c.uuid}`);
    assert.equal(show.body.status, 'Running', show.body.status_reason);
    assert.deepEqual(show.body.addresses[net.id], [{ addr: '10.2.0.50', version: 4, port: port.id, subnet_id: subnet.id, preserve_on_delete: true }]);
    assert.equal(port.device_id, c.uuid);
    assert.equal(port['binding:host_id'], 'testhost');
    assert.equal((await call('DELETE', `/v1/containers/${c.uuid}?stop=true`)).status, 204);
    const after = h.neutron.all('ports').find((p) => p.id === port.id)!;
    assert.ok(after, 'the user port still exists');
    assert.equal(after.device_id, '');
    assert.equal(after.device_owner, '');
    assert.equal(after['binding:host_id'], null);
  });

  it('a bound port or another project\'s port → 400; an unknown port → 404', async () => {
    const { net } = seedWorkflow(h.neutron);
    const bound = h.neutron.add('ports', { name: 'bound', network_id: net.id, project_id: 'p1', status: 'ACTIVE', device_id: 'vm-1', device_owner: 'compute:nova', fixed_ips: [] });
    const foreign = h.neutron.add('ports', { name: 'theirs', network_id: net.id, project_id: 'p2', status: 'DOWN', device_id: '', device_owner: '', fixed_ips: [] });
    const r1 = await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ port: bound.id }] });
    assert.equal(r1.status, 400);
    assert.equal(r1.body.errors[0].code, 'ZUN_ERR_PORT_IN_USE');
    const r2 = await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ port: foreign.id }] });
    assert.equal(r2.status, 400);
    assert.equal(r2.body.errors[0].code, 'ZUN_ERR_PORT_NOT_USABLE');
    assert.equal((await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ port: 'ghost' }] })).status, 404);
  });

  it('an external non-shared network is admin-only (403)', async () => {
    const ext = h.neutron.add('networks', { name: 'ext', project_id: 'p1', 'router:external': true });
    h.neutron.add('subnets', { network_id: ext.id, project_id: 'p1', ip_version: 4, cidr: '172.24.4.0/24', gateway_ip: '172.24.4.1', subnetpool_id: null });
    const r = await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'ext' }] });
    assert.equal(r.status, 403);
    assert.equal((await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'ext' }] }, ADMIN)).status, 202);
    await h.containers.idle();
  });
});

describe('zun-api: rollback and cleanup', () => {
  it('a failing sandbox start undoes everything: ports deleted, containers removed, SG deleted; status Error', async () => {
    await makeFoo();
    h.docker.failures.set('startContainer', new DockerRequestError(500, 'kuryr: NetworkDriver.Join failed'));
    const c = (await run({ nets: [{ network: 'foo' }], exposed_ports: { '80/tcp': {} } })).body;
    const show = await call('GET', `/v1/containers/${c.uuid}`);
    assert.equal(show.body.status, 'Error');
    assert.match(show.body.status_reason, /sandbox.*Join failed/);
    assert.equal(show.body.addresses, null);
    assert.equal(h.neutron.all('ports').length, 0);
    assert.equal(h.neutron.all('security-groups').length, 0);
    assert.equal(h.docker.containers.size, 0);
    // an Error container deletes cleanly
    assert.equal((await call('DELETE', `/v1/containers/${c.uuid}`)).status, 204);
    assert.equal((await call('DELETE', '/v1/networks/foo')).status, 204);
  });

  it('a failing app container create removes the sandbox and the port', async () => {
    await makeFoo();
    let n = 0;
    const orig = h.docker.createContainer.bind(h.docker);
    h.docker.createContainer = async (spec) => {
      if (n++ === 1) throw new DockerRequestError(500, 'no space left');
      return orig(spec);
    };
    const c = (await run({ nets: [{ network: 'foo' }] })).body;
    const show = await call('GET', `/v1/containers/${c.uuid}`);
    assert.equal(show.body.status, 'Error');
    assert.match(show.body.status_reason, /no space left/);
    assert.equal(h.docker.containers.size, 0);
    assert.equal(h.neutron.all('ports').length, 0);
  });

  it('a missing image → Error with the reason, nothing made', async () => {
    await makeFoo();
    const c = (await run({ image: 'nginx', nets: [{ network: 'foo' }] })).body;
    const show = await call('GET', `/v1/containers/${c.uuid}`);
    assert.equal(show.body.status, 'Error');
    assert.match(show.body.status_reason, /Image nginx could not be found/);
    assert.equal(h.neutron.all('ports').length, 0);
  });

  it('a user port is unbound again when the create fails', async () => {
    const { net, subnet } = seedWorkflow(h.neutron);
    const port = h.neutron.add('ports', { name: 'mine', network_id: net.id, project_id: 'p1', status: 'DOWN', device_id: '', device_owner: '', fixed_ips: [{ subnet_id: subnet.id, ip_address: '10.2.0.50' }] });
    h.docker.failures.set('startContainer', new DockerRequestError(500, 'boom'));
    const c = (await run({ nets: [{ port: 'mine' }] })).body;
    assert.equal((await call('GET', `/v1/containers/${c.uuid}`)).body.status, 'Error');
    assert.equal(port.device_id, '');
    assert.equal(port['binding:host_id'], null);
  });

  it('Docker down → 503 on network create, nothing half-made', async () => {
    seedWorkflow(h.neutron);
    h.docker.down = true;
    const r = await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet' });
    assert.equal(r.status, 503);
    assert.match(r.body.errors[0].detail, /Docker is unavailable/);
    assert.equal((await call('GET', '/v1/networks')).body.networks.length, 0);
  });

  it('Docker down → 503 on container create, no row, no port', async () => {
    await makeFoo();
    h.docker.down = true;
    const r = await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'foo' }] });
    assert.equal(r.status, 503);
    assert.match(r.body.errors[0].detail, /Docker is unavailable/);
    assert.equal((await call('GET', '/v1/containers')).body.containers.length, 0);
    assert.equal(h.neutron.all('ports').length, 0);
  });

  it('after a restart, a container left in Creating is torn down and marked Error', async () => {
    await makeFoo();
    const c = (await run({ nets: [{ network: 'foo' }] })).body;
    await h.store.containers.update(c.uuid, { status: 'Creating' });
    assert.equal(await h.containers.recover(), 1);
    const show = await call('GET', `/v1/containers/${c.uuid}`);
    assert.equal(show.body.status, 'Error');
    assert.match(show.body.status_reason, /restarted while the container was Creating/);
    assert.equal(h.neutron.all('ports').length, 0);
    assert.equal(h.docker.containers.size, 0);
  });

  it('several nets: the first is the sandbox\'s network, the others are connected with their ports\' IPs', async () => {
    const { net } = await makeFoo();
    const bar = h.neutron.add('networks', { name: 'barnet', project_id: 'p1' });
    h.neutron.add('subnets', { network_id: bar.id, project_id: 'p1', ip_version: 4, cidr: '10.3.0.0/24', gateway_ip: '10.3.0.1', subnetpool_id: null });
    const c = (await run({ nets: [{ network: 'foo' }, { network: 'barnet', 'v4-fixed-ip': '10.3.0.20' }] })).body;
    const show = await call('GET', `/v1/containers/${c.uuid}`);
    assert.equal(show.body.status, 'Running', show.body.status_reason);
    assert.deepEqual(Object.keys(show.body.addresses).sort(), [net.id, bar.id].sort());
    const sandbox = [...h.docker.containers.values()].find((x) => x.spec.name.startsWith('zun-sandbox-'))!;
    assert.equal(sandbox.spec.networkMode, net.id);
    assert.deepEqual(sandbox.networks.get(bar.id), { network: bar.id, ipv4: '10.3.0.20' });
    const dup = await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'foo' }, { network: 'testnet' }] });
    assert.equal(dup.status, 400, 'one port per network');
  });

  it('Neutron down → 503 with the cause at create, no row', async () => {
    h.neutron.failNext(/^GET networks$/, new NeutronError('GET', '/v2.0/networks', undefined, undefined, 'ECONNREFUSED'));
    const r = await call('POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'x' }] });
    assert.equal(r.status, 503);
    assert.match(r.body.errors[0].detail, /ECONNREFUSED/);
    assert.equal((await call('GET', '/v1/containers')).body.containers.length, 0);
  });
});

describe('zun-api: exposed ports and security groups', () => {
  it('exposed_ports makes SG zun-<uuid> with v4 and v6 rules on the port; deleted with the container', async () => {
    await makeFoo();
    const c = (await run({ nets: [{ network: 'foo' }], exposed_ports: { '80': {}, '53/udp': {} } })).body;
    const show = await call('GET', `/v1/containers/${c.uuid}`);
    assert.equal(show.body.status, 'Running', show.body.status_reason);
    assert.deepEqual(show.body.ports.sort(), [53, 80]);
    const [sg] = h.neutron.all('security-groups');
    assert.equal(sg!.name, `zun-${c.uuid}`);
    assert.deepEqual(show.body.security_groups, [sg!.id]);
    assert.equal(h.neutron.all('security-group-rules').length, 4);
    assert.deepEqual(h.neutron.all('ports')[0]!.security_groups, [sg!.id]);
    await call('DELETE', `/v1/containers/${c.uuid}?stop=true`);
    assert.equal(h.neutron.all('security-groups').length, 0);
  });

  it('security_groups resolve by name to ids (missing → 400, ambiguous → 409); not together with exposed_ports', async () => {
    await makeFoo();
    const web = h.neutron.add('security-groups', { name: 'web', project_id: 'p1' });
    const c = (await run({ nets: [{ network: 'foo' }], security_groups: ['web', 'web'] })).body;
    assert.deepEqual(c.security_groups, [web.id]);
    assert.deepEqual(h.neutron.all('ports')[0]!.security_groups, [web.id]);
    assert.equal((await call('POST', '/v1/containers', { image: 'kuryr/busybox', security_groups: ['nope'] })).status, 400);
    h.neutron.add('security-groups', { name: 'web', project_id: 'p1' });
    assert.equal((await call('POST', '/v1/containers', { image: 'kuryr/busybox', security_groups: ['web'] })).status, 409);
    const both = await call('POST', '/v1/containers', { image: 'kuryr/busybox', security_groups: ['web'], exposed_ports: { '80': {} } });
    assert.equal(both.status, 400);
  });

  it('bad exposed ports → 400 naming the value; below 1.24 → 406', async () => {
    const proto = await call('POST', '/v1/containers', { image: 'kuryr/busybox', exposed_ports: { '80/sctp': {} } });
    assert.equal(proto.status, 400);
    assert.match(proto.body.errors[0].detail, /sctp is an invalid protocol/);
    const port = await call('POST', '/v1/containers', { image: 'kuryr/busybox', exposed_ports: { http: {} } });
    assert.match(port.body.errors[0].detail, /http is invalid as publish port/);
    const old = await call('POST', '/v1/containers', { image: 'kuryr/busybox', exposed_ports: { '80': {} } }, { ...P1, 'openstack-api-version': 'container 1.23' });
    assert.equal(old.status, 406);
  });
});

describe('zun-api: actions', () => {
  it('stop, start, logs, execute with Zun\'s state rules', async () => {
    await makeFoo();
    const c = (await run({ nets: [{ network: 'foo' }] })).body;
    assert.equal((await call('POST', `/v1/containers/${c.uuid}/start`)).status, 409);
    assert.equal((await call('POST', `/v1/containers/${c.uuid}/stop`)).status, 202);
    assert.equal((await call('GET', `/v1/containers/${c.uuid}`)).body.status, 'Stopped');
    assert.equal((await call('POST', `/v1/containers/${c.uuid}/execute?command=ls`)).status, 409);
    assert.equal((await call('POST', `/v1/containers/${c.uuid}/start`)).status, 202);
    const logs = await call('GET', `/v1/containers/${c.uuid}/logs`);
    assert.equal(logs.status, 200);
    assert.match(String(logs.body), /logs of zun-/);
    const ex = await call('POST', `/v1/containers/${c.uuid}/execute`, { command: 'echo "a b"' });
    assert.deepEqual(ex.body, { output: 'ran echo a b\n', exit_code: 0, exec_id: null, proxy_url: null });
    assert.equal((await call('DELETE', `/v1/containers/${c.uuid}?force=true`)).status, 403, 'force is admin-only');
    assert.equal((await call('DELETE', `/v1/containers/${c.uuid}?force=true`, undefined, ADMIN)).status, 204);
  });

  it('network_attach / network_detach / network_list', async () => {
    const { net } = await makeFoo();
    const bar = h.neutron.add('networks', { name: 'barnet', project_id: 'p1' });
    h.neutron.add('subnets', { network_id: bar.id, project_id: 'p1', ip_version: 4, cidr: '10.3.0.0/24', gateway_ip: '10.3.0.1', subnetpool_id: null });
    const c = (await run({ nets: [{ network: 'foo' }] })).body;
    const url = `/v1/containers/${c.uuid}`;
    assert.equal((await call('POST', `${url}/network_attach?network=barnet&fixed_ip=10.3.0.9`)).status, 200);
    let nl = (await call('GET', `${url}/network_list`)).body.networks;
    assert.deepEqual(nl.map((n: any) => n.net_id).sort(), [net.id, bar.id].sort());
    assert.equal(nl.find((n: any) => n.net_id === bar.id).fixed_ips[0].ip_address, '10.3.0.9');
    const sandbox = [...h.docker.containers.values()].find((x) => x.spec.name.startsWith('zun-sandbox-'))!;
    assert.deepEqual(sandbox.networks.get(bar.id), { network: bar.id, ipv4: '10.3.0.9' });
    const barPort = h.neutron.all('ports').find((p) => p.network_id === bar.id)!;
    assert.equal(barPort.device_owner, 'compute:kuryr');
    assert.equal(barPort['binding:host_id'], undefined, 'kuryr binds a connected port itself (with Docker\'s MAC)');
    const again = await call('POST', `${url}/network_attach?network=barnet`);
    assert.equal(again.status, 400);
    assert.equal((await call('POST', `${url}/network_attach?network=barnet&port=x`)).status, 400);
    assert.equal((await call('POST', `${url}/network_detach`)).status, 400, 'exactly one of network/port');
    assert.equal((await call('POST', `${url}/network_detach?network=barnet`)).status, 202);
    nl = (await call('GET', `${url}/network_list`)).body.networks;
    assert.deepEqual(nl.map((n: any) => n.net_id), [net.id]);
    assert.equal(h.neutron.all('ports').length, 1);
    assert.equal((await call('POST', `${url}/network_detach?network=barnet`)).status, 400, 'not attached');
    const oldAttach = await call('POST', `${url}/network_attach?network=barnet`, undefined, { ...P1, 'openstack-api-version': 'container 1.7' });
    assert.equal(oldAttach.status, 406);
  });
});

describe('zun-api: attach and detach by port', () => {
  it('attaches a user\'s port, detaches it by port (unbound, kept), refuses a port that is not attached', async () => {
    const { net } = await makeFoo();
    const bar = h.neutron.add('networks', { name: 'barnet', project_id: 'p1' });
    const barSub = h.neutron.add('subnets', { network_id: bar.id, project_id: 'p1', ip_version: 4, cidr: '10.3.0.0/24', gateway_ip: '10.3.0.1', subnetpool_id: null });
    const mine = h.neutron.add('ports', { name: 'mine', network_id: bar.id, project_id: 'p1', status: 'DOWN', device_id: '', device_owner: '', fixed_ips: [{ subnet_id: barSub.id, ip_address: '10.3.0.50' }] });
    h.neutron.add('ports', { name: 'other', network_id: net.id, project_id: 'p1', status: 'DOWN', device_id: '', device_owner: '', fixed_ips: [] });
    const c = (await run({ nets: [{ network: 'foo' }] })).body;
    const url = `/v1/containers/${c.uuid}`;
    assert.equal((await call('POST', `${url}/network_attach?port=mine`)).status, 200);
    assert.equal(mine.device_id, c.uuid);
    const nl = (await call('GET', `${url}/network_list`)).body.networks;
    assert.ok(nl.some((n: any) => n.port_id === mine.id));
    assert.equal((await call('POST', `${url}/network_detach?port=other`)).status, 400, 'not attached');
    assert.equal((await call('POST', `${url}/network_detach?port=mine`, undefined, { ...P1, 'openstack-api-version': 'container 1.16' })).status, 406, 'port needs 1.17');
    assert.equal((await call('POST', `${url}/network_detach?port=mine`)).status, 202);
    assert.equal(mine.device_id, '');
    assert.ok(h.neutron.all('ports').some((p) => p.id === mine.id), 'the user port is kept');
  });
});

describe('zun-api: isolation, policy, versions, validation', () => {
  it('another project\'s network and container are 404, and absent from its lists', async () => {
    await makeFoo();
    const c = (await run({ nets: [{ network: 'foo' }] })).body;
    for (const [m, url] of [['GET', '/v1/networks/foo'], ['DELETE', '/v1/networks/foo'], ['GET', `/v1/containers/${c.uuid}`], ['DELETE', `/v1/containers/${c.uuid}?stop=true`], ['POST', `/v1/containers/${c.uuid}/stop`], ['GET', `/v1/containers/${c.uuid}/network_list`]] as const) {
      assert.equal((await call(m, url, undefined, P2)).status, 404, `${m} ${url}`);
    }
    assert.equal((await call('GET', '/v1/containers', undefined, P2)).body.containers.length, 0);
    assert.equal((await call('GET', '/v1/networks', undefined, P2)).body.networks.length, 0);
    assert.equal((await call('GET', '/v1/containers?all_projects=true', undefined, P2)).status, 403);
    assert.equal((await call('GET', '/v1/containers?all_projects=true', undefined, asAdmin('p2'))).body.containers.length, 1);
  });

  it('schema violations → 400 naming the field', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['/v1/networks', { neutron_net_id: 'x' }, /name/],
      ['/v1/networks', { name: 'foo', neutron_net_id: 'x', colour: 'red' }, /colour/],
      ['/v1/networks', { name: '-bad', neutron_net_id: 'x' }, /field\/attribute name/],
      ['/v1/containers', { nets: [] }, /image/],
      ['/v1/containers', { image: 'x', nets: [{ network: 'a', 'v4-fixed-ip': '10.0.0.300' }] }, /nets\.0\.v4-fixed-ip/],
      ['/v1/containers', { image: 'x', nets: [{ network: 'a', port: 'b' }] }, /nets\.0/],
      ['/v1/containers', { image: 'x', nets: [{ net: 'a' }] }, /nets\.0\.net/],
    ];
    for (const [url, body, re] of cases) {
      const r = await call('POST', url, body);
      assert.equal(r.status, 400, `${url} ${JSON.stringify(body)}`);
      assert.equal(r.body.errors[0].status, 400);
      assert.equal(r.body.errors[0].title, r.body.errors[0].detail, 'the title is the message, as Zun (python-zunclient prints it)');
      assert.match(r.body.errors[0].detail, re, r.body.errors[0].detail);
    }
  });

  it('microversions: header echoed, out of range → 406, DELETE network needs 1.27', async () => {
    const r = await call('GET', '/v1/networks', undefined, { ...P1, 'openstack-api-version': 'container 1.40' });
    assert.equal(r.headers['openstack-api-version'], 'container 1.40');
    assert.equal((await call('GET', '/v1/networks', undefined, { ...P1, 'openstack-api-version': 'container 1.41' })).status, 406);
    assert.equal((await call('GET', '/v1/networks', undefined, { ...P1, 'openstack-api-version': 'container x' })).status, 406);
    await makeFoo();
    const noVersion: Record<string, string> = { ...P1 };
    delete noVersion['openstack-api-version'];
    const d = await call('DELETE', '/v1/networks/foo', undefined, noVersion);
    assert.equal(d.status, 406);
  });

  it('network create errors: 404 unknown net, 409 same name, 409 net already wrapped, 400 pool mismatch, 400 no subnet', async () => {
    const { net } = seedWorkflow(h.neutron);
    assert.equal((await call('POST', '/v1/networks', { name: 'x1', neutron_net_id: 'ghost' })).status, 404);
    assert.equal((await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet' }, P2)).status, 404);
    const otherPool = h.neutron.add('subnetpools', { name: 'otherpool', project_id: 'p1', prefixes: ['10.7.0.0/16'] });
    const mismatch = await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet', neutron_pool_id: otherPool.id });
    assert.equal(mismatch.status, 400);
    assert.equal((await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: net.id })).status, 200);
    assert.equal((await call('POST', '/v1/networks', { name: 'foo', neutron_net_id: net.id })).status, 409);
    assert.equal((await call('POST', '/v1/networks', { name: 'foo2', neutron_net_id: net.id })).status, 409);
    h.neutron.add('networks', { name: 'empty', project_id: 'p1' });
    assert.equal((await call('POST', '/v1/networks', { name: 'e', neutron_net_id: 'empty' })).status, 400);
  });

  it('serves the OpenAPI description and version documents without auth', async () => {
    const doc = await call('GET', '/v1/openapi.json', undefined, {});
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.0.3');
    assert.ok(doc.body.paths['/v1/containers/{ident}/network_attach']);
    const root = await call('GET', '/', undefined, {});
    assert.equal(root.body.default_version.max_version, '1.40');
  });
});
