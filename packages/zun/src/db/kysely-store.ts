/**
 * Store over SQL with kysely: SQLite (better-sqlite3, embedded, the default)
 * or PostgreSQL (pg), chosen by the connection URL. Every call is guarded:
 * unique and foreign-key violations become StoreConflict (409, coded), any
 * other database failure StoreFailure (503 unreachable / 500) — the
 * database's own text stays in the cause, for the log, never in an answer.
 * Status transitions are compare-and-set (UPDATE … WHERE status IN …,
 * checking the rows affected).
 */
import { Kysely, PostgresDialect, SqliteDialect, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { AddressRecord, NetworkAttachment, RequestedNet, ZunContainer, ZunNetwork } from '../domain/model.js';
import { redactUrl } from '../lib/redact.js';
import { StoreConflict, StoreFailure, type AttachmentStore, type ContainerStore, type NetworkStore, type Store } from '../ports/store.js';
import { migrateToLatest } from './migrations.js';
import type { ContainerTable, Database, NetworkAttachmentTable, NetworkTable } from './schema.js';

/**
 * `sqlite:///abs/path.db`, `sqlite://:memory:` / `sqlite::memory:`, or
 * `postgresql://user@host:port/db` (oslo.db's `postgresql+psycopg2://` form is
 * accepted: the driver suffix is dropped).
 */
export async function openDatabase(url: string): Promise<Kysely<Database>> {
  const pgUrl = /^postgres(?:ql)?(?:\+[a-z0-9]+)?:\/\//i.exec(url);
  if (pgUrl) {
    const pg = await import('pg');
    const connectionString = `postgresql://${url.slice(pgUrl[0].length)}`;
    const pool = new pg.default.Pool({ connectionString, max: 5 });
    // An idle connection the server ended (a PostgreSQL restart, an administrator's termination, a
    // network cut): the pool drops it and the next query opens another. Unheard, the pool's error
    // event would end the process.
    pool.on('error', () => undefined);
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  const m = /^sqlite:(?:\/\/)?(.*)$/.exec(url);
  if (!m) throw new Error(`[database] connection ${redactUrl(url)}: use sqlite:///path/to/zun.db or postgresql://user@host:port/db`);
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

/** What a constraint of each table protects, in the API's words (the database's text is never shown). */
const CONFLICT_TEXT: Record<string, [string, string]> = {
  network_attachment: ['The container already has a port on that network, or it changed meanwhile (another request won)', 'ZUN_ERR_ALREADY_ATTACHED'],
  network: ['A network with that name, or for that Neutron network, already exists', 'ZUN_ERR_NETWORK_EXISTS'],
  container: ['A container with that id already exists', 'ZUN_ERR_CONFLICT'],
};

/** A database error → the store's coded errors (PostgreSQL SQLSTATE classes 23/08, SQLite's constraint codes, pg/net connection codes). */
export function storeError(err: unknown): Error {
  if (err instanceof StoreConflict || err instanceof StoreFailure) return err;
  const e = err as { code?: string; message?: string; table?: string };
  const text = e.message ?? '';
  const constraint = e.code === '23505' || e.code === '23503' || /^SQLITE_CONSTRAINT/.test(e.code ?? '') || /(UNIQUE|FOREIGN KEY) constraint/.test(text);
  if (constraint) {
    const table = e.table ?? /constraint failed: (\w+)\./.exec(text)?.[1] ?? (/network_attachment/.test(text) ? 'network_attachment' : '');
    const [message, code] = CONFLICT_TEXT[table] ?? ['The request conflicts with a change made meanwhile (another request won); retry', 'ZUN_ERR_CONFLICT'];
    return new StoreConflict(message, code, { cause: err });
  }
  const unreachable =
    /^08/.test(e.code ?? '') || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P03', 'SQLITE_BUSY'].includes(e.code ?? '') || /Connection terminated|timeout/i.test(text);
  return new StoreFailure(unreachable, { cause: err });
}

/** Every method of a store object, its failures mapped by storeError. */
function guarded<T extends object>(target: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(target)) {
    out[name] = async (...args: unknown[]): Promise<unknown> => {
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (err) {
        throw storeError(err);
      }
    };
  }
  return out as T;
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

function attachmentRow(a: NetworkAttachment): Insertable<NetworkAttachmentTable> {
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
    pending: a.pending ? 1 : 0,
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
    pending: Number(r.pending) === 1,
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
    const networks: NetworkStore = {
      insert: async (n) => void (await db.insertInto('network').values(networkRow(n)).execute()),
      update: async (uuid, patch) => {
        const cols = patchOf<ZunNetwork, NetworkTable>(patch, networkRow, NETWORK_KEYS);
        if (Object.keys(cols).length > 0) await db.updateTable('network').set(cols).where('uuid', '=', uuid).execute();
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
    const containers: ContainerStore = {
      insert: async (c) => void (await db.insertInto('container').values(containerRow(c)).execute()),
      update: async (uuid, patch) => {
        const cols = containerPatch(patch);
        if (Object.keys(cols).length > 0) await db.updateTable('container').set(cols).where('uuid', '=', uuid).execute();
      },
      transition: async (uuid, expected, patch) => {
        if (expected.status.length === 0) return false;
        let q = db.updateTable('container').set(containerPatch(patch)).where('uuid', '=', uuid).where('status', 'in', [...expected.status]);
        if (expected.taskState === null) q = q.where('task_state', 'is', null);
        else if (expected.taskState !== undefined) q = q.where('task_state', '=', expected.taskState);
        const r = await q.executeTakeFirst();
        return Number(r.numUpdatedRows) === 1;
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
      delete: async (uuid) =>
        db.transaction().execute(async (tx) => {
          await tx.deleteFrom('network_attachment').where('container_uuid', '=', uuid).execute();
          const r = await tx.deleteFrom('container').where('uuid', '=', uuid).executeTakeFirst();
          return Number(r.numDeletedRows) === 1;
        }),
    };
    const attachments: AttachmentStore = {
      insert: async (a) => void (await db.insertInto('network_attachment').values(attachmentRow(a)).execute()),
      update: async (uuid, patch) => {
        const cols: Updateable<NetworkAttachmentTable> = {
          ...(patch.portId !== undefined ? { port_id: patch.portId } : {}),
          ...(patch.macAddress !== undefined ? { mac_address: patch.macAddress } : {}),
          ...(patch.addresses !== undefined ? { addresses: json(patch.addresses) } : {}),
          ...(patch.pending !== undefined ? { pending: patch.pending ? 1 : 0 } : {}),
        };
        if (Object.keys(cols).length > 0) await db.updateTable('network_attachment').set(cols).where('uuid', '=', uuid).execute();
      },
      listByContainer: async (uuid) =>
        (await db.selectFrom('network_attachment').selectAll().where('container_uuid', '=', uuid).orderBy('created_at').orderBy('uuid').execute()).map(toAttachment),
      listPending: async () =>
        (await db.selectFrom('network_attachment').selectAll().where('pending', '=', 1).orderBy('created_at').orderBy('uuid').execute()).map(toAttachment),
      countByNetwork: async (uuid) => {
        const r = await db.selectFrom('network_attachment').select((eb) => eb.fn.countAll().as('n')).where('network_uuid', '=', uuid).executeTakeFirst();
        return Number(r?.n ?? 0);
      },
      delete: async (uuid) => Number((await db.deleteFrom('network_attachment').where('uuid', '=', uuid).executeTakeFirst()).numDeletedRows) === 1,
    };
    this.networks = guarded(networks);
    this.containers = guarded(containers);
    this.attachments = guarded(attachments);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
