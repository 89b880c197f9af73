/**
 * Schema migrations, in code (kysely's Migrator with an in-memory provider:
 * nothing to locate on disk after tsc). Each migration is append-only; the
 * applied ones are recorded in kysely_migration.
 *
 * 0002 (several compute hosts): a network becomes its own row (host '') plus
 * one row per host with a Docker network, so the name key must include the
 * host: (name, project_id) → (name, project_id, host). SQLite cannot drop a
 * table constraint, so there the table is rebuilt (SQLite's documented
 * 12-step procedure, foreign keys off for its duration). Existing rows are
 * split: the oldest row of each Neutron network keeps its uuid and becomes the
 * definition, a copy with a new uuid is its host's row, and the attachments
 * follow the copy.
 *
 * 0003 (crash safety): network_attachment.pending — the row is written before
 * its Neutron port is made (the intent) and stays pending until the attach
 * (or detach) is complete, so that a restart finds and finishes what a dead
 * process left half-done.
 */
import { randomUUID } from 'node:crypto';
import { Migrator, SqliteAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

const NAME_KEY = { name: 'uniq_network0name_project_host', columns: ['name', 'project_id', 'host'] };

/** The network table as 0001 made it, with 0002's name key. */
function networkTable(db: Kysely<unknown>, table: string) {
  return db.schema
    .createTable(table)
    .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('neutron_net_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('neutron_subnet_id', 'varchar(255)')
    .addColumn('neutron_subnet_v6_id', 'varchar(255)')
    .addColumn('neutron_pool_id', 'varchar(255)')
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('docker_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('docker_id', 'varchar(255)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addUniqueConstraint('uniq_network0neutron_net_id_host', ['neutron_net_id', 'host'])
    .addUniqueConstraint(NAME_KEY.name, ['name', 'project_id', 'host']);
}

const NETWORK_COLUMNS = sql.raw(
  'uuid, name, project_id, user_id, neutron_net_id, neutron_subnet_id, neutron_subnet_v6_id, neutron_pool_id, host, docker_name, docker_id, created_at, updated_at',
);

interface NetworkRow {
  uuid: string;
  name: string;
  project_id: string;
  user_id: string;
  neutron_net_id: string;
  host: string;
  docker_id: string | null;
}

/** Pre-0002 rows (one per Neutron network and host) → a definition (host '') + per-host rows. */
async function splitDefinitions(db: Kysely<unknown>): Promise<void> {
  const rows = (await sql<NetworkRow>`SELECT uuid, name, project_id, user_id, neutron_net_id, host, docker_id FROM network WHERE host <> '' ORDER BY neutron_net_id, created_at, uuid`.execute(db)).rows;
  const groups = new Map<string, NetworkRow[]>();
  for (const r of rows) groups.set(r.neutron_net_id, [...(groups.get(r.neutron_net_id) ?? []), r]);
  for (const [, [def, ...others]] of groups) {
    if (!def) continue;
    const hostRow = randomUUID();
    // the definition leaves (neutron net, host) first, so that its host's copy can take it
    await sql`UPDATE network SET host = '', docker_id = NULL WHERE uuid = ${def.uuid}`.execute(db);
    await sql`INSERT INTO network (${NETWORK_COLUMNS})
      SELECT ${hostRow}, name, project_id, user_id, neutron_net_id, neutron_subnet_id, neutron_subnet_v6_id, neutron_pool_id, ${def.host}, docker_name,
             ${def.docker_id}, created_at, updated_at
      FROM network WHERE uuid = ${def.uuid}`.execute(db);
    await sql`UPDATE network_attachment SET network_uuid = ${hostRow} WHERE network_uuid = ${def.uuid}`.execute(db);
    for (const r of others) {
      await sql`UPDATE network SET name = ${def.name}, project_id = ${def.project_id}, user_id = ${def.user_id} WHERE uuid = ${r.uuid}`.execute(db);
    }
  }
}

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('network')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('neutron_net_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('neutron_subnet_id', 'varchar(255)')
        .addColumn('neutron_subnet_v6_id', 'varchar(255)')
        .addColumn('neutron_pool_id', 'varchar(255)')
        .addColumn('host', 'varchar(255)', (c) => c.notNull())
        .addColumn('docker_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('docker_id', 'varchar(255)')
        .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
        .addUniqueConstraint('uniq_network0neutron_net_id_host', ['neutron_net_id', 'host'])
        .addUniqueConstraint('uniq_network0name_project', ['name', 'project_id'])
        .execute();
      await db.schema
        .createTable('container')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('image', 'varchar(255)', (c) => c.notNull())
        .addColumn('command', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('workdir', 'varchar(255)')
        .addColumn('hostname', 'varchar(63)')
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('task_state', 'varchar(40)')
        .addColumn('host', 'varchar(255)', (c) => c.notNull())
        .addColumn('container_id', 'varchar(255)')
        .addColumn('sandbox_id', 'varchar(255)')
        .addColumn('security_groups', 'text', (c) => c.notNull())
        .addColumn('exposed_ports', 'text', (c) => c.notNull())
        .addColumn('exposed_sg_id', 'varchar(255)')
        .addColumn('auto_start', 'integer', (c) => c.notNull())
        .addColumn('requested_nets', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('idx_container_project').on('container').columns(['project_id', 'name']).execute();
      await db.schema
        .createTable('network_attachment')
        .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('container_uuid', 'varchar(36)', (c) => c.notNull().references('container.uuid').onDelete('cascade'))
        .addColumn('network_uuid', 'varchar(36)', (c) => c.notNull().references('network.uuid'))
        .addColumn('neutron_net_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('port_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('mac_address', 'varchar(32)', (c) => c.notNull())
        .addColumn('addresses', 'text', (c) => c.notNull())
        .addColumn('preserve_on_delete', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
        .addUniqueConstraint('uniq_attachment0container_net', ['container_uuid', 'neutron_net_id'])
        .execute();
      await db.schema.createIndex('idx_attachment_network').on('network_attachment').column('network_uuid').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('network_attachment').execute();
      await db.schema.dropTable('container').execute();
      await db.schema.dropTable('network').execute();
    },
  },
  '0002_per_host_networks': {
    async up(db: Kysely<unknown>): Promise<void> {
      if (!(db.getExecutor().adapter instanceof SqliteAdapter)) {
        // PostgreSQL: transactional DDL, the Migrator wraps this in a transaction
        await db.schema.alterTable('network').dropConstraint('uniq_network0name_project').execute();
        await db.schema.alterTable('network').addUniqueConstraint(NAME_KEY.name, NAME_KEY.columns).execute();
        await splitDefinitions(db);
        return;
      }
      await sql`PRAGMA foreign_keys = OFF`.execute(db);
      try {
        await sql`BEGIN IMMEDIATE`.execute(db);
        try {
          await networkTable(db, 'network_new').execute();
          await sql`INSERT INTO network_new (${NETWORK_COLUMNS}) SELECT ${NETWORK_COLUMNS} FROM network`.execute(db);
          await sql`DROP TABLE network`.execute(db);
          await sql`ALTER TABLE network_new RENAME TO network`.execute(db);
          await splitDefinitions(db);
          const broken = await sql`PRAGMA foreign_key_check`.execute(db);
          if (broken.rows.length > 0) throw new Error(`0002_per_host_networks: foreign key check failed: ${JSON.stringify(broken.rows)}`);
          await sql`COMMIT`.execute(db);
        } catch (err) {
          await sql`ROLLBACK`.execute(db);
          throw err;
        }
      } finally {
        await sql`PRAGMA foreign_keys = ON`.execute(db);
      }
    },
  },
  '0003_attachment_pending': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('network_attachment').addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema to `target` (a migration name; tests of later migrations start from an older schema). */
export async function migrateTo(db: Kysely<unknown>, target: string): Promise<string[]> {
  const { error, results } = await new Migrator({ db, provider }).migrateTo(target);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Brings the schema to the latest version; throws the failing migration's error. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
