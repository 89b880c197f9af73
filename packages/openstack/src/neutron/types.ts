/**
 * The subset of the Neutron v2.0 API that kuryr-ts uses (the driver and the
 * container service), as their domains see it; the HTTP client is
 * neutron/client.ts. All methods throw NeutronError on failure.
 */

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

export interface NeutronNetwork {
  id: string;
  name: string;
  tags: string[];
  mtu?: number;
  shared: boolean;
  subnets: string[];
  project_id?: string;
  status?: string;
  port_security_enabled?: boolean;
  'router:external'?: boolean;
  description?: string;
  /** Standard attributes (ISO 8601, Neutron's clock). */
  created_at?: string;
  updated_at?: string;
}

export interface HostRoute {
  destination: string;
  nexthop: string;
}

export interface NeutronSubnet {
  id: string;
  name: string;
  network_id: string;
  project_id?: string;
  ip_version: 4 | 6;
  cidr: string;
  gateway_ip: string | null;
  subnetpool_id: string | null;
  host_routes: HostRoute[];
  tags: string[];
  enable_dhcp?: boolean;
  dns_nameservers?: string[];
  created_at?: string;
  updated_at?: string;
}

export interface NeutronSubnetPool {
  id: string;
  name: string;
  prefixes: string[];
  default_prefixlen?: number;
  ip_version?: 4 | 6;
  shared: boolean;
  project_id?: string;
  tags: string[];
  created_at?: string;
  updated_at?: string;
}

export interface NeutronPort {
  id: string;
  name: string;
  network_id: string;
  mac_address: string;
  fixed_ips: FixedIp[];
  device_id: string;
  device_owner: string;
  status: string;
  admin_state_up: boolean;
  tags: string[];
  security_groups?: string[];
  port_security_enabled?: boolean;
  project_id?: string;
  'binding:host_id'?: string;
  'binding:vif_type'?: string;
  'binding:vif_details'?: Record<string, unknown>;
  'binding:vnic_type'?: string;
  'binding:profile'?: Record<string, unknown>;
  allowed_address_pairs?: Array<{ ip_address: string; mac_address?: string }>;
  revision_number?: number;
  trunk_details?: { trunk_id: string; sub_ports: Array<{ port_id: string; segmentation_type: string; segmentation_id: number }> };
  created_at?: string;
  updated_at?: string;
}

export interface NeutronSecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
}

export interface NeutronSecurityGroup {
  id: string;
  name: string;
  description?: string;
  tags: string[];
  project_id?: string;
  security_group_rules?: NeutronSecurityGroupRule[];
  created_at?: string;
  updated_at?: string;
}

export interface NeutronAgent {
  id: string;
  host: string;
  agent_type: string;
  alive: boolean;
}

export interface ResourceTypes {
  agents: NeutronAgent;
  networks: NeutronNetwork;
  subnets: NeutronSubnet;
  subnetpools: NeutronSubnetPool;
  ports: NeutronPort;
  'security-groups': NeutronSecurityGroup;
  'security-group-rules': NeutronSecurityGroupRule;
}

export type ResourceName = keyof ResourceTypes;

/** Query filters; an array value is sent as repeated keys (Neutron reads them as an IN list). */
export type Query = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/** Request bodies are looser than the resources (e.g. fixed_ips without subnet_id). */
export type CreateBody<R extends ResourceName> = { [K in keyof ResourceTypes[R]]?: unknown } & Record<string, unknown>;

export interface NeutronApi {
  list<R extends ResourceName>(resource: R, query?: Query): Promise<Array<ResourceTypes[R]>>;
  show<R extends ResourceName>(resource: R, id: string): Promise<ResourceTypes[R]>;
  create<R extends ResourceName>(resource: R, body: CreateBody<R>): Promise<ResourceTypes[R]>;
  /** Bulk create in one request (`{"subnets": [...]}`). */
  createBulk<R extends ResourceName>(resource: R, bodies: Array<CreateBody<R>>): Promise<Array<ResourceTypes[R]>>;
  /** `ifRevision`: only if the object is still at that revision (412 otherwise; extension revision-if-match). */
  update<R extends ResourceName>(resource: R, id: string, body: CreateBody<R>, opts?: { ifRevision?: number }): Promise<ResourceTypes[R]>;
  /** `PUT /trunks/<id>/add_subports|remove_subports` (trunk extension). */
  trunkSubports(trunkId: string, action: 'add_subports' | 'remove_subports', subPorts: Array<Record<string, unknown>>): Promise<void>;
  /** Idempotent: resolves `false` when the resource was already gone (404). */
  delete(resource: ResourceName, id: string): Promise<boolean>;
  /** Replaces all tags of a resource in one call (`PUT /<res>/<id>/tags`). */
  replaceTags(resource: ResourceName, id: string, tags: readonly string[]): Promise<void>;
  /** Adds one tag (`PUT /<res>/<id>/tags/<tag>`): atomic, safe when several hosts tag one object. */
  addTag(resource: ResourceName, id: string, tag: string): Promise<void>;
  /** Removes one tag; idempotent (a missing tag or object is success). */
  removeTag(resource: ResourceName, id: string, tag: string): Promise<void>;
  /** Whether an API extension alias is loaded (`GET /extensions/<alias>`). */
  hasExtension(alias: string): Promise<boolean>;
}
