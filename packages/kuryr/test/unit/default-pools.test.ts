import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDriver, dockerId } from '../harness.js';

async function createWithoutSubnet(d: ReturnType<typeof buildDriver>, ipamOpts: Record<string, string> = {}) {
  const networkId = dockerId();
  const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '', SubPool: '', Options: ipamOpts, V6: false });
  const gw = await d.ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
  await d.ok('NetworkDriver.CreateNetwork', {
    NetworkID: networkId,
    Options: { 'com.docker.network.generic': {} },
    IPv4Data: [{ AddressSpace: 'x', Pool: pool.Pool, Gateway: gw.Address }],
    IPv6Data: [],
  });
  return { networkId, poolId: String(pool.PoolID), pool: String(pool.Pool), gateway: String(gw.Address) };
}

describe('default subnet pools (no --subnet)', () => {
  it('each network gets a fresh block of the default pool (Kuryr bug C5), and the pool is never deleted (C4)', async () => {
    const d = buildDriver();
    const kuryr = await d.neutron.create('subnetpools', { name: 'kuryr', prefixes: ['10.10.0.0/16'], default_prefixlen: 24 });
    const a = await createWithoutSubnet(d);
    const b = await createWithoutSubnet(d);
    assert.equal(a.pool, '10.10.0.0/24');
    assert.equal(b.pool, '10.10.1.0/24');
    assert.equal(a.gateway, '10.10.0.1/24');
    assert.ok(d.neutron.subnets.every((s) => s.subnetpool_id === kuryr.id), 'allocated from the default pool');
    const ep = await d.attach(a);
    assert.match(ep.address, /^10\.10\.0\.\d+\/24$/);
    await d.detach(a, ep);
    d.restart();
    await d.removeNetwork(a);
    await d.removeNetwork(b);
    assert.deepEqual(d.neutron.pools.map((p) => p.id), [kuryr.id]);
    assert.equal(d.neutron.subnets.length + d.neutron.networks.length, 0);
  });

  it('a default pool replaced by the operator is used at once (no restart)', async () => {
    const d = buildDriver();
    const old = await d.neutron.create('subnetpools', { name: 'kuryr', prefixes: ['10.11.0.0/16'], default_prefixlen: 24 });
    await d.removeNetwork(await createWithoutSubnet(d));
    await d.neutron.delete('subnetpools', old.id);
    const replaced = await d.neutron.create('subnetpools', { name: 'kuryr', prefixes: ['10.12.0.0/16'], default_prefixlen: 24 });
    const net = await createWithoutSubnet(d);
    assert.equal(net.pool, '10.12.0.0/24');
    assert.ok(d.neutron.subnets.every((s) => s.subnetpool_id === replaced.id));
  });

  it('Docker asking again (a block overlapping host routes) gets the next block', async () => {
    const d = buildDriver();
    await d.neutron.create('subnetpools', { name: 'kuryr', prefixes: ['10.20.0.0/22'], default_prefixlen: 24 });
    const blocks = [];
    for (let i = 0; i < 4; i++) blocks.push((await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '', SubPool: '', Options: {}, V6: false })).Pool);
    assert.deepEqual(blocks, ['10.20.0.0/24', '10.20.1.0/24', '10.20.2.0/24', '10.20.3.0/24']);
    const full = await d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '', SubPool: '', Options: {}, V6: false });
    assert.equal(full.status, 409);
    assert.match(String(full.json.Error), /no free/);
  });

  it('--ipam-opt neutron.pool.name picks the pool to carve from', async () => {
    const d = buildDriver();
    const mine = await d.neutron.create('subnetpools', { name: 'tenant-pool', prefixes: ['10.30.0.0/16'], default_prefixlen: 26 });
    const net = await createWithoutSubnet(d, { 'neutron.pool.name': 'tenant-pool' });
    assert.equal(net.pool, '10.30.0.0/26');
    assert.equal(d.neutron.subnets[0]?.subnetpool_id, mine.id);
  });

  it('a missing default pool is a clear error', async () => {
    const d = buildDriver();
    const res = await d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '', SubPool: '', Options: {}, V6: false });
    assert.equal(res.status, 404);
    assert.match(String(res.json.Error), /default subnet pool "kuryr" .* does not exist: create it/);
  });
});
