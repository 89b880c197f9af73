/**
 * The container service on PostgreSQL for real: the lab's cluster on
 * 127.0.0.1:5439 (user postgres, trust), a database of our own
 * (zun_test_<pid>), created and dropped here. The store contract, then the
 * API workflow over the Neutron/Docker fakes with the PostgreSQL store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/db/kysely-store.js';
import { as, harness, seedWorkflow } from '../fakes.js';
import { storeContract } from '../store-contract.js';

const PORT = Number(process.env.KURYR_LAB_PG_PORT ?? 5439);
const DB = `zun_test_${process.pid}`;
const admin = new pg.Client({ host: '127.0.0.1', port: PORT, user: 'postgres', database: 'postgres' });
const url = `postgresql://postgres@127.0.0.1:${PORT}/${DB}`;

before(async () => {
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.query(`CREATE DATABASE ${DB}`);
});
after(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
});

describe('zun database (PostgreSQL, the lab cluster)', () => {
  it('passes the store contract', async () => {
    const store = await openStore(url);
    try {
      await storeContract(store);
    } finally {
      await store.close();
    }
  });

  it('survives the server ending its idle connections (a restart, an administrator)', async () => {
    const store = await openStore(url);
    try {
      assert.deepEqual(await store.networks.list({ projectId: 'p-none' }), []);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [DB]);
      await new Promise((r) => setTimeout(r, 200));
      // the process is still here, and the next query gets a new connection
      assert.deepEqual(await store.networks.list({ projectId: 'p-none' }), []);
    } finally {
      await store.close();
    }
  });

  it('runs the network + container workflow through the API', async () => {
    const h = await harness(url);
    try {
      seedWorkflow(h.neutron);
      const headers = as('p1');
      const net = await h.app.inject({ method: 'POST', url: '/v1/networks', headers, payload: { name: 'foo', neutron_net_id: 'testnet', neutron_pool_id: 'testpool' } });
      assert.equal(net.statusCode, 200, net.body);
      const c = await h.app.inject({ method: 'POST', url: '/v1/containers?run=true', headers, payload: { image: 'kuryr/busybox', nets: [{ network: 'foo' }] } });
      assert.equal(c.statusCode, 202);
      await h.containers.idle();
      const uuid = (c.json() as { uuid: string }).uuid;
      const show = (await h.app.inject({ method: 'GET', url: `/v1/containers/${uuid}`, headers })).json() as { status: string; addresses: Record<string, unknown[]> };
      assert.equal(show.status, 'Running');
      assert.equal(Object.keys(show.addresses).length, 1);
      assert.equal((await h.app.inject({ method: 'DELETE', url: '/v1/networks/foo', headers })).statusCode, 409);
      assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${uuid}?stop=true`, headers })).statusCode, 204);
      assert.equal((await h.app.inject({ method: 'DELETE', url: '/v1/networks/foo', headers })).statusCode, 204);
    } finally {
      await h.containers.idle();
      await h.close();
    }
  });
});
