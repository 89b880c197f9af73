/**
 * Persistence of the container service (consumer-owned interface; the SQL
 * implementation is db/kysely-store.ts, the in-memory fake test/zun/fakes.ts).
 * `projectId` filters: undefined means every project. Lookups never throw for
 * "missing": they resolve undefined and the domain decides (404).
 */
import type { NetworkAttachment, ZunContainer, ZunNetwork } from '../domain/model.js';

export interface NetworkStore {
  /** Throws StoreConflict when (name, project) or (neutron net, host) is taken. */
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
