/**
 * Store over SQL with kysely: SQLite (better-sqlite3, embedded, the default)
 * or PostgreSQL (pg), chosen by the connection URL. Unique violations become
 * StoreConflict for the domain.
 */
import { Kysely, PostgresDialect, SqliteDialect, type Selectable } from 'kysely';
import type { AddressRecord, NetworkAttachment, RequestedNet, ZunContainer, ZunNetwork } from '../domain/model.js';
import { StoreConflict, type AttachmentStore, type ContainerStore, type NetworkStore, type Store } from '../ports/store.js';
import { migrateToLatest } from './migrations.js';
import type { ContainerTable, Database, NetworkAttachmentTable, NetworkTable } from './schema.js';

/** `sqlite:///abs/path.db`, `sqlite://:memory:` / `sqlite::memory:`, or `postgresql://user@host:port/db`. */
export async function openDatabase(url: string): Promise<Kysely<Database>> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pg = await import('pg');
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.default.Pool({ connectionString: url, max: 5 }) }) });
  }
  const m = /^sqlite:(?:\/\/)?(.*)$/.exec(url);
  if (!m) throw new Error(`[database] connection ${url}: use sqlite:///path/to/zun.db or postgresql://user@host:port/db`);
  const { default: SQLite } = await import('better-sqlite3');
  const path = m[1] === '' || m[1] === ':memory:' ? ':memory:' : m[1]!;
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
}

export async function openStore(url: string): Promise<KyselyStore> {
  const db = await openDatabase(url);
  await migrateToLatest(db as unknown as Kysely<unknown>);
  return new KyselyStore(db);
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint/.test(e.message ?? '');
}

async function guard<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreConflict((err as Error).message);
    throw err;
  }
}

const json = (v: unknown): string => JSON.stringify(v);
const parse = <T>(s: string): T => JSON.parse(s) as T;

function networkRow(n: ZunNetwork): NetworkTable {
  return {
    uuid: n.uuid,
    name: n.name,
    project_id: n.projectId,
    user_id: n.userId,
    neutron_net_id: n.neutronNetId,
    neutron_subnet_id: n.neutronSubnetId,
    neutron_subnet_v6_id: n.neutronSubnetV6Id,
    neutron_pool_id: n.neutronPoolId,
    host: n.host,
    docker_name: n.dockerName,
    docker_id: n.dockerId,
    created_at: n.createdAt,
    updated_at: n.updatedAt,
  };
}
function toNetwork(r: Selectable<NetworkTable>): ZunNetwork {
  return {
    uuid: r.uuid,
    name: r.name,
    projectId: r.project_id,
    userId: r.user_id,
    neutronNetId: r.neutron_net_id,
    neutronSubnetId: r.neutron_subnet_id,
    neutronSubnetV6Id: r.neutron_subnet_v6_id,
    neutronPoolId: r.neutron_pool_id,
    host: r.host,
    dockerName: r.docker_name,
    dockerId: r.docker_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function containerRow(c: ZunContainer): ContainerTable {
  return {
    uuid: c.uuid,
    name: c.name,
    project_id: c.projectId,
    user_id: c.userId,
    image: c.image,
    command: json(c.command),
    environment: json(c.environment),
    workdir: c.workdir,
    hostname: c.hostname,
    status: c.status,
    status_reason: c.statusReason,
    task_state: c.taskState,
    host: c.host,
    container_id: c.containerId,
    sandbox_id: c.sandboxId,
    security_groups: json(c.securityGroups),
    exposed_ports: json(c.exposedPorts),
    exposed_sg_id: c.exposedSgId,
    auto_start: c.autoStart ? 1 : 0,
    requested_nets: json(c.requestedNets),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}
function toContainer(r: Selectable<ContainerTable>): ZunContainer {
  return {
    uuid: r.uuid,
    name: r.name,
    projectId: r.project_id,
    userId: r.user_id,
    image: r.image,
    command: parse<string[]>(r.command),
    environment: parse<Record<string, string>>(r.environment),
    workdir: r.workdir,
    hostname: r.hostname,
    status: r.status as ZunContainer['status'],
    statusReason: r.status_reason,
    taskState: r.task_state,
    host: r.host,
    containerId: r.container_id,
    sandboxId: r.sandbox_id,
    securityGroups: parse<string[]>(r.security_groups),
    exposedPorts: parse<Record<string, Record<string, never>>>(r.exposed_ports),
    exposedSgId: r.exposed_sg_id,
    autoStart: Number(r.auto_start) === 1,
    requestedNets: parse<RequestedNet[]>(r.requested_nets),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function attachmentRow(a: NetworkAttachment): NetworkAttachmentTable {
  return {
    uuid: a.uuid,
    container_uuid: a.containerUuid,
    network_uuid: a.networkUuid,
    neutron_net_id: a.neutronNetId,
    port_id: a.portId,
    mac_address: a.macAddress,
    addresses: json(a.addresses),
    preserve_on_delete: a.preserveOnDelete ? 1 : 0,
    project_id: a.projectId,
    created_at: a.createdAt,
  };
}
function toAttachment(r: Selectable<NetworkAttachmentTable>): NetworkAttachment {
  return {
    uuid: r.uuid,
    containerUuid: r.container_uuid,
    networkUuid: r.network_uuid,
    neutronNetId: r.neutron_net_id,
    portId: r.port_id,
    macAddress: r.mac_address,
    addresses: parse<AddressRecord[]>(r.addresses),
    preserveOnDelete: Number(r.preserve_on_delete) === 1,
    projectId: r.project_id,
    createdAt: r.created_at,
  };
}

/** Maps a partial domain patch to column updates through the full-row mapper. */
function patchOf<D extends object, R extends object>(patch: Partial<D>, full: (d: D) => R, keys: Record<string, keyof R>): Partial<R> {
  const probe = full(patch as D) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(patch)) {
    const col = keys[k] as string | undefined;
    if (col !== undefined) out[col] = probe[col];
  }
  return out as Partial<R>;
}
const snake = (k: string): string => k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
const NETWORK_KEYS: Record<string, keyof NetworkTable> = Object.fromEntries(
  ['uuid', 'name', 'projectId', 'userId', 'neutronNetId', 'neutronSubnetId', 'neutronPoolId', 'host', 'dockerName', 'dockerId', 'createdAt', 'updatedAt']
    .map((k) => [k, snake(k) as keyof NetworkTable])
    .concat([['neutronSubnetV6Id', 'neutron_subnet_v6_id']]),
);
const CONTAINER_KEYS: Record<string, keyof ContainerTable> = Object.fromEntries(
  [
    'uuid', 'name', 'projectId', 'userId', 'image', 'command', 'environment', 'workdir', 'hostname', 'status', 'statusReason', 'taskState', 'host',
    'containerId', 'sandboxId', 'securityGroups', 'exposedPorts', 'exposedSgId', 'autoStart', 'requestedNets', 'createdAt', 'updatedAt',
  ].map((k) => [k, snake(k) as keyof ContainerTable]),
);

// JSON columns must be mapped even when the patch has only them: give the row mappers safe defaults.
const containerPatch = (p: Partial<ZunContainer>): Partial<ContainerTable> =>
  patchOf<ZunContainer, ContainerTable>(
    p,
    (c) => {
      const defaults: Partial<ZunContainer> = { command: [], environment: {}, securityGroups: [], exposedPorts: {}, requestedNets: [] };
      return containerRow({ ...defaults, ...(c as Partial<ZunContainer>) } as ZunContainer);
    },
    CONTAINER_KEYS,
  );

export class KyselyStore implements Store {
  readonly networks: NetworkStore;
  readonly containers: ContainerStore;
  readonly attachments: AttachmentStore;

  constructor(readonly db: Kysely<Database>) {
    this.networks = {
      insert: async (n) => void (await guard(db.insertInto('network').values(networkRow(n)).execute())),
      update: async (uuid, patch) => {
        const cols = patchOf<ZunNetwork, NetworkTable>(patch, networkRow, NETWORK_KEYS);
        if (Object.keys(cols).length > 0) await guard(db.updateTable('network').set(cols).where('uuid', '=', uuid).execute());
      },
      get: async (uuid) => {
        const r = await db.selectFrom('network').selectAll().where('uuid', '=', uuid).executeTakeFirst();
        return r ? toNetwork(r) : undefined;
      },
      list: async (f) => {
        let q = db.selectFrom('network').selectAll().orderBy('created_at').orderBy('uuid');
        if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
        if (f.name !== undefined) q = q.where('name', '=', f.name);
        if (f.neutronNetId !== undefined) q = q.where('neutron_net_id', '=', f.neutronNetId);
        if (f.host !== undefined) q = q.where('host', '=', f.host);
        return (await q.execute()).map(toNetwork);
      },
      delete: async (uuid) => void (await db.deleteFrom('network').where('uuid', '=', uuid).execute()),
    };
    this.containers = {
      insert: async (c) => void (await guard(db.insertInto('container').values(containerRow(c)).execute())),
      update: async (uuid, patch) => {
        const cols = containerPatch(patch);
        if (Object.keys(cols).length > 0) await db.updateTable('container').set(cols).where('uuid', '=', uuid).execute();
      },
      get: async (uuid) => {
        const r = await db.selectFrom('container').selectAll().where('uuid', '=', uuid).executeTakeFirst();
        return r ? toContainer(r) : undefined;
      },
      list: async (f) => {
        let q = db.selectFrom('container').selectAll().orderBy('created_at').orderBy('uuid');
        if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
        if (f.name !== undefined) q = q.where('name', '=', f.name);
        return (await q.execute()).map(toContainer);
      },
      countByHost: async () => {
        const rows = await db
          .selectFrom('container')
          .select((eb) => ['host', eb.fn.countAll().as('n')])
          .where('status', '!=', 'Error')
          .groupBy('host')
          .execute();
        return Object.fromEntries(rows.map((r) => [r.host, Number(r.n)]));
      },
      delete: async (uuid) => {
        await db.transaction().execute(async (tx) => {
          await tx.deleteFrom('network_attachment').where('container_uuid', '=', uuid).execute();
          await tx.deleteFrom('container').where('uuid', '=', uuid).execute();
        });
      },
    };
    this.attachments = {
      insert: async (a) => void (await guard(db.insertInto('network_attachment').values(attachmentRow(a)).execute())),
      listByContainer: async (uuid) =>
        (await db.selectFrom('network_attachment').selectAll().where('container_uuid', '=', uuid).orderBy('created_at').orderBy('uuid').execute()).map(toAttachment),
      countByNetwork: async (uuid) => {
        const r = await db.selectFrom('network_attachment').select((eb) => eb.fn.countAll().as('n')).where('network_uuid', '=', uuid).executeTakeFirst();
        return Number(r?.n ?? 0);
      },
      delete: async (uuid) => void (await db.deleteFrom('network_attachment').where('uuid', '=', uuid).execute()),
    };
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
