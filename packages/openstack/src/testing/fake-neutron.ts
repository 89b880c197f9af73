/**
 * In-memory Neutron implementing the NeutronApi port: enough of the real
 * semantics (filters, tags, IP allocation, conflicts, 404s, projects and
 * shared objects) for the domain tests of the driver and the container
 * service. Records every call; `failNext` injects an error into a chosen call;
 * `add` seeds objects that someone else (an operator, another project) made.
 */
import { randomUUID } from 'node:crypto';
import { NeutronError } from '../errors.js';
import { bigIntToIp, cidrContains, ipToBigInt, parseCidr } from '../lib/cidr.js';
import type {
  CreateBody,
  NeutronApi,
  NeutronNetwork,
  NeutronPort,
  NeutronSubnet,
  NeutronSubnetPool,
  Query,
  ResourceName,
  ResourceTypes,
} from '../neutron/types.js';

type AnyResource = { id: string; tags: string[] } & Record<string, unknown>;

export interface FakeNeutronOptions {
  /**
   * true (default, as ML2 answers an admin): a port made without binding
   * attributes shows `binding:host_id` '' and `binding:vif_type` unbound;
   * false: it has none until a caller sets them.
   */
  bindingDefaults?: boolean;
  /**
   * true: GET of one object answers its tags in the reverse order of a list (Neutron keeps no
   * order for tags: two reads of one object may differ). Default false: the stored order.
   */
  tagsInAnyOrder?: boolean;
}

export class FakeNeutron implements NeutronApi {
  readonly tables: { [R in ResourceName]: Map<string, ResourceTypes[R]> } = {
    agents: new Map(),
    networks: new Map(),
    subnets: new Map(),
    subnetpools: new Map(),
    ports: new Map(),
    'security-groups': new Map(),
    'security-group-rules': new Map(),
  };
  readonly calls: string[] = [];
  extensions = new Set(['subnet_allocation', 'standard-attr-tag', 'tag-ports-during-bulk-creation']);
  #failures: Array<{ match: RegExp; error: Error }> = [];
  #clock = 0;
  #clockHeld = false;
  readonly #bindingDefaults: boolean;
  readonly #tagsInAnyOrder: boolean;

  constructor(opts: FakeNeutronOptions = {}) {
    this.#bindingDefaults = opts.bindingDefaults ?? true;
    this.#tagsInAnyOrder = opts.tagsInAnyOrder ?? false;
  }

  /** The next call whose "METHOD resource" text matches fails with Neutron's `status`, or with the error given. */
  failNext(match: RegExp, failure: number | Error = 500, message = 'injected failure'): void {
    this.#failures.push({ match, error: typeof failure === 'number' ? new NeutronError('X', 'injected', failure, 'Injected', message) : failure });
  }

  #record(call: string): void {
    this.calls.push(call);
    const i = this.#failures.findIndex((f) => f.match.test(call));
    if (i >= 0) {
      const [f] = this.#failures.splice(i, 1);
      throw f!.error;
    }
  }

  #table(resource: ResourceName): Map<string, AnyResource> {
    return this.tables[resource] as unknown as Map<string, AnyResource>;
  }

  #notFound(resource: string, id: string): NeutronError {
    return new NeutronError('GET', `/v2.0/${resource}/${id}`, 404, `${resource}NotFound`, `${resource} ${id} could not be found`);
  }

  get #tagging(): boolean {
    return this.extensions.has('standard-attr-tag');
  }

  #noTags(what: string): NeutronError {
    return new NeutronError('PUT', what, 404, 'HTTPNotFound', 'The resource could not be found.');
  }

  async list<R extends ResourceName>(resource: R, query: Query = {}): Promise<Array<ResourceTypes[R]>> {
    this.#record(`GET ${resource}`);
    if (!this.#tagging && Object.keys(query).some((k) => k.startsWith('tags') || k.startsWith('not-tags'))) {
      throw new NeutronError('GET', `/v2.0/${resource}`, 400, 'HTTPBadRequest', `tags is an invalid filter`);
    }
    const rows = [...this.#table(resource).values()].filter((row) => matches(row, query));
    return structuredClone(rows) as unknown as Array<ResourceTypes[R]>;
  }

  async show<R extends ResourceName>(resource: R, id: string): Promise<ResourceTypes[R]> {
    this.#record(`GET ${resource}/id`);
    const row = this.#table(resource).get(id);
    if (!row) throw this.#notFound(resource, id);
    const copy = structuredClone(row);
    if (this.#tagsInAnyOrder) copy.tags.reverse();
    return copy as unknown as ResourceTypes[R];
  }

  async create<R extends ResourceName>(resource: R, body: CreateBody<R>): Promise<ResourceTypes[R]> {
    this.#record(`POST ${resource}`);
    const row = this.#stamp(this.#insert(resource, body));
    this.#replyLost(`POST ${resource}`);
    return structuredClone(row) as unknown as ResourceTypes[R];
  }

  async createBulk<R extends ResourceName>(resource: R, bodies: Array<CreateBody<R>>): Promise<Array<ResourceTypes[R]>> {
    this.#record(`POST ${resource} (bulk)`);
    const rows = bodies.map((b) => this.#stamp(this.#insert(resource, b)));
    this.#replyLost(`POST ${resource} (bulk)`);
    return rows.map((r) => structuredClone(r)) as unknown as Array<ResourceTypes[R]>;
  }

  /** Every object created from now on gets the same created_at (Neutron's timestamps have one-second steps). */
  holdClock(): void {
    this.#clockHeld = true;
  }

  #createdAt(): string {
    const at = new Date(1_700_000_000_000 + this.#clock * 1000).toISOString();
    if (!this.#clockHeld) this.#clock++;
    return at;
  }

  #insert(resource: ResourceName, body: Record<string, unknown>): AnyResource {
    const id = randomUUID();
    const created_at = this.#createdAt();
    let row: AnyResource;
    if (resource === 'networks') {
      row = { id, name: '', shared: false, mtu: 1442, subnets: [], status: 'ACTIVE', created_at, ...body, tags: [] };
    } else if (resource === 'security-groups') {
      row = { id, name: '', description: '', ...body, tags: [] };
    } else if (resource === 'security-group-rules') {
      if (!this.tables['security-groups'].has(String(body.security_group_id))) throw this.#notFound('security-group', String(body.security_group_id));
      row = { id, protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, ethertype: 'IPv4', ...body, tags: [] };
    } else if (resource === 'subnetpools') {
      row = { id, name: '', shared: false, prefixes: [], created_at, ...body, tags: [] };
    } else if (resource === 'subnets') {
      const net = this.#table('networks').get(String(body.network_id));
      if (!net) throw this.#notFound('network', String(body.network_id));
      const cidr = String(body.cidr);
      const gateway = body.gateway_ip === undefined ? bigIntToIp(parseCidr(cidr).version, parseCidr(cidr).network + 1n) : body.gateway_ip;
      row = { id, name: '', host_routes: [], subnetpool_id: null, ip_version: parseCidr(cidr).version, ...body, gateway_ip: gateway, tags: [] };
      (net.subnets as string[]).push(id);
    } else {
      const net = this.#table('networks').get(String(body.network_id));
      if (!net) throw this.#notFound('network', String(body.network_id));
      const fixed = ((body.fixed_ips as Array<{ subnet_id?: string; ip_address?: string }> | undefined) ?? [{}]).map((f) =>
        this.#allocate(String(body.network_id), f),
      );
      const mac = String(body.mac_address ?? `fa:16:3e:${hex()}:${hex()}:${hex()}`);
      if ([...this.tables.ports.values()].some((p) => p.network_id === body.network_id && p.mac_address === mac)) {
        throw new NeutronError('POST', '/v2.0/ports', 409, 'MacAddressInUse', `Unable to complete operation for network ${String(body.network_id)}. The mac address ${mac} is in use.`);
      }
      const host = String(body['binding:host_id'] ?? '');
      const binding = this.#bindingDefaults || host ? { 'binding:host_id': host, 'binding:vif_type': host ? 'ovs' : 'unbound' } : {};
      row = {
        id,
        name: '',
        device_id: '',
        device_owner: '',
        admin_state_up: true,
        status: 'DOWN',
        created_at,
        ...body,
        mac_address: mac,
        fixed_ips: fixed,
        ...binding,
        security_groups: (body.security_groups as string[] | undefined) ?? [this.defaultSecurityGroup()],
        tags: [],
      };
    }
    if (body.tags !== undefined) {
      // Neutron takes tags in a POST only with tag-creation (ports: tag-ports-during-bulk-creation).
      const ext = resource === 'ports' ? 'tag-ports-during-bulk-creation' : 'tag-creation';
      if (!this.extensions.has(ext) && !this.extensions.has('tag-creation')) {
        throw new NeutronError('POST', `/v2.0/${resource}`, 400, 'HTTPBadRequest', "Unrecognized attribute(s) 'tags'");
      }
      row.tags = [...(body.tags as string[])];
    }
    this.#table(resource).set(id, row);
    return row;
  }

  #allocate(networkId: string, f: { subnet_id?: string; ip_address?: string }): { subnet_id: string; ip_address: string } {
    const subnets = [...this.tables.subnets.values()].filter((s) => s.network_id === networkId);
    const subnet = f.subnet_id
      ? subnets.find((s) => s.id === f.subnet_id)
      : f.ip_address
        ? subnets.find((s) => cidrContains(s.cidr, f.ip_address!))
        : subnets[0];
    if (!subnet) throw new NeutronError('POST', '/v2.0/ports', 400, 'InvalidInput', `no subnet for ${JSON.stringify(f)}`);
    const used = new Set(
      [...this.tables.ports.values()].flatMap((p) => p.fixed_ips.filter((x) => x.subnet_id === subnet.id).map((x) => x.ip_address)),
    );
    if (subnet.gateway_ip) used.add(subnet.gateway_ip);
    if (f.ip_address) {
      if (used.has(f.ip_address)) {
        throw new NeutronError('POST', '/v2.0/ports', 409, 'IpAddressAlreadyAllocated', `IP address ${f.ip_address} already allocated in subnet ${subnet.id}`);
      }
      return { subnet_id: subnet.id, ip_address: f.ip_address };
    }
    const c = parseCidr(subnet.cidr);
    for (let i = 2n; i < 1n << BigInt((c.version === 4 ? 32 : 128) - c.prefixLength); i++) {
      const ip = bigIntToIp(c.version, c.network + i);
      if (!used.has(ip)) return { subnet_id: subnet.id, ip_address: ip };
    }
    throw new NeutronError('POST', '/v2.0/ports', 409, 'IpAddressGenerationFailure', 'no more addresses');
  }

  async update<R extends ResourceName>(resource: R, id: string, body: CreateBody<R>, opts: { ifRevision?: number } = {}): Promise<ResourceTypes[R]> {
    this.#record(`PUT ${resource}`);
    const row = this.#table(resource).get(id);
    if (!row) throw this.#notFound(resource, id);
    const revision = Number(row.revision_number ?? 0);
    if (opts.ifRevision !== undefined && opts.ifRevision !== revision) {
      throw new NeutronError('PUT', `/v2.0/${resource}/${id}`, 412, 'RevisionNumberConstraintFailed', `Constrained to ${opts.ifRevision}, but current revision is ${revision}`);
    }
    row.revision_number = revision + 1;
    if (resource === 'ports' && Array.isArray(body.fixed_ips)) {
      const port = row as unknown as NeutronPort;
      const keep = (body.fixed_ips as Array<{ subnet_id?: string; ip_address?: string }>).filter((f) => f.ip_address && port.fixed_ips.some((x) => x.ip_address === f.ip_address));
      port.fixed_ips = port.fixed_ips.filter((x) => keep.some((k) => k.ip_address === x.ip_address));
      for (const f of body.fixed_ips as Array<{ subnet_id?: string; ip_address?: string }>) {
        if (f.ip_address && port.fixed_ips.some((x) => x.ip_address === f.ip_address)) continue;
        port.fixed_ips.push(this.#allocate(port.network_id, f));
      }
      const { fixed_ips: _ignored, ...rest } = body;
      void _ignored;
      Object.assign(row, rest);
    } else {
      Object.assign(row, body);
    }
    if (resource === 'ports' && 'binding:host_id' in body) row['binding:vif_type'] = body['binding:host_id'] ? 'ovs' : 'unbound';
    row.updated_at = this.#timestamp();
    this.#replyLost(`PUT ${resource}`);
    return structuredClone(row) as unknown as ResourceTypes[R];
  }

  async delete(resource: ResourceName, id: string): Promise<boolean> {
    this.#record(`DELETE ${resource}`);
    const table = this.#table(resource);
    if (!table.has(id)) return false;
    if (resource === 'networks') {
      if ([...this.tables.ports.values()].some((p) => p.network_id === id)) {
        throw new NeutronError('DELETE', `/v2.0/networks/${id}`, 409, 'NetworkInUse', `network ${id} in use`);
      }
      for (const s of [...this.tables.subnets.values()].filter((x) => x.network_id === id)) this.tables.subnets.delete(s.id);
    }
    if (resource === 'subnets') {
      if ([...this.tables.ports.values()].some((p) => p.fixed_ips.some((f) => f.subnet_id === id))) {
        throw new NeutronError('DELETE', `/v2.0/subnets/${id}`, 409, 'SubnetInUse', `subnet ${id} in use`);
      }
      const s = this.tables.subnets.get(id)!;
      const net = this.tables.networks.get(s.network_id);
      if (net) net.subnets = net.subnets.filter((x) => x !== id);
    }
    if (resource === 'security-groups') {
      if ([...this.tables.ports.values()].some((p) => p.security_groups?.includes(id))) {
        throw new NeutronError('DELETE', `/v2.0/security-groups/${id}`, 409, 'SecurityGroupInUse', `Security Group ${id} in use.`);
      }
      for (const r of [...this.tables['security-group-rules'].values()].filter((x) => x.security_group_id === id)) this.tables['security-group-rules'].delete(r.id);
    }
    if (resource === 'subnetpools' && [...this.tables.subnets.values()].some((s) => s.subnetpool_id === id)) {
      throw new NeutronError('DELETE', `/v2.0/subnetpools/${id}`, 409, 'SubnetPoolInUse', `subnet pool ${id} in use`);
    }
    table.delete(id);
    this.#replyLost(`DELETE ${resource}`);
    return true;
  }

  async replaceTags(resource: ResourceName, id: string, tags: readonly string[]): Promise<void> {
    this.#record(`PUT ${resource}/tags`);
    if (!this.#tagging) throw this.#noTags(`/v2.0/${resource}/${id}/tags`);
    const row = this.#table(resource).get(id);
    if (!row) throw this.#notFound(resource, id);
    row.tags = [...tags];
  }

  async addTag(resource: ResourceName, id: string, tag: string): Promise<void> {
    this.#record(`PUT ${resource}/tag`);
    if (!this.#tagging) throw this.#noTags(`/v2.0/${resource}/${id}/tags/${tag}`);
    const row = this.#table(resource).get(id);
    if (!row) throw this.#notFound(resource, id);
    if (!row.tags.includes(tag)) row.tags.push(tag);
  }

  async removeTag(resource: ResourceName, id: string, tag: string): Promise<void> {
    this.#record(`DELETE ${resource}/tag`);
    const row = this.#table(resource).get(id);
    if (row) row.tags = row.tags.filter((t) => t !== tag);
  }

  readonly trunks = new Map<string, { parentPortId: string; subPorts: Array<{ port_id: string; segmentation_type: string; segmentation_id: number }> }>();

  /** A trunk on a parent port (trunk_details appear on the port, as in Neutron). */
  makeTrunk(parentPortId: string): string {
    const id = randomUUID();
    this.trunks.set(id, { parentPortId, subPorts: [] });
    this.#syncTrunk(id);
    return id;
  }

  #syncTrunk(id: string): void {
    const t = this.trunks.get(id)!;
    const parent = this.tables.ports.get(t.parentPortId);
    if (parent) parent.trunk_details = { trunk_id: id, sub_ports: t.subPorts.map((x) => ({ ...x })) };
  }

  async trunkSubports(trunkId: string, action: 'add_subports' | 'remove_subports', subPorts: Array<Record<string, unknown>>): Promise<void> {
    this.#record(`PUT trunks/${action}`);
    const t = this.trunks.get(trunkId);
    if (!t) throw this.#notFound('trunk', trunkId);
    for (const sp of subPorts) {
      if (action === 'add_subports') {
        if (t.subPorts.some((x) => x.segmentation_id === sp.segmentation_id)) {
          throw new NeutronError('PUT', `/v2.0/trunks/${trunkId}/add_subports`, 409, 'DuplicateSubPort', `segmentation id ${String(sp.segmentation_id)} in use`);
        }
        t.subPorts.push({ port_id: String(sp.port_id), segmentation_type: String(sp.segmentation_type), segmentation_id: Number(sp.segmentation_id) });
      } else {
        t.subPorts = t.subPorts.filter((x) => x.port_id !== sp.port_id);
      }
    }
    this.#syncTrunk(trunkId);
  }

  async hasExtension(alias: string): Promise<boolean> {
    this.#record(`GET extensions`);
    return this.extensions.has(alias);
  }

  /** Neutron's per-project `default` group (made on first use, as Neutron does). */
  defaultSecurityGroup(): string {
    const found = [...this.tables['security-groups'].values()].find((g) => g.name === 'default');
    if (found) return found.id;
    const id = randomUUID();
    this.tables['security-groups'].set(id, { id, name: 'default', tags: [] });
    return id;
  }

  /**
   * Seeds an object someone else made (no call recorded, no address
   * allocated, no check): `row` as given over the resource's defaults. Returns
   * the stored object itself, so a test sees later updates on it.
   */
  add<R extends ResourceName>(resource: R, row: Partial<ResourceTypes[R]>): ResourceTypes[R] {
    const base: AnyResource = { id: randomUUID(), name: '', project_id: '', created_at: this.#createdAt(), tags: [] };
    const defaults: Partial<Record<ResourceName, Record<string, unknown>>> = {
      networks: { shared: false, subnets: [], status: 'ACTIVE' },
      subnetpools: { shared: false, prefixes: [] },
      subnets: { host_routes: [], subnetpool_id: null, gateway_ip: null },
      ports: { device_id: '', device_owner: '', admin_state_up: true, status: 'DOWN', fixed_ips: [], mac_address: `fa:16:3e:${hex()}:${hex()}:${hex()}` },
    };
    const stored: AnyResource = { ...base, ...defaults[resource], ...row };
    if (resource === 'subnets') {
      const net = this.#table('networks').get(String(stored.network_id));
      if (net) (net.subnets as string[]).push(stored.id);
    }
    this.#table(resource).set(stored.id, stored);
    return this.tables[resource].get(stored.id)!;
  }

  /** The stored objects of a resource (live: not copies). */
  all<R extends ResourceName>(resource: R): Array<ResourceTypes[R]> {
    return [...this.tables[resource].values()];
  }

  // ---- replies lost on the way back (a client-side timeout after Neutron did the work)

  readonly #lostReplies: RegExp[] = [];

  /**
   * The next write whose "METHOD resource" text matches is carried out, but
   * its reply never arrives: the caller sees the client's timeout
   * (status undefined), as when Neutron commits a POST after the client gave up.
   */
  loseReplyOf(match: RegExp): void {
    this.#lostReplies.push(match);
  }

  #replyLost(call: string): void {
    const i = this.#lostReplies.findIndex((m) => m.test(call));
    if (i < 0) return;
    this.#lostReplies.splice(i, 1);
    const [method, resource] = call.split(' ');
    throw new NeutronError(method ?? 'X', `/v2.0/${resource ?? ''}`, undefined, undefined, 'The operation was aborted due to timeout (reply lost)');
  }

  /** Standard attributes: created_at and updated_at (a fake clock, one second per write), revision_number. */
  #stamp(row: AnyResource): AnyResource {
    const now = this.#timestamp();
    row.created_at ??= now;
    row.updated_at = now;
    row.revision_number ??= 0;
    return row;
  }

  #timestamp(): string {
    return this.#createdAt();
  }

  get networks(): NeutronNetwork[] {
    return [...this.tables.networks.values()];
  }
  get subnets(): NeutronSubnet[] {
    return [...this.tables.subnets.values()];
  }
  get pools(): NeutronSubnetPool[] {
    return [...this.tables.subnetpools.values()];
  }
  get ports(): NeutronPort[] {
    return [...this.tables.ports.values()];
  }
}

function hex(): string {
  return Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
}

function matches(row: AnyResource, query: Query): boolean {
  for (const [key, raw] of Object.entries(query)) {
    if (typeof raw === 'boolean') {
      // shared=false, router:external=true: an absent attribute is false
      if (Boolean(row[key]) !== raw) return false;
      continue;
    }
    const values = Array.isArray(raw) ? (raw as string[]) : [String(raw)];
    if (key === 'tags') {
      if (!values.flatMap((v) => v.split(',')).every((t) => row.tags.includes(t))) return false;
    } else if (key === 'fixed_ips') {
      const fixed = (row.fixed_ips ?? []) as Array<{ subnet_id: string; ip_address: string }>;
      const want = values.map((v) => v.split('=') as [string, string]);
      const ips = want.filter(([k]) => k === 'ip_address').map(([, v]) => v);
      const subnets = want.filter(([k]) => k === 'subnet_id').map(([, v]) => v);
      const ok = fixed.some(
        (f) => (ips.length === 0 || ips.includes(f.ip_address)) && (subnets.length === 0 || subnets.includes(f.subnet_id)),
      );
      if (!ok) return false;
    } else if (key === 'limit' || key === 'fields') {
      continue;
    } else if (!values.includes(String(row[key]))) {
      return false;
    }
  }
  return true;
}

export { ipToBigInt };
