/** The container service's records, as the domain sees them (the SQL rows are mapped in db/). */

/**
 * A row of the `network` table. A Zun network wraps one Neutron network: its
 * definition row has host '' (DEFINITION_HOST, what network-create recorded;
 * the uuid and name users see), and each compute host that has its Docker
 * network (driver kuryr) has a row of its own (Zun's per-host row) with the
 * same neutron_net_id, name and project, its host and Docker id.
 */
export interface ZunNetwork {
  uuid: string;
  name: string;
  projectId: string;
  userId: string;
  neutronNetId: string;
  /** The IPv4 subnet the Docker network's IPAM config comes from (and v6, when the network has one). */
  neutronSubnetId: string | null;
  neutronSubnetV6Id: string | null;
  neutronPoolId: string | null;
  /** The compute host of a per-host row; '' for the definition. */
  host: string;
  /** Name of the Docker network (on every host: the Neutron net id). */
  dockerName: string;
  /** Docker network id on `host`, set once `docker network create` succeeded; null on the definition. */
  dockerId: string | null;
  createdAt: string;
  updatedAt: string;
}

export type ContainerStatus = 'Creating' | 'Created' | 'Running' | 'Stopped' | 'Error' | 'Deleting';

export interface ZunContainer {
  uuid: string;
  name: string;
  projectId: string;
  userId: string;
  image: string;
  command: string[];
  environment: Record<string, string>;
  workdir: string | null;
  hostname: string | null;
  status: ContainerStatus;
  statusReason: string | null;
  taskState: string | null;
  host: string;
  /** Docker id of the app container. */
  containerId: string | null;
  /** Docker id of the sandbox (pause) container that owns the network namespace and the ports. */
  sandboxId: string | null;
  /** Neutron security group ids applied to the ports the service creates. */
  securityGroups: string[];
  /** Normalised `{"80/tcp": {}}`. */
  exposedPorts: Record<string, Record<string, never>>;
  /** The security group made for exposed_ports (deleted with the container). */
  exposedSgId: string | null;
  /** Start after create (`zun run`). */
  autoStart: boolean;
  /** The nets request as resolved at the API, kept until the async create consumed it. */
  requestedNets: RequestedNet[];
  createdAt: string;
  updatedAt: string;
}

/** One entry of `nets`, resolved against Neutron before the container row exists. */
export interface RequestedNet {
  neutronNetId: string;
  /** The Zun network to use (a `network` entry that named one). */
  networkUuid?: string;
  /** A user's pre-created port: preserved (unbound, never deleted) on delete. */
  portId?: string;
  fixedIp?: string;
  preserveOnDelete: boolean;
}

export interface AddressRecord {
  addr: string;
  version: 4 | 6;
  subnet_id: string;
}

/** network_attachment: the many-to-many between networks and containers. */
export interface NetworkAttachment {
  uuid: string;
  containerUuid: string;
  networkUuid: string;
  neutronNetId: string;
  portId: string;
  macAddress: string;
  addresses: AddressRecord[];
  /** The port is the user's: unbound, never deleted. */
  preserveOnDelete: boolean;
  projectId: string;
  createdAt: string;
  /**
   * Written before anything is made outside the database (the intent) and
   * true until the attach — or the detach — is complete: a restart finishes
   * removing a pending attachment (its port is found by device_id = the
   * container uuid when its id was never recorded).
   */
  pending: boolean;
}
