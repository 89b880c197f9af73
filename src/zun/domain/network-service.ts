/**
 * Zun networks: a named Docker network (driver and IPAM driver kuryr) on this
 * host that wraps one Neutron network, built from the user's pre-created
 * Neutron network, subnet and subnet pool (`zun network-create --neutron-net
 * N --neutron-pool P --neutron-subnet S name`), or lazily for a Neutron
 * network named in a container's `nets`. The row is inserted before Docker is
 * called (the unique (neutron net, host) key serialises creators across
 * processes) and deleted again when Docker fails. Deleting a network that
 * still has containers is refused (409).
 */
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import type { RequestContext } from './context.js';
import { scopeOf } from './context.js';
import { badRequest, conflict, describe, notFound } from './errors.js';
import type { ZunNetwork } from './model.js';
import type { NeutronLookup } from './neutron-lookup.js';
import type { Clock, Logger, ZunSettings } from './settings.js';
import { dockerFailure } from './docker-errors.js';
import type { DockerApi, DockerNetworkSpec } from '../ports/docker.js';
import type { NNetwork, NSubnet, NSubnetPool } from '../ports/neutron.js';
import { StoreConflict, type Store } from '../ports/store.js';

export interface NetworkCreateInput {
  name: string;
  neutronNet: string;
  neutronPool?: string | undefined;
  neutronSubnet?: string | undefined;
}

export class NetworkService {
  readonly #mutex = new KeyedMutex();

  constructor(
    readonly store: Store,
    readonly docker: DockerApi,
    readonly lookup: NeutronLookup,
    readonly settings: ZunSettings,
    readonly clock: Clock,
    readonly log: Logger,
  ) {}

  async create(ctx: RequestContext, input: NetworkCreateInput): Promise<ZunNetwork> {
    const net = await this.lookup.network(ctx, input.neutronNet);
    this.lookup.checkExternal(ctx, net);
    const { v4, v6 } = await this.#subnets(ctx, net, input.neutronSubnet);
    const pool = await this.#pool(ctx, input.neutronPool, v4 ?? v6!);
    if ((await this.store.networks.list({ projectId: ctx.projectId, name: input.name })).length > 0) {
      throw conflict(`A network named ${input.name} already exists`, 'ZUN_ERR_NETWORK_EXISTS');
    }
    return this.#mutex.run(net.id, async () => {
      const existing = await this.store.networks.list({ neutronNetId: net.id, host: this.settings.host });
      if (existing.length > 0) {
        const e = existing[0]!;
        const same = e.projectId === ctx.projectId ? ` (network ${e.name})` : '';
        throw conflict(`Neutron network ${net.id} is already wrapped by a container network on host ${this.settings.host}${same}`, 'ZUN_ERR_NETWORK_EXISTS');
      }
      return this.#provision(ctx, input.name, net, v4, v6, pool);
    });
  }

  /**
   * The Zun network of a Neutron network on this host, made when missing (lazy,
   * as Zun's get_or_create_network). Its name is the Neutron net id.
   */
  async ensureFor(ctx: RequestContext, net: NNetwork): Promise<ZunNetwork> {
    return this.#mutex.run(net.id, async () => {
      const existing = await this.store.networks.list({ neutronNetId: net.id, host: this.settings.host });
      if (existing[0]?.dockerId) return existing[0];
      if (existing[0]) throw conflict(`network ${existing[0].uuid} of Neutron network ${net.id} is still being created; retry`, 'ZUN_ERR_NETWORK_BUSY');
      const { v4, v6 } = await this.#subnets(ctx, net, undefined);
      return this.#provision(ctx, net.id, net, v4, v6, undefined);
    });
  }

  async list(ctx: RequestContext, allProjects = false): Promise<ZunNetwork[]> {
    return this.store.networks.list({ projectId: scopeOf(ctx, allProjects) });
  }

  /** By uuid, by name, or by Neutron net id (Zun's DELETE key), in the caller's project. */
  async get(ctx: RequestContext, ident: string): Promise<ZunNetwork> {
    const projectId = scopeOf(ctx);
    const byUuid = await this.store.networks.get(ident);
    if (byUuid && (projectId === undefined || byUuid.projectId === projectId)) return byUuid;
    let found = await this.store.networks.list({ projectId, name: ident });
    if (found.length === 0) found = await this.store.networks.list({ projectId, neutronNetId: ident });
    if (found.length === 0) throw notFound(`Network ${ident} could not be found`, 'ZUN_ERR_NETWORK_NOT_FOUND');
    if (found.length > 1) throw conflict(`Multiple networks match ${ident}; use the uuid`, 'ZUN_ERR_AMBIGUOUS_NAME');
    return found[0]!;
  }

  async delete(ctx: RequestContext, ident: string): Promise<void> {
    const n = await this.get(ctx, ident);
    await this.#mutex.run(n.neutronNetId, async () => {
      const users = await this.store.attachments.countByNetwork(n.uuid);
      if (users > 0) throw conflict(`Network ${n.name} still has ${users} container(s) attached`, 'ZUN_ERR_NETWORK_IN_USE');
      try {
        await this.docker.removeNetwork(n.dockerName);
      } catch (err) {
        throw dockerFailure(`removing Docker network ${n.dockerName}`, err);
      }
      await this.store.networks.delete(n.uuid);
      this.log.info({ network: n.uuid, docker: n.dockerName }, 'network deleted');
    });
  }

  /** At most one IPv4 and one IPv6 subnet; a named subnet must be on the network. */
  async #subnets(ctx: RequestContext, net: NNetwork, ref: string | undefined): Promise<{ v4?: NSubnet; v6?: NSubnet }> {
    if (ref) {
      const s = await this.lookup.subnet(ctx, ref, net.id);
      return s.ip_version === 4 ? { v4: s } : { v6: s };
    }
    const all = (await this.lookup.neutron.list('subnets', { network_id: net.id })) as NSubnet[];
    const v4 = all.filter((s) => s.ip_version === 4);
    const v6 = all.filter((s) => s.ip_version === 6);
    if (all.length === 0) throw badRequest(`Neutron network ${net.id} has no subnet`, 'ZUN_ERR_NO_SUBNET');
    if (v4.length > 1 || v6.length > 1) {
      throw badRequest(`Neutron network ${net.id} has several subnets of one IP version; name one (neutron_subnet)`, 'ZUN_ERR_AMBIGUOUS_SUBNET');
    }
    return { ...(v4[0] ? { v4: v4[0] } : {}), ...(v6[0] ? { v6: v6[0] } : {}) };
  }

  async #pool(ctx: RequestContext, ref: string | undefined, subnet: NSubnet): Promise<NSubnetPool | undefined> {
    if (!ref) return undefined;
    const pool = await this.lookup.pool(ctx, ref);
    if (subnet.subnetpool_id && subnet.subnetpool_id !== pool.id) {
      throw badRequest(`Subnet ${subnet.id} was not allocated from subnet pool ${pool.id}`, 'ZUN_ERR_POOL_MISMATCH');
    }
    return pool;
  }

  async #provision(
    ctx: RequestContext,
    name: string,
    net: NNetwork,
    v4: NSubnet | undefined,
    v6: NSubnet | undefined,
    pool: NSubnetPool | undefined,
  ): Promise<ZunNetwork> {
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
      host: this.settings.host,
      // Docker network names are global on the host: the Neutron net id never collides (Zun bug 1734550)
      dockerName: net.id,
      dockerId: null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.networks.insert(row);
    } catch (err) {
      if (err instanceof StoreConflict) throw conflict(`a container network for Neutron network ${net.id} already exists`, 'ZUN_ERR_NETWORK_EXISTS');
      throw err;
    }
    let dockerId: string;
    try {
      const found = await this.docker.findNetwork(row.dockerName);
      dockerId = found?.id ?? (await this.docker.createNetwork(this.#spec(row, net, v4, v6)));
    } catch (err) {
      await this.store.networks.delete(row.uuid).catch((e: unknown) => this.log.error({ err: describe(e) }, 'undo: deleting the network row failed'));
      throw dockerFailure(`creating Docker network for Neutron network ${net.id}`, err);
    }
    await this.store.networks.update(row.uuid, { dockerId, updatedAt: this.clock.now() });
    this.log.info({ network: row.uuid, neutronNet: net.id, docker: dockerId }, 'network created');
    return { ...row, dockerId };
  }

  /** docker network create -d kuryr --ipam-driver kuryr --subnet … --gateway … -o neutron.* --ipam-opt neutron.* */
  #spec(row: ZunNetwork, net: NNetwork, v4: NSubnet | undefined, v6: NSubnet | undefined): DockerNetworkSpec {
    const options: Record<string, string> = { 'neutron.net.uuid': net.id, 'neutron.net.shared': net.shared ? 'True' : 'False' };
    const ipamOptions: Record<string, string> = { 'neutron.net.shared': options['neutron.net.shared']! };
    if (v4) options['neutron.subnet.uuid'] = ipamOptions['neutron.subnet.uuid'] = v4.id;
    if (v6) options['neutron.subnet.v6.uuid'] = ipamOptions['neutron.subnet.v6.uuid'] = v6.id;
    if (row.neutronPoolId) {
      const key = v4 ? 'neutron.pool.uuid' : 'neutron.pool.v6.uuid';
      options[key] = ipamOptions[key] = row.neutronPoolId;
    }
    const cfg = (s: NSubnet): { subnet: string; gateway?: string } => ({ subnet: s.cidr, ...(s.gateway_ip ? { gateway: s.gateway_ip } : {}) });
    return {
      name: row.dockerName,
      driver: this.settings.driverName,
      ipamDriver: this.settings.driverName,
      options,
      ipamOptions,
      ipamConfig: [...(v4 ? [cfg(v4)] : []), ...(v6 ? [cfg(v6)] : [])],
      enableIpv6: v6 !== undefined,
      labels: { 'zun.network.uuid': row.uuid, 'zun.project': row.projectId },
    };
  }
}
