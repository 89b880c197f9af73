/**
 * Docker networks → Neutron networks. CreateNetwork makes the network (named
 * and tagged as Kuryr does) or adopts an existing one (-o neutron.net.*),
 * makes or reuses its subnets, and undoes all of it if any step fails.
 * DeleteNetwork only untags what it adopted, and deletes what kuryr made only
 * when no other Docker network (another host, local scope) still uses it.
 * Both are idempotent.
 */
import { ipOf, normalizeCidr, normalizeIp, parseCidr, rangesExcluding } from '@kuryr-ts/openstack/lib/cidr';
import { KeyedMutex } from '@kuryr-ts/openstack/lib/keyed-mutex';
import { withUndo, type UndoStack } from '@kuryr-ts/openstack/lib/undo';
import type { NeutronApi, NeutronNetwork, NeutronSubnet } from '@kuryr-ts/openstack/neutron/types';
import { BadRequestError, ConflictError, NeutronError, describeError, needsTags } from '@kuryr-ts/openstack/errors';
import { createOnce } from './create-once.js';
import { Ledger } from './ledger.js';
import {
  SUBNET_NAME_PREFIX,
  TAG_NET_EXISTING,
  TAG_NET_LH,
  TAG_NET_SG,
  existingNetworkTag,
  idTags,
  networkDescription,
  networkName,
  poolName,
  subnetName,
} from './naming.js';
import type { SecurityGroupResolver } from './security-groups.js';
import { carvedPoolId, type NeutronIndex } from './neutron-index.js';
import { hasRef, parseNetworkOptions, type NeutronOptions } from './options.js';
import type { PoolResolver } from './pool-resolver.js';
import type { PortDeletions } from './port-deletions.js';
import type { PortPool } from './port-pool.js';
import type { DriverSettings, Logger } from './settings.js';

/**
 * Promise.all that lets every call finish before it throws the first
 * failure: an undo never runs while a write it should undo is still in
 * flight.
 */
async function allOrFirstError<T extends readonly unknown[]>(work: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** One IPAM pool of a Docker network, as CreateNetwork receives it. */
export interface IpamData {
  addressSpace: string;
  /** CIDR, e.g. 10.0.0.0/24 */
  pool: string;
  /** CIDR with the pool's mask, e.g. 10.0.0.1/24 ("0.0.0.0/0" = no gateway). */
  gateway?: string;
  auxAddresses?: Record<string, string>;
}

export interface CreateNetworkInput {
  networkId: string;
  generic: Record<string, string>;
  enableIpv6: boolean;
  ipv4Data: IpamData[];
  ipv6Data: IpamData[];
}

/** Deletes Kuryr subnet pools once nothing uses them (implemented by the IPAM service). */
export interface PoolReaper {
  deletePoolIfUnused(poolId: string): Promise<void>;
}

export interface NetworkServiceOptions {
  neutron: NeutronApi;
  /** Hint caches: networks, subnets and pools by Docker id. */
  index: NeutronIndex;
  /** Finds the subnet pool behind a Docker pool (the IPAM service's). */
  pools: PoolResolver;
  /** Deletes a Kuryr subnet pool once DeleteNetwork leaves it unused. */
  reaper: PoolReaper;
  /** Resolves `-o neutron.security_groups` names to ids. */
  sgs: SecurityGroupResolver;
  settings: DriverSettings;
  log: Logger;
  /** Nested drivers: the Neutron network a network without neutron.net.* adopts (the VM's). */
  defaultNetwork?: (() => Promise<string | undefined>) | undefined;
  /** `[vif_pool]`: this host's free ports go before the network does. */
  portPool?: PortPool | undefined;
  /** What this process has in hand (requests in flight); shared with the other services. */
  ledger?: Ledger | undefined;
  /** `[DEFAULT] delete_ports_after_reply`: the network goes once its released ports are deleted. */
  deletions?: Pick<PortDeletions, 'settled'> | undefined;
}

export class NetworkService {
  readonly #locks = new KeyedMutex();
  readonly neutron: NeutronApi;
  readonly index: NeutronIndex;
  readonly pools: PoolResolver;
  readonly reaper: PoolReaper;
  readonly sgs: SecurityGroupResolver;
  readonly settings: DriverSettings;
  readonly log: Logger;
  readonly defaultNetwork: (() => Promise<string | undefined>) | undefined;
  readonly portPool: PortPool | undefined;
  readonly ledger: Ledger;
  readonly deletions: Pick<PortDeletions, 'settled'> | undefined;

  constructor(opts: NetworkServiceOptions) {
    this.neutron = opts.neutron;
    this.index = opts.index;
    this.pools = opts.pools;
    this.reaper = opts.reaper;
    this.deletions = opts.deletions;
    this.sgs = opts.sgs;
    this.settings = opts.settings;
    this.log = opts.log;
    this.defaultNetwork = opts.defaultNetwork;
    this.portPool = opts.portPool;
    this.ledger = opts.ledger ?? new Ledger({ holdMs: 600_000 });
  }

  readonly #undoFailed = (step: string, err: unknown): void => {
    this.log.error({ step, err: describeError(err) }, 'undo failed: Neutron may hold a leftover');
  };

  async createNetwork(req: CreateNetworkInput): Promise<void> {
    let opts = parseNetworkOptions(req.generic);
    if (!hasRef(opts.net) && this.defaultNetwork) {
      const vmNet = await this.defaultNetwork();
      if (vmNet) opts = { ...opts, net: { uuid: vmNet } };
    }
    for (const d of [...req.ipv4Data.slice(1), ...req.ipv6Data.slice(1)]) {
      throw new BadRequestError(`CreateNetwork: only one pool per IP version is supported (extra pool ${d.pool})`);
    }
    const data = [...req.ipv4Data.slice(0, 1), ...req.ipv6Data.slice(0, 1)];
    await this.#locks.run(req.networkId, () => this.ledger.during([req.networkId], async () => {
      // A repeated call (Docker retrying, or another host in global scope) finds the network.
      // Only the call whose pools this very process just created cannot be a repeat: skip the GET.
      const existing = this.index.knownNetwork(req.networkId) ?? (this.#firstCall(data, opts) ? undefined : await this.index.network(req.networkId));
      if (existing) {
        this.log.info({ neutronNetworkId: existing.id }, 'CreateNetwork: network already exists (repeated call)');
        return;
      }
      await withUndo(this.#undoFailed, async (undo) => {
        // Resolve the security groups first: a bad name fails before anything is made.
        if (opts.securityGroups && !this.index.tagging) throw needsTags('-o neutron.security_groups');
        const sgIds = opts.securityGroups ? await this.sgs.resolve(opts.securityGroups, '-o') : [];
        const { net, tagging } = hasRef(opts.net) ? { net: await this.#adopt(req.networkId, opts, undo), tagging: undefined } : await this.#create(req.networkId, opts, undo);
        if (sgIds.length > 0 && net.port_security_enabled === false) {
          throw new BadRequestError(`option -o neutron.security_groups: Neutron network ${net.id} has port security disabled`, 'KURYR_ERR_BAD_OPTION');
        }
        const sgTags = sgIds.map((id) => `${TAG_NET_SG}${id}`).filter((t) => !net.tags.includes(t));
        const tagSgs = Promise.all(
          sgTags.map(async (t) => {
            await this.neutron.addTag('networks', net.id, t);
            undo.push(`untag network ${net.id}`, () => this.neutron.removeTag('networks', net.id, t));
          }),
        );
        // The network's tags and its subnets are independent writes: one round trip instead of two or three.
        const [subnets] = await allOrFirstError([this.#ensureSubnets(net, data, opts, undo), tagSgs, tagging]);
        net.tags = [...net.tags, ...sgTags];
        this.index.rememberNetwork(req.networkId, net, subnets);
      });
    }));
  }

  /**
   * Whether every pool of this CreateNetwork is a Kuryr pool this process
   * created in the RequestPool just before and no subnet uses yet. Then no
   * Neutron network can carry this Docker network's id: an earlier
   * CreateNetwork for it (a retry after a crash, another host) would have
   * needed that pool's CIDR in a pool that already existed, and RequestPool
   * would have found that one instead of creating its own.
   */
  #firstCall(data: IpamData[], opts: NeutronOptions): boolean {
    if (data.length === 0) return false;
    return data.every((d) => {
      const cidr = normalizeCidr(d.pool);
      const version = parseCidr(cidr).version;
      if (hasRef(opts.pool[version]) || hasRef(opts.subnet[version])) return false;
      const pool = this.index.knownPoolByName(poolName(this.settings.subnetpoolNamePrefix, cidr));
      return pool !== undefined && this.index.isFreshPool(pool.id);
    });
  }

  /**
   * Reuses the network's subnets for these pools or creates them. Serialised per
   * Neutron network (several Docker networks may share one); when another host
   * created the same subnet between our look and our create, look again once.
   */
  async #ensureSubnets(net: NeutronNetwork, data: IpamData[], opts: NeutronOptions, undo: UndoStack): Promise<NeutronSubnet[]> {
    return this.#locks.run(`subnets:${net.id}`, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#subnetsOnce(net, data, opts, undo);
        } catch (err) {
          const raced = attempt === 1 && hasRef(opts.net) && err instanceof NeutronError && (err.status === 400 || err.status === 409);
          if (!raced) throw err;
          this.log.info({ neutronNetworkId: net.id, err: describeError(err) }, 'CreateNetwork: subnet create conflicted, looking again');
          net = { ...net, subnets: ['(refresh)'] };
        }
      }
    });
  }

  async #subnetsOnce(net: NeutronNetwork, data: IpamData[], opts: NeutronOptions, undo: UndoStack): Promise<NeutronSubnet[]> {
    const subnets: NeutronSubnet[] = [];
    const toCreate: Array<{ body: Record<string, unknown>; poolId?: string }> = [];
    for (const d of data) {
      const plan = await this.#planSubnet(net, d, opts);
      if ('reuse' in plan) {
        if (plan.poolId && !plan.reuse.tags.includes(plan.poolId)) {
          await this.neutron.addTag('subnets', plan.reuse.id, plan.poolId);
          undo.push(`untag subnet ${plan.reuse.id}`, () => this.neutron.removeTag('subnets', plan.reuse.id, plan.poolId!));
          plan.reuse.tags = [...plan.reuse.tags, plan.poolId];
        }
        if (plan.poolId) this.index.rememberSubnetForPool(plan.poolId, plan.reuse);
        subnets.push(plan.reuse);
      } else {
        toCreate.push(plan);
      }
    }
    if (toCreate.length > 0) {
      // A PoolID tag, in the POST itself when Neutron takes tags there (a carved PoolID is no tag: too long for IPv6).
      const tagOf = (poolId?: string): string | undefined => (poolId && !poolId.includes('/') && this.index.tagging ? poolId : undefined);
      const bodies = toCreate.map((b) => {
        const tag = tagOf(b.poolId);
        return this.index.tagOnCreate && tag ? { ...b.body, tags: [tag] } : b.body;
      });
      // Identity: a network holds one subnet per CIDR (Neutron refuses overlaps within a network).
      const created = await createOnce({
        what: `subnets ${bodies.map((b) => String(b.cidr)).join(', ')} of network ${net.id}`,
        create: () => this.neutron.createBulk('subnets', bodies),
        find: async () => {
          const there = await this.neutron.list('subnets', { network_id: net.id });
          const mine = bodies.map((b) => there.find((x) => normalizeCidr(x.cidr) === b.cidr));
          return mine.every((x) => x !== undefined) ? mine : undefined;
        },
        log: this.log,
      });
      for (const s of created) undo.push(`delete subnet ${s.id}`, () => this.neutron.delete('subnets', s.id));
      await Promise.all(
        created.map(async (s, i) => {
          const poolId = toCreate[i]?.poolId;
          if (!poolId) return;
          if (!tagOf(poolId)) {
            // A carved block: found by subnetpool_id + cidr.
            this.pools.settleCarved(poolId);
          } else if (!this.index.tagOnCreate) {
            await this.neutron.replaceTags('subnets', s.id, [poolId]);
            s.tags = [poolId];
          }
          this.index.rememberSubnetForPool(poolId, s);
        }),
      );
      subnets.push(...created);
    }
    return subnets;
  }

  /**
   * POSTs the network. Without tags in the POST (Neutron before the
   * tag-creation extension), `tagging` is the PUT of its tags, left running
   * for the caller to await with the subnets.
   */
  async #create(networkId: string, opts: NeutronOptions, undo: UndoStack): Promise<{ net: NeutronNetwork; tagging?: Promise<void> | undefined }> {
    // Without tags the Docker network id is the name (Kuryr's fallback).
    const name = this.index.tagging ? networkName(networkId) : networkId;
    // The Docker network and this host, in the POST itself: the identity to find it by after an
    // unanswered POST, and the maker the reconciler asks for (docs/reconcile.md).
    const description = networkDescription(networkId, this.settings.hostId);
    const net = await createOnce({
      what: `network ${name} (${description})`,
      create: () =>
        this.neutron.create('networks', {
          name,
          description,
          admin_state_up: true,
          shared: opts.shared ?? false,
          ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
          ...(this.index.tagOnCreate ? { tags: idTags(networkId) } : {}),
        }),
      find: async () => (await this.neutron.list('networks', { name })).find((n) => n.description === description),
      log: this.log,
    });
    undo.push(`delete network ${net.id}`, () => this.neutron.delete('networks', net.id));
    if (!this.index.tagging || this.index.tagOnCreate) return { net };
    return { net: { ...net, tags: idTags(networkId) }, tagging: this.neutron.replaceTags('networks', net.id, idTags(networkId)) };
  }

  /** -o neutron.net.uuid|name: tag the user's network (several Docker networks may share it), never delete it. */
  async #adopt(networkId: string, opts: NeutronOptions, undo: UndoStack): Promise<NeutronNetwork> {
    // Kuryr renamed the user's network to the Docker id here, losing its name and then deleting it on rm (C8).
    if (!this.index.tagging) throw needsTags('-o neutron.net.uuid|name (adopting an existing network)');
    const net = await this.pools.findOne('networks', opts.net, 'neutron.net');
    // Check before tagging anything (Kuryr bug C9 left the tags behind).
    if (opts.shared !== undefined && net.shared !== opts.shared) {
      throw new ConflictError(`option -o neutron.net.shared=${opts.shared} disagrees with Neutron network ${net.id} (shared=${net.shared})`, 'KURYR_ERR_BAD_OPTION');
    }
    // A network kuryr made for another Docker network (another host, adopted by name): share it
    // as kuryr's own, so the last Docker network using it deletes it, whichever host made it.
    const kuryrMade = /^kuryr-net-[0-9a-f]{8}$/.test(net.name);
    const tags = [...idTags(networkId), ...(kuryrMade ? [] : [existingNetworkTag(networkId)])].filter((t) => !net.tags.includes(t));
    await Promise.all(
      tags.map(async (t) => {
        await this.neutron.addTag('networks', net.id, t);
        undo.push(`untag network ${net.id}`, () => this.neutron.removeTag('networks', net.id, t));
      }),
    );
    this.log.info({ neutronNetworkId: net.id }, 'CreateNetwork: adopted an existing Neutron network');
    return { ...net, tags: [...net.tags, ...tags] };
  }

  async #planSubnet(
    net: NeutronNetwork,
    d: IpamData,
    opts: NeutronOptions,
  ): Promise<{ reuse: NeutronSubnet; poolId?: string } | { body: Record<string, unknown>; poolId?: string }> {
    const cidr = normalizeCidr(d.pool);
    const { version } = parseCidr(cidr);
    const kuryrPool = await this.pools.resolve(cidr, version, opts, false);
    // No Kuryr pool: a block carved from the default (or named) pool by RequestPool without --subnet.
    const parent = kuryrPool ? undefined : await this.pools.carvedParent(cidr, version, opts);
    const pool = kuryrPool ?? (parent ? { id: carvedPoolId(parent.id, cidr), parentId: parent.id } : undefined);
    const optionSubnet = await this.pools.optionSubnet(cidr, version, opts);
    if (optionSubnet && optionSubnet.network_id !== net.id) {
      throw new ConflictError(`option neutron.subnet: subnet ${optionSubnet.id} belongs to network ${optionSubnet.network_id}, not ${net.id}`, 'KURYR_ERR_BAD_OPTION');
    }
    const reuse = optionSubnet ?? (net.subnets.length > 0 ? (await this.neutron.list('subnets', { network_id: net.id, cidr }))[0] : undefined);
    const gw = d.gateway ? ipOf(d.gateway) : '';
    const gateway = gw && gw !== '0.0.0.0' && gw !== '::' ? normalizeIp(gw) : null;
    if (reuse) {
      const theirs = reuse.gateway_ip ? normalizeIp(reuse.gateway_ip) : null;
      if (gateway && theirs !== gateway) {
        // No --gateway: the address was IPAM's guess before the subnet was known; the subnet's own
        // gateway (or none) is the network's, as in Kuryr-libnetwork, and Join answers it.
        if (!pool || !this.pools.takeMadeUpGateway(pool.id, gateway)) {
          throw new ConflictError(`CreateNetwork: --gateway ${gateway} does not match gateway ${theirs ?? 'none'} of existing subnet ${reuse.id}`);
        }
        this.log.info({ subnetId: reuse.id, gateway: theirs ?? 'none' }, 'CreateNetwork: no --gateway given; the existing subnet keeps its gateway');
      }
      return pool ? { reuse, poolId: pool.id } : { reuse };
    }
    const aux = Object.values(d.auxAddresses ?? {}).map((a) => normalizeIp(ipOf(a)));
    const body: Record<string, unknown> = {
      name: subnetName(cidr),
      network_id: net.id,
      ip_version: version,
      cidr,
      enable_dhcp: this.settings.enableDhcp,
      gateway_ip: gateway,
    };
    if (pool) body.subnetpool_id = 'parentId' in pool ? pool.parentId : pool.id;
    const range = this.pools.takeRange(cidr);
    if (aux.length > 0 || range) {
      // Docker reserved aux addresses before CreateNetwork (Kuryr bug C11): keep them out of
      // Neutron's allocation; --ip-range limits it.
      body.allocation_pools = rangesExcluding(cidr, gateway ? [gateway, ...aux] : aux, range);
    }
    return pool ? { body, poolId: pool.id } : { body };
  }

  async deleteNetwork(networkId: string): Promise<void> {
    await this.#locks.run(networkId, async () => {
      const cached = await this.index.network(networkId);
      if (!cached) {
        this.log.info({}, 'DeleteNetwork: no Neutron network for this Docker network (already deleted)');
        return;
      }
      await this.deletions?.settled({ networkId: cached.id });
      // Fresh tags: another host may have started using this network since we cached it. Read
      // together with the subnets, while this host's free pool ports go (they go either way).
      const [shown, subnets] = await allOrFirstError([
        this.neutron.show('networks', cached.id).catch((err: unknown) => {
          if (err instanceof NeutronError && err.isNotFound) return undefined;
          throw err;
        }),
        this.index.subnetsOf(cached.id),
        this.portPool?.drain(cached.id),
      ]);
      if (!shown) {
        this.index.forgetNetwork(networkId, cached.id);
        return;
      }
      const net: NeutronNetwork = shown;
      const mine = [...idTags(networkId), existingNetworkTag(networkId)];
      const others = net.tags.filter((t) => t.startsWith(TAG_NET_LH) && !mine.includes(t));
      const adopted = net.tags.some((t) => t.startsWith(TAG_NET_EXISTING)) && net.tags.includes(existingNetworkTag(networkId));
      if (adopted || others.length > 0) {
        const sgTags = others.length === 0 ? net.tags.filter((t) => t.startsWith(TAG_NET_SG)) : [];
        await Promise.all([...mine.filter((t) => net.tags.includes(t)), ...sgTags].map((t) => this.neutron.removeTag('networks', net.id, t)));
        if (others.length === 0) await this.#deleteKuryrSubnets(subnets);
        this.index.forgetNetwork(networkId, net.id);
        return;
      }
      try {
        await this.neutron.delete('networks', net.id); // Neutron deletes its subnets with it
      } catch (err) {
        if (err instanceof NeutronError && err.isConflict) {
          this.index.forgetNetwork(networkId, net.id);
          throw new NeutronError(err.method, err.path, err.status, err.neutronType, `${describeError(err)} (ports still use it)`);
        }
        throw err;
      }
      this.index.forgetNetwork(networkId, net.id);
      await this.#reapPools(subnets);
    });
  }

  /** On an adopted network, the subnets kuryr made go when the last Docker network leaves. */
  async #deleteKuryrSubnets(subnets: NeutronSubnet[]): Promise<void> {
    const ours = subnets.filter((s) => s.name.startsWith(SUBNET_NAME_PREFIX));
    const deleteOurs = async (): Promise<void> => {
      await Promise.all(
        ours.map(async (s) => {
          try {
            await this.neutron.delete('subnets', s.id);
          } catch (err) {
            this.log.warn({ subnetId: s.id, err: describeError(err) }, 'DeleteNetwork: could not delete a kuryr subnet');
          }
        }),
      );
      await this.#reapPools(ours);
    };
    // Reused subnets lose the PoolID tag kuryr put on them, while kuryr's own subnets and their pools go.
    const untags = subnets
      .filter((x) => !x.name.startsWith(SUBNET_NAME_PREFIX))
      .flatMap((s) => s.tags.filter((tag) => /^[0-9a-f-]{36}$/.test(tag)).map((t) => this.neutron.removeTag('subnets', s.id, t)));
    await allOrFirstError([deleteOurs(), ...untags]);
  }

  async #reapPools(subnets: NeutronSubnet[]): Promise<void> {
    const poolIds = [...new Set(subnets.map((s) => s.subnetpool_id).filter((p): p is string => !!p))];
    await allOrFirstError(
      poolIds.map(async (poolId) => {
        const pool = await this.index.pool(poolId);
        if (!pool || !pool.name.startsWith(`${this.settings.subnetpoolNamePrefix}-`)) return;
        if (pool.tags.length > 0) return; // made for an existing subnet, or the user's: ReleasePool's business
        await this.reaper.deletePoolIfUnused(poolId);
      }),
    );
  }

  /**
   * Docker 28+ asks, before any IPAM call, whether to skip reserving a family's
   * gateway address for a network with these `-o` options. Only a subnet named
   * by `neutron.subnet[.v6].*` is known this early: one without a gateway needs
   * none (without the check, the IPAM's answer is the `0.0.0.0/0` placeholder).
   * Every other subnet has a gateway: a subnet kuryr creates gets `--gateway`
   * or its first host address, and an existing one matched by `--subnet` is
   * only known once IPAM has the CIDR, so the gateway is still reserved.
   */
  async gatewaySkips(generic: Record<string, string>): Promise<{ skipV4: boolean; skipV6: boolean }> {
    const opts = parseNetworkOptions(generic);
    const skip = async (version: 4 | 6): Promise<boolean> => {
      const ref = opts.subnet[version];
      if (!hasRef(ref)) return false;
      const subnet = await this.pools.findOne('subnets', ref, version === 6 ? 'neutron.subnet.v6' : 'neutron.subnet');
      return !subnet.gateway_ip;
    };
    const [skipV4, skipV6] = await Promise.all([skip(4), skip(6)]);
    return { skipV4, skipV6 };
  }
}

