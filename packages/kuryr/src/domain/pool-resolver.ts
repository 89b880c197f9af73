/**
 * Which Neutron subnet pool backs a Docker pool: the user's pool
 * (neutron.pool.*), or the Kuryr pool `kuryrPool-<cidr>` — tagged with the
 * subnet id when made for an existing subnet (neutron.subnet.*), which is how
 * overlapping CIDRs in different networks get different pools. Shared by
 * RequestPool (find or create) and CreateNetwork (find), so both reach the
 * same answer without state.
 */
import { BoundedMap } from '@kuryr-ts/openstack/lib/bounded-map';
import { cidrContains, cidrsOverlap, normalizeCidr, parseCidr, subnetsOf } from '@kuryr-ts/openstack/lib/cidr';
import { KeyedMutex } from '@kuryr-ts/openstack/lib/keyed-mutex';
import type { NeutronApi, NeutronSubnet, NeutronSubnetPool, Query, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import { BadRequestError, ConflictError, NotFoundError, needsTags } from '@kuryr-ts/openstack/errors';
import { createOnce } from './create-once.js';
import { TAG_POOL_EXISTING, poolName } from './naming.js';
import { carvedPoolId, type NeutronIndex } from './neutron-index.js';
import { describeRef, hasRef, type NeutronOptions, type Ref } from './options.js';
import type { DriverSettings, Logger } from './settings.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Deterministic choice among duplicate pools: every host and process picks the same one. */
export function oldestFirst(a: NeutronSubnetPool, b: NeutronSubnetPool): number {
  return (a.created_at ?? '').localeCompare(b.created_at ?? '') || a.id.localeCompare(b.id);
}

export interface PoolResolverOptions {
  neutron: NeutronApi;
  /** Hint caches: pools by name and id, the subnet of a pool. */
  index: NeutronIndex;
  settings: DriverSettings;
  log: Logger;
}

export class PoolResolver {
  readonly #locks = new KeyedMutex();
  /** --ip-range of a pool, from RequestPool to CreateNetwork (cidr → range), which Docker does not pass on. */
  readonly #ranges = new BoundedMap<string, string>(1024);
  /** Blocks handed out by carve() whose subnet CreateNetwork has not made yet (PoolID → true). */
  readonly #pending = new BoundedMap<string, true>(1024);
  /**
   * Gateways RequestAddress made up (Docker asked for one without an address and no subnet was
   * known for the pool yet), from then to CreateNetwork (PoolID → address): an existing subnet
   * CreateNetwork then finds keeps its own gateway, as in Kuryr-libnetwork.
   */
  readonly #madeUpGateways = new BoundedMap<string, string>(1024);

  readonly neutron: NeutronApi;
  readonly index: NeutronIndex;
  readonly settings: DriverSettings;
  readonly log: Logger;

  constructor(opts: PoolResolverOptions) {
    this.neutron = opts.neutron;
    this.index = opts.index;
    this.settings = opts.settings;
    this.log = opts.log;
  }

  /** Exactly one Neutron object named by an option (uuid or name), or a coded error naming the option. */
  async findOne<R extends 'networks' | 'subnets' | 'subnetpools'>(resource: R, ref: Ref, label: string): Promise<ResourceTypes[R]> {
    const query: Query = ref.uuid !== undefined ? { id: ref.uuid } : { name: ref.name ?? '' };
    const found = await this.neutron.list(resource, query);
    const what = describeRef(label, ref);
    if (found.length === 0) throw new NotFoundError(`option ${what}: no such Neutron ${resource.replace(/s$/, '')}`);
    if (found.length > 1) {
      throw new ConflictError(`option ${what}: ${found.length} Neutron ${resource} have that name (${found.map((f) => f.id).join(', ')}); use the uuid`);
    }
    return found[0]!;
  }

  /** The existing subnet named by neutron.subnet[.v6].*, checked against the Docker pool. */
  async optionSubnet(cidr: string, version: 4 | 6, opts: NeutronOptions): Promise<NeutronSubnet | undefined> {
    const ref = opts.subnet[version];
    if (!hasRef(ref)) return undefined;
    if (!this.index.tagging) throw needsTags(`${version === 6 ? 'neutron.subnet.v6' : 'neutron.subnet'} (reusing an existing subnet)`);
    const label = version === 6 ? 'neutron.subnet.v6' : 'neutron.subnet';
    const subnet = await this.findOne('subnets', ref, label);
    if (normalizeCidr(subnet.cidr) !== cidr) {
      throw new BadRequestError(`option ${describeRef(label, ref)}: subnet ${subnet.id} is ${subnet.cidr}, not the Docker pool ${cidr}`, 'KURYR_ERR_BAD_OPTION');
    }
    return subnet;
  }

  /**
   * The pool for `cidr`. With `create`, a missing Kuryr pool is created (once
   * per name at a time in this process; duplicates made by other hosts
   * converge on the oldest). Without, undefined when there is none.
   */
  async resolve(cidr: string, version: 4 | 6, opts: NeutronOptions, create: boolean): Promise<NeutronSubnetPool | undefined> {
    const poolRef = opts.pool[version];
    if (hasRef(poolRef)) {
      const label = version === 6 ? 'neutron.pool.v6' : 'neutron.pool';
      const pool = await this.findOne('subnetpools', poolRef, label);
      if (pool.prefixes[0] && normalizeCidr(pool.prefixes[0]) === cidr) {
        if (opts.shared !== undefined && pool.shared !== opts.shared) {
          throw new ConflictError(`option neutron.net.shared=${opts.shared} disagrees with subnet pool ${pool.id} (shared=${pool.shared})`, 'KURYR_ERR_BAD_OPTION');
        }
        if (create && this.index.tagging && !pool.tags.includes(TAG_POOL_EXISTING)) {
          await this.neutron.addTag('subnetpools', pool.id, TAG_POOL_EXISTING);
          pool.tags = [...pool.tags, TAG_POOL_EXISTING];
        }
        this.index.rememberPool(pool);
        return pool;
      }
      // The user's pool does not have this CIDR as its first prefix: a Kuryr pool for it, as Kuryr does.
    }
    const subnet = await this.optionSubnet(cidr, version, opts);
    const name = poolName(this.settings.subnetpoolNamePrefix, cidr);
    const find = async (): Promise<NeutronSubnetPool | undefined> => {
      // RequestPool always asks Neutron: another host may have deleted the pool we remember.
      if (!subnet && !create) {
        const known = this.index.knownPoolByName(name);
        if (known && !known.tags.some((t) => UUID.test(t))) return known;
      }
      const found = await this.neutron.list('subnetpools', subnet ? { name, tags: subnet.id } : { name });
      // Without neutron.subnet.*, skip the pools Kuryr made for existing subnets (tagged with their id).
      return found.filter((p) => subnet || !p.tags.some((t) => UUID.test(t))).sort(oldestFirst)[0];
    };
    if (!create) return find();
    return this.#locks.run(`${name}|${subnet?.id ?? ''}`, async () => {
      // A CIDR this process has not seen is usually new: create first and let the duplicate
      // check below find an older pool if there is one (one read instead of two).
      if (subnet || this.index.knownPoolByName(name)) {
        const existing = await find();
        if (existing) {
          this.index.rememberPool(existing);
          return existing;
        }
      }
      const prefixLength = Number(cidr.split('/')[1]);
      const tagInPost = subnet !== undefined && this.index.tagOnCreate;
      // Identity: the name (and the subnet tag). After an unanswered POST the newest such pool is the one
      // it made (the duplicate check below converges on the oldest either way); a pool for a subnet,
      // untagged yet, cannot be told from a plain one: not guessed (unused, the reconciler removes it).
      let pool = await createOnce({
        what: `subnet pool ${name}`,
        create: () =>
          this.neutron.create('subnetpools', {
            name,
            prefixes: [cidr],
            default_prefixlen: prefixLength,
            // Kuryr's pools keep Neutron's default min_prefixlen (/8, IPv6 /64); below it Neutron refuses the pool.
            ...(prefixLength < (version === 4 ? 8 : 64) ? { min_prefixlen: prefixLength } : {}),
            shared: opts.shared ?? false,
            ...(tagInPost ? { tags: [subnet.id] } : {}),
          }),
        find: async () => {
          if (subnet && !tagInPost) return undefined;
          const found = await this.neutron.list('subnetpools', subnet ? { name, tags: subnet.id } : { name });
          return found.filter((p) => subnet || !p.tags.some((t) => UUID.test(t))).sort(oldestFirst).at(-1);
        },
        log: this.log,
      });
      if (subnet && !tagInPost) {
        await this.neutron.addTag('subnetpools', pool.id, subnet.id);
        pool.tags = [subnet.id];
      }
      // Another host may have created the same pool at the same time (Kuryr bug C14): converge on the
      // oldest. Ours yields to every other copy at least as old: Neutron's created_at has one-second
      // steps, and a host that listed before our POST kept its copy without seeing ours, so a tie
      // cannot be broken by id (both hosts would keep their own).
      const ours = pool;
      const winner = (await this.neutron.list('subnetpools', subnet ? { name, tags: subnet.id } : { name }))
        .filter((p) => subnet || !p.tags.some((t) => UUID.test(t)))
        .filter((p) => p.id !== ours.id && (p.created_at ?? '') <= (ours.created_at ?? ''))
        .sort(oldestFirst)[0];
      if (winner) {
        this.log.info({ ours: pool.id, kept: winner.id }, 'RequestPool: the pool already existed (or another host made it at the same time); keeping the oldest');
        await this.neutron.delete('subnetpools', pool.id).catch(() => undefined);
        pool = winner;
        this.index.rememberPool(pool);
      } else {
        this.index.rememberPool(pool, { fresh: true });
      }
      return pool;
    });
  }

  /**
   * The pool used without --subnet: --ipam-opt neutron.pool[.v6].*, else [neutron] default_subnetpool_v4/_v6.
   * `fresh`: ask Neutron even if this process knows the pool (RequestPool: an operator may have
   * replaced it since).
   */
  async defaultPool(version: 4 | 6, opts: NeutronOptions, fresh = false): Promise<NeutronSubnetPool> {
    const ref = opts.pool[version];
    if (hasRef(ref)) return this.findOne('subnetpools', ref, version === 6 ? 'neutron.pool.v6' : 'neutron.pool');
    const name = version === 6 ? this.settings.defaultSubnetpoolV6 : this.settings.defaultSubnetpoolV4;
    const known = fresh ? undefined : this.index.knownPoolByName(name);
    if (known) return known;
    const found = (await this.neutron.list('subnetpools', { name })).sort(oldestFirst)[0];
    if (!found) {
      throw new NotFoundError(
        `no --subnet given and the default subnet pool "${name}" ([neutron] default_subnetpool_v${version}) does not exist: ` +
          `create it (openstack subnet pool create --pool-prefix 10.10.0.0/16 --default-prefix-length 24 ${name}) or pass --subnet`,
        'KURYR_ERR_NO_DEFAULT_POOL',
      );
    }
    this.index.rememberPool(found);
    return found;
  }

  /**
   * A fresh block of the default pool's default prefix length for a network
   * made without --subnet: a new one per network (Kuryr bug C5 gave every such
   * network the whole pool), and a different one on each call while Docker
   * rejects blocks that overlap host routes. `prefixLength`: a block of that
   * size instead (Docker 29's `--subnet 0.0.0.0/24`).
   */
  async carve(version: 4 | 6, opts: NeutronOptions, prefixLength?: number): Promise<{ poolId: string; cidr: string }> {
    const parent = await this.defaultPool(version, opts, true);
    return this.#locks.run(`carve:${parent.id}`, async () => {
      const used = (await this.neutron.list('subnets', { subnetpool_id: parent.id })).map((s) => s.cidr);
      const pending = parent.prefixes.length ? [...this.#pendingOf(parent.id)] : [];
      for (const prefix of parent.prefixes) {
        const size = prefixLength ?? Math.max(parent.default_prefixlen ?? (version === 4 ? 24 : 64), parseCidr(prefix).prefixLength);
        for (const block of subnetsOf(normalizeCidr(prefix), size)) {
          if (used.some((u) => cidrsOverlap(u, block)) || pending.some((p) => cidrsOverlap(p, block))) continue;
          const poolId = carvedPoolId(parent.id, block);
          this.#pending.set(poolId, true);
          return { poolId, cidr: block };
        }
      }
      throw new ConflictError(`subnet pool ${parent.name} (${parent.id}) has no free /${prefixLength ?? parent.default_prefixlen ?? ''} left`, 'KURYR_ERR_POOL_EXHAUSTED');
    });
  }

  *#pendingOf(parentId: string): Generator<string> {
    for (const id of this.#pending.keys()) if (id.startsWith(`${parentId}/`)) yield id.slice(parentId.length + 1);
  }

  /** CreateNetwork made the subnet, or Docker released the pool: the block is no longer pending. */
  settleCarved(poolId: string): void {
    this.#pending.delete(poolId);
  }

  /** For CreateNetwork: the pool a block without a Kuryr pool was carved from (default or named pool), if any. */
  async carvedParent(cidr: string, version: 4 | 6, opts: NeutronOptions): Promise<NeutronSubnetPool | undefined> {
    // The block RequestPool just carved (it knows the --ipam-opt pool, which CreateNetwork does not see).
    for (const id of this.#pending.keys()) {
      if (id.endsWith(`/${cidr}`)) {
        const pending = await this.index.pool(id.slice(0, id.length - cidr.length - 1));
        if (pending) return pending;
      }
    }
    let parent: NeutronSubnetPool;
    try {
      parent = await this.defaultPool(version, opts);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    return parent.prefixes.some((p) => cidrContains(p, cidr.split('/')[0] ?? '')) ? parent : undefined;
  }

  /** RequestAddress answered this gateway for the pool without Docker naming one (undefined: Docker named it). */
  rememberGateway(poolId: string, madeUp: string | undefined): void {
    if (madeUp === undefined) this.#madeUpGateways.delete(poolId);
    else this.#madeUpGateways.set(poolId, madeUp);
  }

  /** Whether `gateway` is the one RequestAddress made up for this pool (once: CreateNetwork asks). */
  takeMadeUpGateway(poolId: string, gateway: string): boolean {
    const madeUp = this.#madeUpGateways.get(poolId);
    this.#madeUpGateways.delete(poolId);
    return madeUp === gateway;
  }

  rememberRange(cidr: string, range: string): void {
    this.#ranges.set(cidr, range);
  }

  /** The --ip-range given with this CIDR's RequestPool, once. */
  takeRange(cidr: string): string | undefined {
    const r = this.#ranges.get(cidr);
    this.#ranges.delete(cidr);
    return r;
  }
}
