/**
 * Docker networks → Neutron networks. CreateNetwork makes the network (named
 * and tagged as Kuryr does), its subnets from the pools the IPAM side
 * reserved, and undoes all of it if any step fails. DeleteNetwork is
 * idempotent: an unknown network is success.
 */
import { ipOf, normalizeCidr, normalizeIp, parseCidr, rangesExcluding } from '../lib/cidr.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import { withUndo } from '../lib/undo.js';
import type { NeutronApi, NeutronSubnet } from '../ports/neutron.js';
import { BadRequestError, NeutronError, describeError } from './errors.js';
import { TAG_NET_EXISTING, idTags, networkName, poolName, subnetName } from './naming.js';
import type { NeutronIndex } from './neutron-index.js';
import { parseNetworkOptions } from './options.js';
import { oldestFirst } from './ipam-service.js';
import type { DriverSettings, Logger } from './settings.js';

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

export class NetworkService {
  readonly #locks = new KeyedMutex();

  constructor(
    readonly neutron: NeutronApi,
    readonly index: NeutronIndex,
    readonly settings: DriverSettings,
    readonly log: Logger,
  ) {}

  async createNetwork(req: CreateNetworkInput): Promise<void> {
    const options = parseNetworkOptions(req.generic);
    const data = [...req.ipv4Data.slice(0, 1), ...req.ipv6Data.slice(0, 1)];
    for (const d of [...req.ipv4Data.slice(1), ...req.ipv6Data.slice(1)]) {
      throw new BadRequestError(`CreateNetwork: only one pool per IP version is supported (extra pool ${d.pool})`);
    }
    await this.#locks.run(req.networkId, async () => {
      const existing = await this.index.network(req.networkId);
      if (existing) {
        this.log.info({ neutronNetworkId: existing.id }, 'CreateNetwork: network already exists (repeated call)');
        return;
      }
      await withUndo(this.#undoFailed, async (undo) => {
        const net = await this.neutron.create('networks', {
          name: networkName(req.networkId),
          admin_state_up: true,
          shared: false,
          ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
        });
        undo.push(`delete network ${net.id}`, () => this.neutron.delete('networks', net.id));
        await this.neutron.replaceTags('networks', net.id, idTags(req.networkId));
        net.tags = idTags(req.networkId);

        const bodies = await Promise.all(data.map((d) => this.#subnetBody(net.id, d)));
        const subnets: NeutronSubnet[] = bodies.length > 0 ? await this.neutron.createBulk('subnets', bodies.map((b) => b.body)) : [];
        for (const s of subnets) undo.push(`delete subnet ${s.id}`, () => this.neutron.delete('subnets', s.id));
        await Promise.all(
          subnets.map(async (s, i) => {
            const poolId = bodies[i]?.poolId;
            if (!poolId) return;
            await this.neutron.replaceTags('subnets', s.id, [poolId]);
            s.tags = [poolId];
            this.index.rememberSubnetForPool(poolId, s);
          }),
        );
        this.index.rememberNetwork(req.networkId, net, subnets);
      });
    });
  }

  readonly #undoFailed = (step: string, err: unknown): void => {
    this.log.error({ step, err: describeError(err) }, 'undo failed: Neutron may hold a leftover');
  };

  async #subnetBody(networkId: string, d: IpamData): Promise<{ body: Record<string, unknown>; poolId?: string }> {
    const cidr = normalizeCidr(d.pool);
    const { version } = parseCidr(cidr);
    const gw = d.gateway ? ipOf(d.gateway) : '';
    const gateway = gw && gw !== '0.0.0.0' && gw !== '::' ? normalizeIp(gw) : null;
    const name = poolName(this.settings.subnetpoolNamePrefix, cidr);
    const pool = this.index.knownPoolByName(name) ?? (await this.neutron.list('subnetpools', { name })).sort(oldestFirst)[0];
    const aux = Object.values(d.auxAddresses ?? {}).map((a) => normalizeIp(ipOf(a)));
    const body: Record<string, unknown> = {
      name: subnetName(cidr),
      network_id: networkId,
      ip_version: version,
      cidr,
      enable_dhcp: this.settings.enableDhcp,
      gateway_ip: gateway,
    };
    if (pool) body.subnetpool_id = pool.id;
    if (aux.length > 0) {
      // Docker reserved these before CreateNetwork (Kuryr bug C11): keep them out of Neutron's allocation.
      body.allocation_pools = rangesExcluding(cidr, gateway ? [gateway, ...aux] : aux);
    }
    return pool ? { body, poolId: pool.id } : { body };
  }

  async deleteNetwork(networkId: string): Promise<void> {
    await this.#locks.run(networkId, async () => {
      const net = await this.index.network(networkId);
      if (!net) {
        this.log.info({}, 'DeleteNetwork: no Neutron network for this Docker network (already deleted)');
        return;
      }
      if (net.tags.some((t) => t.startsWith(TAG_NET_EXISTING))) {
        // Adopted networks are never deleted (issue #3 adds adoption).
        this.index.forgetNetwork(networkId, net.id);
        return;
      }
      try {
        await this.neutron.delete('networks', net.id); // Neutron deletes the remaining subnets with it
      } catch (err) {
        if (err instanceof NeutronError && err.isConflict) {
          this.index.forgetNetwork(networkId, net.id);
          throw new NeutronError(err.method, err.path, err.status, err.neutronType, `${describeError(err)} (ports still use it)`);
        }
        throw err;
      }
      this.index.forgetNetwork(networkId, net.id);
    });
  }
}
