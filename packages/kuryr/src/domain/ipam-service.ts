/**
 * The IPAM driver: Docker pools → Neutron subnet pools, Docker addresses →
 * Neutron ports. The port for a container is created here, already bound to
 * this host with Docker's MAC, so CreateEndpoint has no slow binding update
 * left to do (Kuryr bug 1809306). A user's pre-created port (found when the
 * optimistic create hits its IP or MAC) is adopted if it is free, refused if
 * it is bound to something else (Kuryr bug C10), and reset — never deleted —
 * on release. The second address of a dual-stack endpoint goes on the same port.
 */
import { randomUUID } from 'node:crypto';
import { cidrContains, firstHost, ipVersion, isNetworkAddress, normalizeCidr, normalizeIp, parseCidr } from '@kuryr-ts/openstack/lib/cidr';
import type { NeutronApi, NeutronPort, NeutronSubnet, NeutronSubnetPool } from '@kuryr-ts/openstack/neutron/types';
import { BadRequestError, ConflictError, NeutronError, NotFoundError, needsTags } from '@kuryr-ts/openstack/errors';
import { createOnce } from './create-once.js';
import { Ledger } from './ledger.js';
import {
  DEVICE_OWNER,
  POOL_DEVICE_ID,
  TAG_NET_LH,
  TAG_POOL_EXISTING,
  TAG_PORT_EXISTING,
  TAG_PORT_OURS,
  UNBOUND_PORT_NAME,
  isRequestDeviceId,
  requestDeviceId,
} from './naming.js';
import type { NeutronIndex } from './neutron-index.js';
import { parseIpamOptions } from './options.js';
import { PoolResolver } from './pool-resolver.js';
import type { PortDeletions } from './port-deletions.js';
import type { PortPool } from './port-pool.js';
import { endpointOfPort, refuseForeignPort, resetPrecreatedPort } from './port-ownership.js';
import type { DriverSettings, Logger } from './settings.js';

export { oldestFirst } from './pool-resolver.js';

export const GATEWAY_REQUEST = 'com.docker.network.gateway';
/** The tag of a Kuryr pool made for an existing subnet: that subnet's uuid. */
const SUBNET_ID_TAG = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MAC_OPTION = 'com.docker.network.endpoint.macaddress';

export interface RequestPoolInput {
  addressSpace: string;
  pool: string;
  subPool: string;
  options: Record<string, string>;
  v6: boolean;
}

export interface RequestAddressInput {
  poolId: string;
  address: string;
  options: Record<string, string>;
}

/**
 * Docker 29: `--subnet 0.0.0.0/24` (or `::/96`) reaches RequestPool as is and
 * means "any /24 from the default pools": the prefix length, else undefined
 * (0 for `0.0.0.0/0`: the default size).
 */
function anyBlockSize(pool: string, v6: boolean): number | undefined {
  if (!pool) return undefined;
  try {
    const c = parseCidr(pool);
    return c.address === 0n && (c.version === 6) === v6 ? c.prefixLength : undefined;
  } catch {
    return undefined; // not a CIDR: the --subnet checks below say so
  }
}

/** Is this a port kuryr created (and so may delete), as opposed to a user's pre-created port? */
export function isKuryrPort(port: NeutronPort): boolean {
  if (port.tags.includes(TAG_PORT_EXISTING)) return false;
  if (port.tags.includes(TAG_PORT_OURS)) return true;
  return port.device_owner === DEVICE_OWNER && (port.name === UNBOUND_PORT_NAME || port.name === `${port.device_id}-port`);
}

export interface IpamServiceOptions {
  neutron: NeutronApi;
  /** Hint caches: pools, subnets, the port RequestAddress just made. */
  index: NeutronIndex;
  settings: DriverSettings;
  log: Logger;
  /** `[vif_pool]`: ports bound ahead of time (veth drivers only). */
  portPool?: PortPool | undefined;
  /** What this process has in hand (requests in flight, hand-outs, live endpoints); shared with the other services. */
  ledger?: Ledger | undefined;
  /** Is this port plugged on this host (a container uses it)? Checked before ReleaseAddress deletes a port after a restart. Default: never. */
  plugged?: ((portId: string) => Promise<boolean>) | undefined;
  /** `[DEFAULT] delete_ports_after_reply`: the deletions ReleaseAddress leaves running after its answer. */
  deletions?: PortDeletions | undefined;
}

export class IpamService {
  readonly pools: PoolResolver;
  readonly neutron: NeutronApi;
  readonly index: NeutronIndex;
  readonly settings: DriverSettings;
  readonly log: Logger;
  readonly portPool: PortPool | undefined;
  readonly ledger: Ledger;
  readonly plugged: (portId: string) => Promise<boolean>;
  readonly deletions: PortDeletions | undefined;

  constructor(opts: IpamServiceOptions) {
    this.neutron = opts.neutron;
    this.index = opts.index;
    this.settings = opts.settings;
    this.log = opts.log;
    this.portPool = opts.portPool;
    this.ledger = opts.ledger ?? new Ledger({ holdMs: 600_000 });
    this.plugged = opts.plugged ?? (async () => false);
    this.deletions = opts.deletions;
    this.pools = new PoolResolver({ neutron: opts.neutron, index: opts.index, settings: opts.settings, log: opts.log });
  }

  capabilities(): { requiresMacAddress: boolean; requiresRequestReplay: boolean } {
    // Docker then sends the endpoint's MAC with RequestAddress, so the port is created with it.
    // With port pools the port exists before Docker picks a MAC, and a bound port's MAC cannot
    // change: Docker is asked for none and takes the port's from CreateEndpoint.
    return { requiresMacAddress: !this.portPool, requiresRequestReplay: false };
  }

  addressSpaces(): { local: string; global: string } {
    return { local: this.settings.localDefaultAddressSpace, global: this.settings.globalDefaultAddressSpace };
  }

  async requestPool(req: RequestPoolInput): Promise<{ poolId: string; pool: string }> {
    const opts = parseIpamOptions(req.options);
    const anySize = anyBlockSize(req.pool, req.v6);
    if (!req.pool || anySize !== undefined) {
      if (req.subPool) throw new BadRequestError('RequestPool: SubPool (--ip-range) given without Pool (--subnet)');
      const carved = await this.pools.carve(req.v6 ? 6 : 4, opts, anySize || undefined);
      return { poolId: carved.poolId, pool: carved.cidr };
    }
    let cidr: string;
    try {
      if (!isNetworkAddress(req.pool)) throw new RangeError(`host bits set (did you mean ${normalizeCidr(req.pool)}?)`);
      cidr = normalizeCidr(req.pool);
    } catch (err) {
      throw new BadRequestError(`RequestPool: invalid --subnet ${req.pool}: ${(err as Error).message}`);
    }
    const version = parseCidr(cidr).version;
    if ((version === 6) !== req.v6) {
      throw new BadRequestError(`RequestPool: --subnet ${cidr} is IPv${version} but the request is for an IPv${req.v6 ? 6 : 4} pool`);
    }
    if (req.subPool) {
      let range: string;
      try {
        // Host bits would silently make another subnet (Kuryr refused them too, with a 500).
        if (!isNetworkAddress(req.subPool)) throw new RangeError(`host bits set (did you mean ${normalizeCidr(req.subPool)}?)`);
        range = normalizeCidr(req.subPool);
      } catch (err) {
        throw new BadRequestError(`RequestPool: invalid --ip-range ${req.subPool}: ${(err as Error).message}`);
      }
      if (!cidrContains(cidr, range.split('/')[0]!) || parseCidr(range).prefixLength < parseCidr(cidr).prefixLength) {
        throw new BadRequestError(`RequestPool: --ip-range ${range} is not inside --subnet ${cidr}`);
      }
      if (this.settings.ipRangeAsAllocationPool) {
        // Docker's meaning: the subnet is --subnet, the range its allocation pool (CreateNetwork takes it).
        this.pools.rememberRange(cidr, range);
      } else {
        // Kuryr's footprint: the range is the Docker pool, the subnet pool kuryrPool-<range> and the subnet.
        cidr = range;
      }
    }
    const pool = await this.pools.resolve(cidr, version, opts, true);
    this.ledger.handOutPool(pool!.id);
    return { poolId: pool!.id, pool: cidr };
  }

  async #poolOrThrow(poolId: string, op: string): Promise<NeutronSubnetPool> {
    const pool = await this.index.pool(poolId);
    if (!pool) throw new NotFoundError(`${op}: Neutron subnet pool ${poolId} (Docker PoolID) not found`);
    return pool;
  }

  async requestAddress(req: RequestAddressInput): Promise<{ address: string }> {
    const pool = await this.#poolOrThrow(req.poolId, 'RequestAddress');
    const cidr = pool.prefixes[0];
    if (!cidr) throw new NotFoundError(`RequestAddress: subnet pool ${pool.id} has no prefixes`);
    const prefixLength = parseCidr(cidr).prefixLength;
    const gatewayRequest = req.options.RequestAddressType === GATEWAY_REQUEST;
    if (req.address && !gatewayRequest && !req.options[MAC_OPTION] && ipVersion(req.address) === parseCidr(cidr).version && !cidrContains(cidr, req.address)) {
      // An --aux-address of --subnet outside the --ip-range (the pool): Neutron never hands it out, nothing to reserve.
      return { address: `${normalizeIp(req.address)}/${prefixLength}` };
    }
    const address = req.address ? this.#checkAddress(req.address, cidr, gatewayRequest) : '';

    if (gatewayRequest) {
      return { address: await this.#gateway(pool, cidr, address) };
    }
    const subnet = await this.index.subnetForPool(pool);
    if (!subnet) {
      // Docker reserves --aux-address before CreateNetwork: the subnet does not exist
      // yet, so CreateNetwork keeps these addresses out of the subnet's allocation pools.
      if (address) return { address: `${address}/${prefixLength}` };
      throw new NotFoundError(`RequestAddress: no Neutron subnet uses pool ${pool.id} (${cidr}) yet`);
    }
    if (address && subnet.gateway_ip && normalizeIp(subnet.gateway_ip) === address) {
      // Neutron would hand it out (router interfaces take it), and the container could never reach its gateway.
      throw new ConflictError(`RequestAddress: address ${address} is the gateway of subnet ${subnet.id} (${subnet.cidr})`);
    }
    const mac = req.options[MAC_OPTION]?.toLowerCase();
    // The identity of this hand-out, on the port before the reply: found by it after a lost reply or a crash.
    const handOut = requestDeviceId(randomUUID());
    // A port released moments ago may still hold this address while its deletion runs.
    if (address) await this.deletions?.settled({ networkId: subnet.network_id, ip: address });
    const make = (): Promise<NeutronPort> =>
      this.ledger.during([handOut], async () => {
        if (mac) return this.#endpointPort(subnet, address, mac, handOut);
        if (this.portPool) return (await this.#pooledPort(subnet, address, handOut)) ?? (await this.#endpointPort(subnet, address, '', handOut));
        return this.#reservationPort(subnet, address, handOut);
      });
    let port: NeutronPort;
    try {
      port = await make();
    } catch (err) {
      // The quota or the subnet is full, and released ports are still being deleted: once they are, once more.
      if (!(this.deletions && this.deletions.size > 0 && err instanceof NeutronError && ['OverQuota', 'IpAddressGenerationFailure'].includes(err.neutronType ?? ''))) throw err;
      await this.deletions.settled();
      port = await make();
    }
    this.ledger.handOut(port.id);
    const ip = port.fixed_ips.find((f) => f.subnet_id === subnet.id && (!address || normalizeIp(f.ip_address) === address))?.ip_address;
    if (!ip) throw new NotFoundError(`RequestAddress: port ${port.id} has no address on subnet ${subnet.id}`);
    this.index.rememberPortHint(subnet.network_id, normalizeIp(ip), port);
    if (mac) this.index.rememberPortHint(subnet.network_id, mac, port);
    return { address: `${normalizeIp(ip)}/${prefixLength}` };
  }

  #checkAddress(address: string, cidr: string, gateway: boolean): string {
    if (gateway && ipVersion(address) === parseCidr(cidr).version && !cidrContains(cidr, address)) {
      // Kuryr made the subnet with this off-link gateway, and every container start then failed
      // (Docker finds no route to the gateway): refused while nothing exists yet.
      throw new BadRequestError(
        `RequestAddress: --gateway ${address} is outside pool ${cidr}, the Neutron subnet of this network ` +
          '(with --ip-range the range is the subnet, as in Kuryr-libnetwork): give a --gateway inside the range, ' +
          'or set [DEFAULT] ip_range_as_allocation_pool = true to make --subnet the subnet and the range its allocation pool',
      );
    }
    if (!ipVersion(address) || !cidrContains(cidr, address)) {
      throw new BadRequestError(`RequestAddress: address ${address} is not in pool ${cidr}`);
    }
    return normalizeIp(address);
  }

  async #gateway(pool: NeutronSubnetPool, cidr: string, address: string): Promise<string> {
    const prefixLength = parseCidr(cidr).prefixLength;
    const subnet = (await this.index.subnetForPool(pool)) ?? (await this.#subnetToReuse(pool));
    if (!subnet) {
      // New network: the subnet is created by CreateNetwork with this gateway.
      // No --gateway: the first host address, as Neutron would pick (fixes Kuryr bug 1653178).
      // Made up, so an existing subnet CreateNetwork finds by CIDR (-o neutron.net.*) keeps its own.
      this.pools.rememberGateway(pool.id, address ? undefined : firstHost(cidr));
      return `${address || firstHost(cidr)}/${prefixLength}`;
    }
    this.pools.rememberGateway(pool.id, undefined);
    if (!subnet.gateway_ip) {
      if (address) throw new ConflictError(`RequestAddress: subnet ${subnet.id} (${subnet.cidr}) has no gateway, but --gateway ${address} was requested`);
      return parseCidr(cidr).version === 4 ? '0.0.0.0/0' : '::/0';
    }
    const gw = normalizeIp(subnet.gateway_ip);
    if (address && address !== gw) {
      throw new ConflictError(`RequestAddress: requested gateway ${address} does not match gateway ${gw} of existing subnet ${subnet.id}`);
    }
    return `${gw}/${prefixLength}`;
  }

  /**
   * The existing subnet a pool was made for (neutron.subnet.*, how Zun creates its networks),
   * before CreateNetwork has tagged it: its gateway (or none) is the network's, as in Kuryr.
   */
  async #subnetToReuse(pool: NeutronSubnetPool): Promise<NeutronSubnet | undefined> {
    if (!pool.name.startsWith(`${this.settings.subnetpoolNamePrefix}-`)) return undefined;
    const subnetId = pool.tags.find((t) => SUBNET_ID_TAG.test(t));
    if (!subnetId) return undefined;
    try {
      return await this.neutron.show('subnets', subnetId);
    } catch (err) {
      if (err instanceof NeutronError && err.isNotFound) return undefined;
      throw err;
    }
  }

  /**
   * Port pools: a free pool port of this subnet, for an address Docker lets
   * Neutron choose on a single-stack network (the two addresses of a
   * dual-stack endpoint cannot be matched up without a MAC: CreateEndpoint
   * joins them). Without pools every MAC-less request is an endpoint's too
   * (an aux address on an existing subnet gets a bound port; harmless).
   */
  async #pooledPort(subnet: NeutronSubnet, address: string, handOut: string): Promise<NeutronPort | undefined> {
    if (address || !this.settings.bindHost) return undefined;
    if ((await this.index.subnetsOf(subnet.network_id)).length !== 1) return undefined;
    return this.portPool?.take(subnet, handOut);
  }

  /** POSTs a port whose device_id is this hand-out; after an unanswered POST, finds it by that device_id. */
  #createPort(body: Record<string, unknown>, handOut: string): Promise<NeutronPort> {
    return createOnce({
      what: `port ${handOut}`,
      create: () => this.neutron.create('ports', { ...body, device_id: handOut }),
      find: async () => (await this.neutron.list('ports', { device_id: handOut }))[0],
      log: this.log,
      onLost: () => this.ledger.lose(handOut),
    });
  }

  /**
   * A port an earlier request of this process made while its reply was lost
   * (and that was not found then): no endpoint took it, it holds an address
   * nobody was given. Removed, so that the address is free again.
   */
  async #removeIfLost(port: NeutronPort): Promise<boolean> {
    if (!isRequestDeviceId(port.device_id) || !this.ledger.isLost(port.device_id) || endpointOfPort(port) !== undefined) return false;
    this.log.info({ portId: port.id, deviceId: port.device_id }, 'RequestAddress: removing the port of an earlier request whose reply was lost');
    await this.neutron.delete('ports', port.id);
    this.ledger.found(port.device_id);
    return true;
  }

  /** An address for an endpoint: Docker sent its MAC (RequiresMACAddress), or '' (port pools: Neutron's MAC). */
  async #endpointPort(subnet: NeutronSubnet, address: string, mac: string, handOut: string, retried = false): Promise<NeutronPort> {
    // Dual stack: the endpoint's other address already made a port with this MAC.
    const sibling = mac ? this.index.peekPortHint(subnet.network_id, mac) : undefined;
    if (sibling && !sibling.fixed_ips.some((f) => f.subnet_id === subnet.id)) {
      try {
        return await this.#addAddress(sibling, subnet, address);
      } catch (err) {
        if (!(err instanceof NeutronError && err.isNotFound)) throw err;
        this.index.forgetPortHint(subnet.network_id, mac); // a stale hint: the port is gone
      }
    }
    const fixedIp = address ? { subnet_id: subnet.id, ip_address: address } : { subnet_id: subnet.id };
    try {
      if (!this.settings.bindHost) return await this.#nestedPort(subnet, fixedIp, handOut);
      return await this.#createPort(
        {
          name: UNBOUND_PORT_NAME,
          network_id: subnet.network_id,
          admin_state_up: true,
          fixed_ips: [fixedIp],
          ...(mac ? { mac_address: mac } : {}),
          device_owner: DEVICE_OWNER,
          'binding:host_id': this.settings.hostId,
        },
        handOut,
      );
    } catch (err) {
      if (!(err instanceof NeutronError && err.isConflict)) throw err;
      // The address or the MAC is taken: a pre-created port to adopt, the sibling of a dual-stack endpoint, or a conflict.
      const byIp = address ? await this.neutron.list('ports', { fixed_ips: [`subnet_id=${subnet.id}`, `ip_address=${address}`] }) : [];
      const byMac = byIp.length === 0 && mac ? await this.neutron.list('ports', { network_id: subnet.network_id, mac_address: mac }) : [];
      const existing = byIp[0] ?? byMac[0];
      if (!existing) throw err;
      if (!retried && (await this.#removeIfLost(existing))) return this.#endpointPort(subnet, address, mac, handOut, true);
      // Port pools: a free pool port holds the address asked for (a released one keeps its address): it is this request's.
      if (address && !mac && existing.device_id === POOL_DEVICE_ID && this.portPool?.holds(existing.id)) {
        const taken = await this.portPool.takePort(existing, handOut);
        if (taken) return taken;
      }
      if (isKuryrPort(existing) && existing.mac_address.toLowerCase() === mac && !existing.tags.some((t) => t.startsWith(TAG_NET_LH))) {
        if (!existing.fixed_ips.some((f) => f.subnet_id === subnet.id)) return this.#addAddress(existing, subnet, address);
      }
      if (isKuryrPort(existing)) {
        throw new ConflictError(`RequestAddress: address ${address || mac} is already used by kuryr port ${existing.id}`);
      }
      return this.#adopt(existing, subnet, address, mac);
    }
  }

  /**
   * Nested containers: the port only reserves the address; the traffic is the
   * VM port's (an allowed address pair with the container's MAC). The port
   * keeps a MAC of Neutron's own: with the container's MAC, ML2/OVN would have
   * two logical ports claiming it and the container's replies could be sent
   * to the idle one.
   */
  async #nestedPort(subnet: NeutronSubnet, fixedIp: Record<string, string>, handOut: string): Promise<NeutronPort> {
    return this.#createPort({ name: UNBOUND_PORT_NAME, network_id: subnet.network_id, admin_state_up: true, fixed_ips: [fixedIp], device_owner: DEVICE_OWNER }, handOut);
  }

  async #addAddress(port: NeutronPort, subnet: NeutronSubnet, address: string): Promise<NeutronPort> {
    const fixed = [...port.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })), address ? { subnet_id: subnet.id, ip_address: address } : { subnet_id: subnet.id }];
    try {
      return await this.neutron.update('ports', port.id, { fixed_ips: fixed });
    } catch (err) {
      if (err instanceof NeutronError && err.isConflict && address) {
        throw new ConflictError(`RequestAddress: address ${address} is already in use on subnet ${subnet.id}: ${err.message}`);
      }
      throw err;
    }
  }

  /** A user's pre-created port: free → bound to this host and tagged kuryr.port.existing; in use → refused. */
  async #adopt(port: NeutronPort, subnet: NeutronSubnet, address: string, mac: string): Promise<NeutronPort> {
    // Without tags a user's port could not be told from kuryr's and would be deleted on release (Kuryr renamed it, K7).
    if (!this.index.tagging) throw needsTags(`adopting the pre-created port ${port.id}`);
    if (address && !port.fixed_ips.some((f) => f.subnet_id === subnet.id && normalizeIp(f.ip_address) === address)) {
      throw new ConflictError(`RequestAddress: MAC ${mac} belongs to port ${port.id}, which does not have address ${address}`);
    }
    if (!port.fixed_ips.some((f) => f.subnet_id === subnet.id)) {
      throw new ConflictError(`RequestAddress: port ${port.id} with MAC ${mac} has no address on subnet ${subnet.id}`);
    }
    refuseForeignPort(port, this.settings.hostId, undefined, 'RequestAddress');
    const update: Record<string, unknown> = {};
    if (this.settings.bindHost && port['binding:host_id'] !== this.settings.hostId) {
      update['binding:host_id'] = this.settings.hostId;
      update.device_owner = DEVICE_OWNER;
    } else if (!this.settings.bindHost && port.device_owner !== DEVICE_OWNER) {
      update.device_owner = DEVICE_OWNER;
    }
    if (mac && port.mac_address.toLowerCase() !== mac) update.mac_address = mac; // Docker's MAC is the container's (Kuryr bug K9)
    const [updated] = await Promise.all([
      Object.keys(update).length > 0 ? this.neutron.update('ports', port.id, update) : Promise.resolve(port),
      this.neutron.addTag('ports', port.id, TAG_PORT_EXISTING),
    ]);
    this.log.info({ portId: port.id }, 'RequestAddress: adopted a pre-created port');
    return { ...updated, tags: [...new Set([...updated.tags, TAG_PORT_EXISTING])] };
  }

  /** An address with no MAC (--aux-address on an existing subnet): a plain reservation port. */
  async #reservationPort(subnet: NeutronSubnet, address: string, handOut: string, retried = false): Promise<NeutronPort> {
    const fixedIp = address ? { subnet_id: subnet.id, ip_address: address } : { subnet_id: subnet.id };
    let port: NeutronPort;
    try {
      port = await this.#createPort(
        {
          name: UNBOUND_PORT_NAME,
          network_id: subnet.network_id,
          admin_state_up: true,
          fixed_ips: [fixedIp],
          // Tag-less Neutron: the name + owner mark it as kuryr's (Kuryr's convention).
          ...(this.index.tagging ? {} : { device_owner: DEVICE_OWNER }),
        },
        handOut,
      );
    } catch (err) {
      if (err instanceof NeutronError && err.isConflict && address && !retried) {
        const [holder] = await this.neutron.list('ports', { fixed_ips: [`subnet_id=${subnet.id}`, `ip_address=${address}`] });
        if (holder && (await this.#removeIfLost(holder))) return this.#reservationPort(subnet, address, handOut, true);
      }
      if (err instanceof NeutronError && err.isConflict && address) {
        throw new ConflictError(`RequestAddress: address ${address} is already in use on subnet ${subnet.id}: ${err.message}`);
      }
      throw err;
    }
    if (!this.index.tagging) return port;
    try {
      await this.neutron.addTag('ports', port.id, TAG_PORT_OURS);
    } catch (err) {
      await this.neutron.delete('ports', port.id).catch(() => undefined);
      throw err;
    }
    return { ...port, tags: [TAG_PORT_OURS] };
  }

  async releaseAddress(req: { poolId: string; address: string }): Promise<void> {
    const pool = await this.index.pool(req.poolId);
    if (!pool) return; // pool gone: nothing left to release (Kuryr bug C17 answered 500 here)
    const subnet = await this.index.subnetForPool(pool);
    if (!subnet) return; // subnet already deleted (gateway release after the network went)
    const ip = normalizeIp(req.address);
    const hint = this.index.takePortHint(subnet.network_id, ip);
    // The gateway is not a port kuryr made (RequestAddress refuses it for endpoints).
    if (!hint && subnet.gateway_ip && normalizeIp(subnet.gateway_ip) === ip) return;
    const ports = hint ? [hint] : await this.neutron.list('ports', { fixed_ips: [`subnet_id=${subnet.id}`, `ip_address=${ip}`] });
    for (const port of ports) {
      if (!port.fixed_ips.some((f) => f.subnet_id === subnet.id && normalizeIp(f.ip_address) === ip)) continue;
      const kuryrs = isKuryrPort(port);
      if (!kuryrs && !port.tags.includes(TAG_PORT_EXISTING)) {
        this.log.info({ portId: port.id, ip }, 'ReleaseAddress: leaving a port kuryr did not create');
        continue;
      }
      const inUse = await this.#inUseElsewhere(port, hint !== undefined);
      if (inUse) {
        this.log.warn({ portId: port.id, ip, reason: inUse }, 'ReleaseAddress: the port is not this release\'s to remove; left alone');
        continue;
      }
      this.ledger.settle(port.id);
      if (kuryrs) await this.#releaseKuryrPort(port, subnet, ip);
      else await resetPrecreatedPort(this.neutron, port);
    }
  }

  /**
   * Why this release must not touch the port, if it must not: it is bound to
   * another host, or it is the port of a live endpoint (made by this process
   * and not deleted, or — after a restart — still plugged here). Docker
   * releases an endpoint's address after DeleteEndpoint; a release that finds
   * a live endpoint's port is another request's (e.g. the rollback of one
   * that was given an address already in use).
   */
  async #inUseElsewhere(port: NeutronPort, afterDeleteEndpoint: boolean): Promise<string | undefined> {
    const host = port['binding:host_id'] ?? '';
    if (host !== '' && host !== this.settings.hostId) return `bound to host ${host}`;
    const live = this.ledger.liveEndpointOf(port.id);
    if (live !== undefined) return `the port of live endpoint ${live}`;
    // DeleteEndpoint just unplugged it; a port not bound here is plugged nowhere here.
    if (afterDeleteEndpoint || host !== this.settings.hostId) return undefined;
    if (await this.plugged(port.id)) return `the port of endpoint ${endpointOfPort(port) ?? port.device_id}, still plugged on this host`;
    return undefined;
  }

  async #releaseKuryrPort(port: NeutronPort, subnet: NeutronSubnet, ip: string): Promise<void> {
    const others = port.fixed_ips.filter((f) => !(f.subnet_id === subnet.id && normalizeIp(f.ip_address) === ip));
    if (others.length === 0) {
      // Port pools: back to the pool (reset after this answer) rather than deleted, if the pool takes it.
      // A container removed right after its start: CreateEndpoint's record of the endpoint on the port
      // (after its reply) may still be in flight; the reset waits for it, or the record would land after it.
      const endpoint = endpointOfPort(port);
      const recorded = endpoint !== undefined && this.ledger.busy(endpoint) ? this.ledger.whenFree(endpoint) : undefined;
      if (this.portPool && this.settings.bindHost && (await this.index.subnetsOf(subnet.network_id)).length === 1 && this.portPool.giveBack(port, subnet, recorded)) return;
      this.portPool?.forget(port.id);
      if (this.deletions) this.deletions.delete(port);
      else await this.neutron.delete('ports', port.id);
      return;
    }
    // Dual stack: release this address only; the other one goes with its own ReleaseAddress.
    try {
      const updated = await this.neutron.update('ports', port.id, { fixed_ips: others });
      for (const f of updated.fixed_ips) this.index.rememberPortHint(port.network_id, normalizeIp(f.ip_address), updated);
    } catch (err) {
      if (!(err instanceof NeutronError && err.isNotFound)) throw err;
    }
  }

  async releasePool(req: { poolId: string }): Promise<void> {
    this.pools.settleCarved(req.poolId);
    const pool = await this.index.pool(req.poolId);
    if (!pool) return;
    // A block of the default (or a named) pool: the pool itself is never deleted (Kuryr bug C4);
    // the block's subnet goes with the network.
    if (pool.carvedFrom) return;
    if ([this.settings.defaultSubnetpoolV4, this.settings.defaultSubnetpoolV6].includes(pool.name)) return; // never (Kuryr bug C4)
    if (pool.tags.includes(TAG_POOL_EXISTING)) {
      await this.neutron.removeTag('subnetpools', pool.id, TAG_POOL_EXISTING);
      this.index.forgetPool(pool.id);
      return;
    }
    if (!pool.name.startsWith(`${this.settings.subnetpoolNamePrefix}-`)) return;
    const subnet = await this.index.subnetForPool(pool);
    if (subnet) {
      // Allocated from this pool: DeleteNetwork (which Docker calls next) deletes the
      // subnet with the network and then this pool, unless another Docker network uses them.
      if (subnet.subnetpool_id === pool.id) return;
      // A pool made for an existing subnet: delete it with the last Docker network on
      // that Neutron network (other hosts may still use it: Kuryr bug C6).
      const net = await this.neutron.show('networks', subnet.network_id).catch(() => undefined);
      if (net && net.tags.filter((t) => t.startsWith(TAG_NET_LH)).length > 1) return;
    }
    this.index.forgetSubnetForPool(pool.id);
    await this.deletePoolIfUnused(pool.id);
  }

  /** Deletes a Kuryr pool; a pool still in use (409) is kept. */
  async deletePoolIfUnused(poolId: string): Promise<void> {
    try {
      await this.neutron.delete('subnetpools', poolId);
      this.index.forgetPool(poolId);
    } catch (err) {
      if (err instanceof NeutronError && err.isConflict) {
        this.log.info({ poolId }, 'subnet pool still in use, kept');
        return;
      }
      throw err;
    }
  }
}
