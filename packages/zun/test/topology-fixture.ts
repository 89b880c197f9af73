/**
 * Two projects' objects over the fakes, for the topology view's tests: p1
 * (network `blue`, containers `web` and `db`) and p2 (network `red`,
 * container `secret-app`), spread over two compute hosts; web's port ACTIVE
 * and bound, as a Neutron agent would leave it.
 */
import assert from 'node:assert/strict';
import { as, harness, seedWorkflow, type Harness } from './fakes.js';

export interface TopologyFixture {
  h: Harness;
  web: string;
  db: string;
  secret: string;
}

async function call(h: Harness, method: 'GET' | 'POST', url: string, body: unknown, headers: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await h.app.inject({ method, url, headers, payload: body as object });
  assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return JSON.parse(res.body) as Record<string, unknown>;
}

export async function topologyFixture(): Promise<TopologyFixture> {
  const h = await harness('sqlite::memory:', { hosts: ['compute-a', 'compute-b'] });
  await h.hosts.check();
  const p1 = seedWorkflow(h.neutron, 'p1');
  const p2net = h.neutron.add('networks', { name: 'red-net', project_id: 'p2', shared: false });
  h.neutron.add('subnets', { name: 'red-subnet', network_id: p2net.id, project_id: 'p2', ip_version: 4, cidr: '10.9.0.0/24', gateway_ip: '10.9.0.1' });
  await call(h, 'POST', '/v1/networks', { name: 'blue', neutron_net_id: p1.net.id, neutron_pool_id: 'testpool', neutron_subnet_id: 'testsubnet' }, as('p1'));
  await call(h, 'POST', '/v1/networks', { name: 'red', neutron_net_id: p2net.id }, as('p2'));
  const run = async (name: string, project: string, network: string): Promise<string> => {
    const c = await call(h, 'POST', '/v1/containers?run=true', { name, image: 'kuryr/busybox', command: ['sleep', '600'], nets: [{ network }] }, as(project));
    await h.containers.idle();
    return c.uuid as string;
  };
  const web = await run('web', 'p1', 'blue');
  const db = await run('db', 'p1', 'blue');
  const secret = await run('secret-app', 'p2', 'red');
  const webPort = h.neutron.all('ports').find((p) => p.device_id === web)!;
  await h.neutron.update('ports', webPort.id, { status: 'ACTIVE' });
  return { h, web, db, secret };
}
