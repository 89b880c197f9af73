/**
 * Lookups of the Neutron objects that back Docker objects, with small bounded
 * hint caches in front. Neutron stays the source of truth: every cache entry
 * is a fact learnt from Neutron in this process (ids, CIDRs, gateways) that
 * saves a GET on the hot path; a miss, or a restart, only costs the GET.
 * Entries are evicted when the daemon deletes the object.
 */
import { BoundedMap } from '@kuryr-ts/openstack/lib/bounded-map';
import type { NeutronApi, NeutronNetwork, NeutronPort, NeutronSubnet, NeutronSubnetPool } from '@kuryr-ts/openstack/neutron/types';
import { idTags } from './naming.js';

/**
 * A Docker pool as the IPAM side sees it. Usually a Neutron subnet pool
 * (PoolID = its uuid, Kuryr's scheme). For a network made without --subnet,
 * a block carved out of the default (or named) pool: PoolID
 * `<pool uuid>/<cidr>`, `carvedFrom` = the pool's uuid, `prefixes` = [cidr].
 */
export type PoolView = NeutronSubnetPool & { carvedFrom?: string };

export function carvedPoolId(parentId: string, cidr: string): string {
  return `${parentId}/${cidr}`;
}

/** What the daemon remembers about an endpoint between CreateEndpoint, Join and DeleteEndpoint. */
export interface EndpointRecord {
  endpointId: string;
  port: NeutronPort;
  networkId: string;
  /** The `--expose` security group made for this endpoint, if any. */
  exposedGroupId?: string;
}

export class NeutronIndex {
  /**
   * Whether Neutron has the tag extensions (set by the start-up probe). Without
   * them kuryr falls back to Kuryr's name-based identity: networks named by the
   * Docker network id, ports `<endpoint id>-port`.
   */
  tagging = true;
  /** Whether Neutron takes `tags` in a POST body (the tag-creation extension, Neutron 2024.2+). */
  tagOnCreate = false;

  readonly #networks: BoundedMap<string, NeutronNetwork>;
  readonly #subnetsByNetwork: BoundedMap<string, NeutronSubnet[]>;
  readonly #pools: BoundedMap<string, NeutronSubnetPool>;
  readonly #subnetByPool: BoundedMap<string, NeutronSubnet>;
  readonly #poolIdByName: BoundedMap<string, string>;
  /** Pools this process just created: no subnet can use them yet. */
  readonly #freshPools: BoundedMap<string, true>;
  readonly #portHints: BoundedMap<string, NeutronPort>;
  readonly #endpoints: BoundedMap<string, EndpointRecord>;

  constructor(
    readonly neutron: NeutronApi,
    capacity = 4096,
  ) {
    this.#networks = new BoundedMap(capacity);
    this.#subnetsByNetwork = new BoundedMap(capacity);
    this.#pools = new BoundedMap(capacity);
    this.#subnetByPool = new BoundedMap(capacity);
    this.#poolIdByName = new BoundedMap(capacity);
    this.#freshPools = new BoundedMap(capacity);
    this.#portHints = new BoundedMap(capacity);
    this.#endpoints = new BoundedMap(capacity);
  }

  // ---- networks (keyed by Docker network id)

  async network(dockerNetworkId: string): Promise<NeutronNetwork | undefined> {
    const hit = this.#networks.get(dockerNetworkId);
    if (hit) return hit;
    const found = await this.neutron.list('networks', this.tagging ? { tags: idTags(dockerNetworkId).join(',') } : { name: dockerNetworkId });
    const net = found[0];
    if (net) this.#networks.set(dockerNetworkId, net);
    return net;
  }

  /** The Neutron network of a Docker network, only if this process knows it (no call). */
  knownNetwork(dockerNetworkId: string): NeutronNetwork | undefined {
    return this.#networks.get(dockerNetworkId);
  }

  rememberNetwork(dockerNetworkId: string, net: NeutronNetwork, subnets?: NeutronSubnet[]): void {
    this.#networks.set(dockerNetworkId, net);
    if (subnets) this.#subnetsByNetwork.set(net.id, subnets);
  }

  forgetNetwork(dockerNetworkId: string, neutronNetworkId?: string): void {
    this.#networks.delete(dockerNetworkId);
    if (neutronNetworkId) this.#subnetsByNetwork.delete(neutronNetworkId);
  }

  async subnetsOf(neutronNetworkId: string): Promise<NeutronSubnet[]> {
    const hit = this.#subnetsByNetwork.get(neutronNetworkId);
    if (hit) return hit;
    const subnets = await this.neutron.list('subnets', { network_id: neutronNetworkId });
    this.#subnetsByNetwork.set(neutronNetworkId, subnets);
    return subnets;
  }

  // ---- subnet pools (keyed by PoolID = subnetpool uuid)

  async pool(poolId: string): Promise<PoolView | undefined> {
    const hit = this.#pools.get(poolId);
    if (hit) return hit;
    const slash = poolId.indexOf('/');
    if (slash > 0) {
      const parent = await this.pool(poolId.slice(0, slash));
      return parent ? { ...parent, id: poolId, prefixes: [poolId.slice(slash + 1)], carvedFrom: parent.id } : undefined;
    }
    const found = await this.neutron.list('subnetpools', { id: poolId });
    const pool = found[0];
    if (pool) this.#pools.set(poolId, pool);
    return pool;
  }

  rememberPool(pool: NeutronSubnetPool, opts: { fresh?: boolean } = {}): void {
    this.#pools.set(pool.id, pool);
    this.#poolIdByName.set(pool.name, pool.id);
    if (opts.fresh) this.#freshPools.set(pool.id, true);
  }

  /** A pool this process created and no subnet uses yet. */
  isFreshPool(poolId: string): boolean {
    return this.#freshPools.get(poolId) === true;
  }

  /** A pool by name, only from what this process has seen (undefined = ask Neutron). */
  knownPoolByName(name: string): NeutronSubnetPool | undefined {
    const id = this.#poolIdByName.get(name);
    return id === undefined ? undefined : this.#pools.get(id);
  }

  forgetPool(poolId: string): void {
    const pool = this.#pools.get(poolId);
    if (pool && this.#poolIdByName.get(pool.name) === poolId) this.#poolIdByName.delete(pool.name);
    this.#pools.delete(poolId);
    this.#subnetByPool.delete(poolId);
    this.#freshPools.delete(poolId);
  }

  /**
   * The subnet that carries a pool's addresses: the one allocated from the
   * pool, else (an adopted subnet) the one with the pool's CIDR tagged with
   * the PoolID — which is how overlapping CIDRs in different networks are told apart.
   */
  async subnetForPool(pool: PoolView): Promise<NeutronSubnet | undefined> {
    const hit = this.#subnetByPool.get(pool.id);
    if (hit) return hit;
    if (this.#freshPools.get(pool.id)) return undefined;
    if (pool.carvedFrom) {
      const carved = (await this.neutron.list('subnets', { subnetpool_id: pool.carvedFrom, cidr: pool.prefixes[0] ?? '' }))[0];
      if (carved) this.#subnetByPool.set(pool.id, carved);
      return carved;
    }
    let subnet = (await this.neutron.list('subnets', { subnetpool_id: pool.id }))[0];
    // An existing subnet kuryr adopted lives outside the pool: it carries the PoolID as a tag.
    if (!subnet && pool.prefixes[0] && this.tagging) {
      subnet = (await this.neutron.list('subnets', { cidr: pool.prefixes[0], tags: pool.id }))[0];
    }
    if (subnet) this.#subnetByPool.set(pool.id, subnet);
    return subnet;
  }

  rememberSubnetForPool(poolId: string, subnet: NeutronSubnet): void {
    this.#subnetByPool.set(poolId, subnet);
    this.#freshPools.delete(poolId);
  }

  forgetSubnetForPool(poolId: string): void {
    this.#subnetByPool.delete(poolId);
  }

  // ---- ports handed from IPAM to the network driver, and back

  rememberPortHint(networkId: string, ip: string, port: NeutronPort): void {
    this.#portHints.set(`${networkId}|${ip}`, port);
  }

  peekPortHint(networkId: string, key: string): NeutronPort | undefined {
    return this.#portHints.get(`${networkId}|${key}`);
  }

  forgetPortHint(networkId: string, key: string): void {
    this.#portHints.delete(`${networkId}|${key}`);
  }

  takePortHint(networkId: string, ip: string): NeutronPort | undefined {
    const key = `${networkId}|${ip}`;
    const hit = this.#portHints.get(key);
    this.#portHints.delete(key);
    return hit;
  }

  // ---- endpoints

  rememberEndpoint(rec: EndpointRecord): void {
    this.#endpoints.set(rec.endpointId, rec);
  }

  endpoint(endpointId: string): EndpointRecord | undefined {
    return this.#endpoints.get(endpointId);
  }

  forgetEndpoint(endpointId: string): void {
    this.#endpoints.delete(endpointId);
  }

  /** Sizes of the caches (for leak checks). */
  sizes(): Record<string, number> {
    return {
      networks: this.#networks.size,
      subnetsByNetwork: this.#subnetsByNetwork.size,
      pools: this.#pools.size,
      subnetByPool: this.#subnetByPool.size,
      poolIdByName: this.#poolIdByName.size,
      freshPools: this.#freshPools.size,
      portHints: this.#portHints.size,
      endpoints: this.#endpoints.size,
    };
  }
}
