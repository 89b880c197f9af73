/**
 * The IPAM driver: Docker pools → Neutron subnet pools (`kuryrPool-<cidr>`),
 * Docker addresses → Neutron ports. The port for a container is created here,
 * already bound to this host with Docker's MAC, so CreateEndpoint has no slow
 * binding update left to do (Kuryr bug 1809306).
 */
import { cidrContains, normalizeCidr, isNetworkAddress, ipVersion, normalizeIp, parseCidr, firstHost } from '../lib/cidr.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { NeutronApi, NeutronPort, NeutronSubnet, NeutronSubnetPool } from '../ports/neutron.js';
import { AppError, BadRequestError, ConflictError, NeutronError, NotFoundError } from './errors.js';
import {
  DEVICE_OWNER,
  SUBNET_NAME_PREFIX,
  TAG_POOL_EXISTING,
  TAG_PORT_EXISTING,
  TAG_PORT_OURS,
  UNBOUND_PORT_NAME,
  poolName,
} from './naming.js';
import type { NeutronIndex } from './neutron-index.js';
import { parseIpamOptions } from './options.js';
import type { DriverSettings, Logger } from './settings.js';

export const GATEWAY_REQUEST = 'com.docker.network.gateway';
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

/** Is this a port kuryr created (and so may delete), as opposed to a user's pre-created port? */
export function isKuryrPort(port: NeutronPort): boolean {
  if (port.tags.includes(TAG_PORT_EXISTING)) return false;
  if (port.tags.includes(TAG_PORT_OURS)) return true;
  return port.device_owner === DEVICE_OWNER && (port.name === UNBOUND_PORT_NAME || port.name === `${port.device_id}-port`);
}

/** Deterministic choice among duplicate pools: every host and process picks the same one. */
export function oldestFirst(a: NeutronSubnetPool, b: NeutronSubnetPool): number {
  return (a.created_at ?? '').localeCompare(b.created_at ?? '') || a.id.localeCompare(b.id);
}

export class IpamService {
  readonly #locks = new KeyedMutex();

  constructor(
    readonly neutron: NeutronApi,
    readonly index: NeutronIndex,
    readonly settings: DriverSettings,
    readonly log: Logger,
  ) {}

  capabilities(): { RequiresMACAddress: boolean; RequiresRequestReplay: boolean } {
    // Docker then sends the endpoint's MAC with RequestAddress, so the port is created with it.
    return { RequiresMACAddress: true, RequiresRequestReplay: false };
  }

  addressSpaces(): { LocalDefaultAddressSpace: string; GlobalDefaultAddressSpace: string } {
    return {
      LocalDefaultAddressSpace: this.settings.localDefaultAddressSpace,
      GlobalDefaultAddressSpace: this.settings.globalDefaultAddressSpace,
    };
  }

  async requestPool(req: RequestPoolInput): Promise<{ poolId: string; pool: string }> {
    parseIpamOptions(req.options);
    if (!req.pool) {
      if (req.subPool) throw new BadRequestError('RequestPool: SubPool (--ip-range) given without Pool (--subnet)');
      throw new AppError(
        'KURYR_ERR_NO_SUBNET',
        'not-implemented',
        'RequestPool: no --subnet given; default subnet pools are not supported yet, pass --subnet and --gateway',
      );
    }
    if (req.subPool) {
      throw new AppError('KURYR_ERR_IP_RANGE', 'not-implemented', `RequestPool: --ip-range ${req.subPool} is not supported yet`);
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
    const name = poolName(this.settings.subnetpoolNamePrefix, cidr);
    const pool = await this.#locks.run(`pool:${name}`, () => this.#findOrCreatePool(name, cidr));
    return { poolId: pool.id, pool: cidr };
  }

  async #findOrCreatePool(name: string, cidr: string): Promise<NeutronSubnetPool> {
    const existing = (await this.neutron.list('subnetpools', { name })).sort(oldestFirst)[0];
    if (existing) {
      this.index.rememberPool(existing);
      return existing;
    }
    const prefixLength = parseCidr(cidr).prefixLength;
    const pool = await this.neutron.create('subnetpools', {
      name,
      prefixes: [cidr],
      default_prefixlen: prefixLength,
      min_prefixlen: prefixLength,
      shared: false,
    });
    this.index.rememberPool(pool, { fresh: true });
    return pool;
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
    const address = req.address ? this.#checkAddress(req.address, cidr) : '';

    if (req.options.RequestAddressType === GATEWAY_REQUEST) {
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
    const mac = req.options[MAC_OPTION];
    const port = await this.#createPort(subnet, address, mac);
    const ip = port.fixed_ips.find((f) => f.subnet_id === subnet.id)?.ip_address;
    if (!ip) throw new NotFoundError(`RequestAddress: port ${port.id} got no address on subnet ${subnet.id}`);
    this.index.rememberPortHint(subnet.network_id, ip, port);
    return { address: `${ip}/${prefixLength}` };
  }

  #checkAddress(address: string, cidr: string): string {
    if (!ipVersion(address) || !cidrContains(cidr, address)) {
      throw new BadRequestError(`RequestAddress: address ${address} is not in pool ${cidr}`);
    }
    return normalizeIp(address);
  }

  async #gateway(pool: NeutronSubnetPool, cidr: string, address: string): Promise<string> {
    const prefixLength = parseCidr(cidr).prefixLength;
    const subnet = await this.index.subnetForPool(pool);
    if (!subnet) {
      // New network: the subnet is created by CreateNetwork with this gateway.
      // No --gateway: the first host address, as Neutron would pick (fixes Kuryr bug 1653178).
      return `${address || firstHost(cidr)}/${prefixLength}`;
    }
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

  async #createPort(subnet: NeutronSubnet, address: string, mac: string | undefined): Promise<NeutronPort> {
    const fixedIp = address ? { subnet_id: subnet.id, ip_address: address } : { subnet_id: subnet.id };
    const body = mac
      ? {
          // An endpoint address (Docker sends the MAC because RequiresMACAddress is set):
          // create the port bound to this host now; CreateEndpoint only tags it.
          name: UNBOUND_PORT_NAME,
          network_id: subnet.network_id,
          admin_state_up: true,
          fixed_ips: [fixedIp],
          mac_address: mac.toLowerCase(),
          device_owner: DEVICE_OWNER,
          'binding:host_id': this.settings.hostId,
        }
      : { name: UNBOUND_PORT_NAME, network_id: subnet.network_id, admin_state_up: true, fixed_ips: [fixedIp] };
    try {
      const port = await this.neutron.create('ports', body);
      if (!mac) await this.neutron.replaceTags('ports', port.id, [TAG_PORT_OURS]).catch(async (err: unknown) => {
        await this.neutron.delete('ports', port.id);
        throw err;
      });
      return port;
    } catch (err) {
      if (err instanceof NeutronError && err.isConflict && address) {
        throw new ConflictError(`RequestAddress: address ${address} is already in use on subnet ${subnet.id}: ${err.message}`);
      }
      throw err;
    }
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
    const ports = hint
      ? [hint]
      : await this.neutron.list('ports', { fixed_ips: [`subnet_id=${subnet.id}`, `ip_address=${ip}`] });
    for (const port of ports) {
      if (!port.fixed_ips.some((f) => f.subnet_id === subnet.id && normalizeIp(f.ip_address) === ip)) continue;
      if (isKuryrPort(port)) {
        await this.neutron.delete('ports', port.id);
      } else {
        this.log.info({ portId: port.id, ip }, 'ReleaseAddress: leaving a port kuryr did not create');
      }
    }
  }

  async releasePool(req: { poolId: string }): Promise<void> {
    const pool = await this.index.pool(req.poolId);
    if (!pool) return;
    if (pool.tags.includes(TAG_POOL_EXISTING) || !pool.name.startsWith(`${this.settings.subnetpoolNamePrefix}-`)) {
      this.log.info({ poolId: pool.id, name: pool.name }, 'ReleasePool: keeping a subnet pool kuryr did not create');
      return;
    }
    const subnets = await this.neutron.list('subnets', { subnetpool_id: pool.id });
    for (const subnet of subnets) {
      if (!subnet.name.startsWith(SUBNET_NAME_PREFIX)) continue;
      try {
        await this.neutron.delete('subnets', subnet.id);
      } catch (err) {
        this.log.warn({ subnetId: subnet.id, err: (err as Error).message }, 'ReleasePool: could not delete subnet');
      }
    }
    this.index.forgetSubnetForPool(pool.id);
    try {
      await this.neutron.delete('subnetpools', pool.id);
      this.index.forgetPool(pool.id);
    } catch (err) {
      if (err instanceof NeutronError && err.isConflict) {
        this.log.info({ poolId: pool.id }, 'ReleasePool: subnet pool still in use, kept');
        return;
      }
      throw err;
    }
  }
}
