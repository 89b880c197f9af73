/** The SQL store on SQLite (embedded, the default): the store contract, migrations on reopen, URL forms. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase, openStore } from '../../src/zun/db/kysely-store.js';
import { container, storeContract } from '../zun/store-contract.js';

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
      assert.equal(migrations.length, 1);
      await s2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown connection URL', async () => {
    await assert.rejects(openDatabase('mysql://x'), /sqlite:\/\/\/path/);
  });
});
