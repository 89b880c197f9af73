/**
 * Schema migrations, in code (kysely's Migrator with an in-memory provider:
 * nothing to locate on disk after tsc). Each migration is append-only; the
 * applied ones are recorded in kysely_migration.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';

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
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema to the latest version; throws the failing migration's error. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
