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
import type { NetworkAttachment, ZunContainer, ZunNetwork } from '../domain/model.js';

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

export interface ContainerStore {
  insert(c: ZunContainer): Promise<void>;
  update(uuid: string, patch: Partial<ZunContainer>): Promise<void>;
  get(uuid: string): Promise<ZunContainer | undefined>;
  list(filter: { projectId?: string | undefined; name?: string }): Promise<ZunContainer[]>;
  /** Containers per host (every status but Error): the load placement compares. */
  countByHost(): Promise<Record<string, number>>;
  delete(uuid: string): Promise<void>;
}

export interface AttachmentStore {
  /** Throws StoreConflict when the container already has a port on that Neutron network. */
  insert(a: NetworkAttachment): Promise<void>;
  listByContainer(containerUuid: string): Promise<NetworkAttachment[]>;
  countByNetwork(networkUuid: string): Promise<number>;
  delete(uuid: string): Promise<void>;
}

export interface Store {
  networks: NetworkStore;
  containers: ContainerStore;
  attachments: AttachmentStore;
  close(): Promise<void>;
}

/** A unique constraint refused the row. */
export class StoreConflict extends Error {
  override readonly name = 'StoreConflict';
}
