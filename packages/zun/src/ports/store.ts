/**
 * Persistence of the container service (consumer-owned interface; the SQL
 * implementation is db/kysely-store.ts, run over SQLite :memory: by the unit
 * tests). `projectId` filters: undefined means every project. Lookups never
 * throw for "missing": they resolve undefined and the domain decides (404).
 *
 * Networks: a Zun network is one row with host '' (DEFINITION_HOST: what
 * network-create recorded) plus one row per compute host that has its Docker
 * network (Zun's per-host row), all with the same neutron_net_id; unique
 * (neutron_net_id, host) and (name, project_id, host).
 */
import { AppError } from '@kuryr-ts/openstack/errors';
import type { ContainerStatus, NetworkAttachment, ZunContainer, ZunNetwork } from '../domain/model.js';

/** The `host` of a network's own row (its definition); per-host rows carry the compute host's name. */
export const DEFINITION_HOST = '';

export interface NetworkStore {
  /** Throws StoreConflict when (name, project, host) or (neutron net, host) is taken. */
  insert(n: ZunNetwork): Promise<void>;
  update(uuid: string, patch: Partial<ZunNetwork>): Promise<void>;
  get(uuid: string): Promise<ZunNetwork | undefined>;
  list(filter: { projectId?: string | undefined; name?: string; neutronNetId?: string; host?: string }): Promise<ZunNetwork[]>;
  delete(uuid: string): Promise<void>;
}

/** What a compare-and-set transition expects the row to hold. */
export interface ContainerExpectation {
  status: readonly ContainerStatus[];
  /** When given, the row's task_state must equal it (null: no task in progress). */
  taskState?: string | null;
}

export interface ContainerStore {
  insert(c: ZunContainer): Promise<void>;
  update(uuid: string, patch: Partial<ZunContainer>): Promise<void>;
  /**
   * Compare-and-set (`UPDATE … WHERE uuid AND status IN (…) [AND task_state …]`):
   * applies `patch` only while the row still matches `expected`; false when
   * another caller changed it first (or the row is gone). One winner per
   * transition, across zun-api processes sharing the database.
   */
  transition(uuid: string, expected: ContainerExpectation, patch: Partial<ZunContainer>): Promise<boolean>;
  get(uuid: string): Promise<ZunContainer | undefined>;
  list(filter: { projectId?: string | undefined; name?: string }): Promise<ZunContainer[]>;
  /** Containers per host (every status but Error): the load placement compares. */
  countByHost(): Promise<Record<string, number>>;
  /** Deletes the row and its attachments; false when it was already gone. */
  delete(uuid: string): Promise<boolean>;
}

export interface AttachmentStore {
  /** Throws StoreConflict when the container already has a port on that Neutron network. */
  insert(a: NetworkAttachment): Promise<void>;
  /** Records the port of an attachment inserted as an intent, or its pending flag. */
  update(uuid: string, patch: Partial<Pick<NetworkAttachment, 'portId' | 'macAddress' | 'addresses' | 'pending'>>): Promise<void>;
  listByContainer(containerUuid: string): Promise<NetworkAttachment[]>;
  /** Attachments whose attach or detach never finished (pending). */
  listPending(): Promise<NetworkAttachment[]>;
  countByNetwork(networkUuid: string): Promise<number>;
  /** Deletes the row; false when it was already gone (another caller removed it). */
  delete(uuid: string): Promise<boolean>;
}

/** port_id of an attachment recorded before the service made its Neutron port (the intent). */
export const NO_PORT_YET = '';

export interface Store {
  networks: NetworkStore;
  containers: ContainerStore;
  attachments: AttachmentStore;
  close(): Promise<void>;
}

/**
 * A unique or foreign-key constraint refused the write (another request got
 * there first). A coded 409 for the API; the message never carries the
 * database's own text (the adapter keeps that as the cause).
 */
export class StoreConflict extends AppError {
  override readonly name = 'StoreConflict';
  constructor(message: string, code = 'ZUN_ERR_CONFLICT', options?: { cause?: unknown }) {
    super(code, 'conflict', message, options);
  }
}

/** The database failed (unreachable, or an error of its own): 503/500 without the database's text. */
export class StoreFailure extends AppError {
  override readonly name = 'StoreFailure';
  constructor(unreachable: boolean, options?: { cause?: unknown }) {
    super(
      unreachable ? 'ZUN_ERR_DATABASE_UNAVAILABLE' : 'ZUN_ERR_DATABASE',
      unreachable ? 'unavailable' : 'internal',
      unreachable ? 'The database is unavailable; retry later' : 'The database failed to complete the request; see the zun-api log',
      options,
    );
  }
}
