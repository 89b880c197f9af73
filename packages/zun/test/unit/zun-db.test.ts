/** The SQL store on SQLite (embedded, the default): the store contract, migrations on reopen (and 0002's split of per-host rows), URL forms. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { KyselyStore, openDatabase, openStore } from '../../src/db/kysely-store.js';
import { migrateTo } from '../../src/db/migrations.js';
import type { Database } from '../../src/db/schema.js';
import { container, storeContract } from '../store-contract.js';

describe('zun database (SQLite)', () => {
  it('passes the store contract in memory', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      await storeContract(store);
    } finally {
      await store.close();
    }
  });

  it('keeps rows in a file across reopen; migrations run once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zun-db-'));
    try {
      const url = `sqlite://${join(dir, 'zun.sqlite')}`;
      const s1 = await openStore(url);
      const c = container();
      await s1.containers.insert(c);
      await s1.close();
      const s2 = await openStore(url);
      assert.equal((await s2.containers.get(c.uuid))?.name, 'c1');
      const migrations = await s2.db.selectFrom('kysely_migration' as never).selectAll().execute();
      assert.equal(migrations.length, 3);
      await s2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('0002 splits a pre-multi-host network into its definition (same uuid, host \'\') and its host\'s row; attachments follow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zun-db-'));
    try {
      const url = `sqlite://${join(dir, 'zun.sqlite')}`;
      const old: Kysely<Database> = await openDatabase(url);
      assert.deepEqual(await migrateTo(old as unknown as Kysely<unknown>, '0001_initial'), ['0001_initial']);
      const now = new Date().toISOString();
      const net = { name: 'foo', project_id: 'p1', user_id: 'u1', neutron_subnet_id: 's4', neutron_subnet_v6_id: null, neutron_pool_id: 'pool', created_at: now, updated_at: now };
      await old.insertInto('network').values({ ...net, uuid: 'n-foo', neutron_net_id: 'N1', host: 'vm', docker_name: 'N1', docker_id: 'd-foo' }).execute();
      await old.insertInto('network').values({ ...net, uuid: 'n-lazy', name: 'N2', neutron_net_id: 'N2', host: 'vm', docker_name: 'N2', docker_id: 'd-lazy' }).execute();
      const c = container({ host: 'vm', status: 'Running' });
      await new KyselyStore(old).containers.insert(c);
      await old
        .insertInto('network_attachment')
        .values({ uuid: 'a1', container_uuid: c.uuid, network_uuid: 'n-foo', neutron_net_id: 'N1', port_id: 'p1', mac_address: 'fa:16:3e:00:00:01', addresses: '[]', preserve_on_delete: 0, project_id: 'p1', created_at: now })
        .execute();
      await old.destroy();

      const s = await openStore(url);
      try {
        const def = (await s.networks.get('n-foo'))!;
        assert.equal(def.host, '', 'the old uuid is the definition: users keep it');
        assert.equal(def.dockerId, null);
        const [row, ...more] = await s.networks.list({ neutronNetId: 'N1', host: 'vm' });
        assert.equal(more.length, 0);
        assert.notEqual(row!.uuid, 'n-foo');
        assert.deepEqual([row!.name, row!.projectId, row!.dockerName, row!.dockerId, row!.neutronPoolId], ['foo', 'p1', 'N1', 'd-foo', 'pool']);
        assert.equal((await s.attachments.listByContainer(c.uuid))[0]!.networkUuid, row!.uuid, 'the attachment refers to the host row');
        assert.equal((await s.networks.list({ neutronNetId: 'N2' })).length, 2, 'a lazily made network is split too');
        // the new key: one name per project among definitions, the same name on every host
        await s.networks.insert({ ...row!, uuid: 'n-foo-h2', host: 'h2', dockerId: null });
        assert.equal((await s.networks.list({ name: 'foo' })).length, 3);
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown connection URL', async () => {
    await assert.rejects(openDatabase('mysql://x'), /sqlite:\/\/\/path/);
  });
});
