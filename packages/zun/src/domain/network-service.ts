/**
 * Zun networks: a named wrapper of one Neutron network (with its subnet and
 * subnet pool), built from the user's pre-created Neutron resources (`zun
 * network-create --neutron-net N --neutron-pool P --neutron-subnet S name`),
 * or lazily for a Neutron network named in a container's `nets` (then named
 * after the Neutron net id). One Zun network per Neutron network.
 *
 * network-create records the network (its definition row, host ''); the
 * Docker network is made per compute host by HostNetworks, lazily, the first
 * time a container on that host needs it — except with a single compute host,
 * where network-create makes it at once, as before there were several (its
 * errors, e.g. kuryr refusing the subnet, are network-create's, undone).
 * network-delete removes the Docker network from every host that has one,
 * refusing (409) while containers are attached or while such a host is down.
 */
import type { ComputeHosts } from './compute-hosts.js';
import type { RequestContext } from './context.js';
import { scopeOf } from './context.js';
import { badRequest, conflict, describeError, notFound } from '@kuryr-ts/openstack/errors';
import type { HostNetworks } from './host-networks.js';
import type { ZunNetwork } from './model.js';
import type { NeutronLookup } from './neutron-lookup.js';
import type { Clock, Logger } from './settings.js';
import type { NeutronNetwork, NeutronSubnet, NeutronSubnetPool } from '@kuryr-ts/openstack/neutron/types';
import { DEFINITION_HOST, StoreConflict, type Store } from '../ports/store.js';

export interface NetworkCreateInput {
  name: string;
  neutronNet: string;
  neutronPool?: string | undefined;
  neutronSubnet?: string | undefined;
}

/** A network and its rows on the hosts that have its Docker network. */
export interface NetworkDetail {
  network: ZunNetwork;
  hosts: ZunNetwork[];
}

export class NetworkService {
  constructor(
    readonly store: Store,
    readonly hostNetworks: HostNetworks,
    readonly hosts: ComputeHosts,
    readonly lookup: NeutronLookup,
    readonly clock: Clock,
    readonly log: Logger,
  ) {}

  async create(ctx: RequestContext, input: NetworkCreateInput): Promise<NetworkDetail> {
    const net = await this.lookup.network(ctx, input.neutronNet);
    this.lookup.checkExternal(ctx, net);
    const { v4, v6 } = await this.#subnets(ctx, net, input.neutronSubnet);
    const pool = await this.#pool(ctx, input.neutronPool, v4 ?? v6!);
    if ((await this.store.networks.list({ projectId: ctx.projectId, name: input.name, host: DEFINITION_HOST })).length > 0) {
      throw conflict(`A network named ${input.name} already exists`, 'ZUN_ERR_NETWORK_EXISTS');
    }
    return this.hostNetworks.lock.run(net.id, async () => {
      const existing = (await this.store.networks.list({ neutronNetId: net.id, host: DEFINITION_HOST }))[0];
      if (existing) {
        const same = existing.projectId === ctx.projectId ? ` (network ${existing.name})` : '';
        throw conflict(`Neutron network ${net.id} is already wrapped by a container network${same}`, 'ZUN_ERR_NETWORK_EXISTS');
      }
      const def = await this.#record(ctx, input.name, net, v4, v6, pool).catch((err: unknown) => {
        throw err instanceof StoreConflict ? conflict(`A network named ${input.name}, or one for Neutron network ${net.id}, already exists`, 'ZUN_ERR_NETWORK_EXISTS') : err;
      });
      const [only, ...more] = this.hosts.names();
      if (!only || more.length > 0) return { network: def, hosts: [] };
      try {
        return { network: def, hosts: [await this.hostNetworks.ensureLocked(def, only)] };
      } catch (err) {
        await this.store.networks.delete(def.uuid).catch((e: unknown) => this.log.error({ err: describeError(e) }, 'undo: deleting the network row failed'));
        throw err;
      }
    });
  }

  /**
   * The network of a Neutron network, recorded when missing (lazy, as Zun's
   * get_or_create_network; named after the Neutron net id, in the caller's
   * project). Its Docker networks are made per host by HostNetworks.
   */
  async ensureDefinition(ctx: RequestContext, net: NeutronNetwork): Promise<ZunNetwork> {
    return this.hostNetworks.lock.run(net.id, async () => {
      const existing = (await this.store.networks.list({ neutronNetId: net.id, host: DEFINITION_HOST }))[0];
      if (existing) return existing;
      const { v4, v6 } = await this.#subnets(ctx, net, undefined);
      try {
        return await this.#record(ctx, net.id, net, v4, v6, undefined);
      } catch (err) {
        // another zun-api recorded it meanwhile
        const raced = err instanceof StoreConflict ? (await this.store.networks.list({ neutronNetId: net.id, host: DEFINITION_HOST }))[0] : undefined;
        if (raced) return raced;
        throw err instanceof StoreConflict ? conflict(`a container network for Neutron network ${net.id} already exists`, 'ZUN_ERR_NETWORK_EXISTS') : err;
      }
    });
  }

  async list(ctx: RequestContext, allProjects = false): Promise<NetworkDetail[]> {
    const rows = await this.store.networks.list({ projectId: scopeOf(ctx, allProjects) });
    return rows.filter((r) => r.host === DEFINITION_HOST).map((network) => ({ network, hosts: rows.filter((r) => r.neutronNetId === network.neutronNetId && r.host !== DEFINITION_HOST) }));
  }

  /** By uuid, by name, or by Neutron net id (Zun's DELETE key), in the caller's project. */
  async get(ctx: RequestContext, ident: string): Promise<NetworkDetail> {
    const network = await this.find(ctx, ident);
    if (!network) throw notFound(`Network ${ident} could not be found`, 'ZUN_ERR_NETWORK_NOT_FOUND');
    return { network, hosts: await this.hostNetworks.rowsOf(network) };
  }

  /** The network (its definition row) named by uuid (also a host row's), name or Neutron net id; undefined when none. */
  async find(ctx: RequestContext, ident: string): Promise<ZunNetwork | undefined> {
    const projectId = scopeOf(ctx);
    const visible = (n: ZunNetwork | undefined): n is ZunNetwork => n !== undefined && (projectId === undefined || n.projectId === projectId);
    const byUuid = await this.store.networks.get(ident);
    if (visible(byUuid)) {
      if (byUuid.host === DEFINITION_HOST) return byUuid;
      const def = (await this.store.networks.list({ neutronNetId: byUuid.neutronNetId, host: DEFINITION_HOST }))[0];
      if (visible(def)) return def;
    }
    let found = await this.store.networks.list({ projectId, name: ident, host: DEFINITION_HOST });
    if (found.length === 0) found = await this.store.networks.list({ projectId, neutronNetId: ident, host: DEFINITION_HOST });
    if (found.length > 1) throw conflict(`Multiple networks match ${ident}; use the uuid`, 'ZUN_ERR_AMBIGUOUS_NAME');
    return found[0];
  }

  async delete(ctx: RequestContext, ident: string): Promise<void> {
    const { network: n } = await this.get(ctx, ident);
    await this.hostNetworks.lock.run(n.neutronNetId, async () => {
      const rows = await this.hostNetworks.rowsOf(n);
      const users = await Promise.all([n, ...rows].map(async (r) => ({ host: r.host, count: await this.store.attachments.countByNetwork(r.uuid) })));
      const total = users.reduce((sum, u) => sum + u.count, 0);
      if (total > 0) {
        const where = users.filter((u) => u.count > 0 && u.host !== DEFINITION_HOST).map((u) => u.host);
        throw conflict(`Network ${n.name} still has ${total} container(s) attached${where.length > 0 ? ` (on ${where.join(', ')})` : ''}`, 'ZUN_ERR_NETWORK_IN_USE');
      }
      await this.hostNetworks.removeAllLocked(n, rows);
      await this.store.networks.delete(n.uuid);
      this.log.info({ network: n.uuid, hosts: rows.map((r) => r.host) }, 'network deleted');
    });
  }

  /** At most one IPv4 and one IPv6 subnet; a named subnet must be on the network. */
  async #subnets(ctx: RequestContext, net: NeutronNetwork, ref: string | undefined): Promise<{ v4?: NeutronSubnet; v6?: NeutronSubnet }> {
    if (ref) {
      const s = await this.lookup.subnet(ctx, ref, net.id);
      return s.ip_version === 4 ? { v4: s } : { v6: s };
    }
    const all = await this.lookup.neutron.list('subnets', { network_id: net.id });
    const v4 = all.filter((s) => s.ip_version === 4);
    const v6 = all.filter((s) => s.ip_version === 6);
    if (all.length === 0) throw badRequest(`Neutron network ${net.id} has no subnet`, 'ZUN_ERR_NO_SUBNET');
    if (v4.length > 1 || v6.length > 1) {
      throw badRequest(`Neutron network ${net.id} has several subnets of one IP version; name one (neutron_subnet)`, 'ZUN_ERR_AMBIGUOUS_SUBNET');
    }
    return { ...(v4[0] ? { v4: v4[0] } : {}), ...(v6[0] ? { v6: v6[0] } : {}) };
  }

  async #pool(ctx: RequestContext, ref: string | undefined, subnet: NeutronSubnet): Promise<NeutronSubnetPool | undefined> {
    if (!ref) return undefined;
    const pool = await this.lookup.pool(ctx, ref);
    if (subnet.subnetpool_id && subnet.subnetpool_id !== pool.id) {
      throw badRequest(`Subnet ${subnet.id} was not allocated from subnet pool ${pool.id}`, 'ZUN_ERR_POOL_MISMATCH');
    }
    return pool;
  }

  /** Inserts the definition row (no host, no Docker network yet). StoreConflict when the name or the Neutron network is taken. */
  async #record(ctx: RequestContext, name: string, net: NeutronNetwork, v4: NeutronSubnet | undefined, v6: NeutronSubnet | undefined, pool: NeutronSubnetPool | undefined): Promise<ZunNetwork> {
    const now = this.clock.now();
    const row: ZunNetwork = {
      uuid: this.clock.newId(),
      name,
      projectId: ctx.projectId,
      userId: ctx.userId,
      neutronNetId: net.id,
      neutronSubnetId: v4?.id ?? null,
      neutronSubnetV6Id: v6?.id ?? null,
      neutronPoolId: pool?.id ?? null,
      host: DEFINITION_HOST,
      // Docker network names are global on a host: the Neutron net id never collides (Zun bug 1734550)
      dockerName: net.id,
      dockerId: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.networks.insert(row);
    this.log.info({ network: row.uuid, name, neutronNet: net.id }, 'network recorded');
    return row;
  }
}
