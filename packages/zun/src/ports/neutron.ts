/**
 * The Neutron calls of the container service (consumer owned; adapter:
 * adapters/neutron-rest.ts). The service talks to Neutron with its own
 * (admin) credentials and enforces project visibility itself (domain/
 * neutron-lookup.ts), as Zun does with its admin client for ports.
 * Errors: NeutronError (src/domain/errors.ts) with Neutron's status.
 */
export interface NNetwork {
  id: string;
  name: string;
  project_id: string;
  shared: boolean;
  'router:external'?: boolean;
  subnets: string[];
  created_at?: string;
}
export interface NSubnet {
  id: string;
  name: string;
  network_id: string;
  project_id: string;
  ip_version: 4 | 6;
  cidr: string;
  gateway_ip: string | null;
  subnetpool_id: string | null;
}
export interface NSubnetPool {
  id: string;
  name: string;
  project_id: string;
  shared: boolean;
  prefixes: string[];
}
export interface NPort {
  id: string;
  name: string;
  network_id: string;
  project_id: string;
  mac_address: string;
  fixed_ips: Array<{ subnet_id: string; ip_address: string }>;
  device_id: string;
  device_owner: string;
  status: string;
  security_groups?: string[];
  'binding:host_id'?: string;
  'binding:vif_type'?: string;
  'binding:profile'?: Record<string, unknown>;
}
export interface NSecurityGroup {
  id: string;
  name: string;
  project_id: string;
}

export interface NTypes {
  networks: NNetwork;
  subnets: NSubnet;
  subnetpools: NSubnetPool;
  ports: NPort;
  'security-groups': NSecurityGroup;
  'security-group-rules': { id: string; security_group_id: string };
}
export type NResource = keyof NTypes;
export type NQuery = Readonly<Record<string, string | boolean | readonly string[]>>;

export interface ZunNeutron {
  list<R extends NResource>(resource: R, query?: NQuery): Promise<Array<NTypes[R]>>;
  /** Resolves undefined on 404. */
  find<R extends NResource>(resource: R, id: string): Promise<NTypes[R] | undefined>;
  create<R extends NResource>(resource: R, body: Record<string, unknown>): Promise<NTypes[R]>;
  update<R extends NResource>(resource: R, id: string, body: Record<string, unknown>): Promise<NTypes[R]>;
  /** Idempotent: false when it was already gone. */
  delete(resource: NResource, id: string): Promise<boolean>;
}
