/**
 * The Docker side of a Zun network, per compute host (Zun's per-host row):
 * the kuryr Docker network is made on a host the first time a container there
 * needs it, and recorded as a `network` row (neutron_net_id, host) next to the
 * network's definition (host ''). Race-free across zun-api processes: the row
 * is inserted before Docker is called, so the unique (neutron_net_id, host) key
 * lets exactly one creator through; the loser reads the row back (and Docker's
 * network of that name) with a backoff (0.1 s doubling to 2 s), as Zun's
 * get_or_create_network, until the network is there — or the row is older
 * than `staleMs` without a Docker id (its creator died): then it takes over.
 * Within one process a lock per Neutron network (shared with NetworkService)
 * serialises creators, deleters and the definition.
 *
 * Removal (network-delete) first checks that every host with a row answers,
 * so a host that is down fails the delete with nothing removed (no Docker
 * network left behind when it comes back); then removes host by host, each
 * row after its Docker network (a retry continues where a failure stopped).
 */
import { KeyedMutex } from '@kuryr-ts/openstack/lib/keyed-mutex';
import { hostDown, type ComputeHosts } from './compute-hosts.js';
import { dockerFailure } from './docker-errors.js';
import { conflict, describeError, notFound } from '@kuryr-ts/openstack/errors';
import type { ZunNetwork } from './model.js';
import type { Clock, Logger, ZunSettings } from './settings.js';
import { DockerRequestError, DockerUnavailable, type DockerApi, type DockerNetworkSpec } from '../ports/docker.js';
import type { NeutronSubnet } from '@kuryr-ts/openstack/neutron/types';
import type { ZunNeutron } from '../ports/neutron.js';
import { findNeutron } from './neutron-find.js';
import { StoreConflict, type Store } from '../ports/store.js';

/** Label of the Docker networks zun-api makes (the host row's uuid). */
export const NETWORK_LABEL = 'zun.network.uuid';

export interface HostNetworksOptions {
  /** Read-backs of a row another process is creating before giving up (409 ZUN_ERR_NETWORK_BUSY); a bound only, staleMs comes first. */
  attempts: number;
  /** A row without a Docker id this old was left by a creator that died: taken over. A kuryr network create takes seconds. */
  staleMs: number;
}

export class HostNetworks {
  /** One lock per Neutron network id. */
  readonly lock = new KeyedMutex();
  readonly opts: HostNetworksOptions;

  constructor(
    readonly store: Store,
    readonly hosts: ComputeHosts,
    readonly neutron: ZunNeutron,
    readonly settings: ZunSettings,
    readonly clock: Clock,
    readonly log: Logger,
    opts: Partial<HostNetworksOptions> = {},
  ) {
    this.opts = { attempts: 60, staleMs: 30_000, ...opts };
  }

  /** The rows of a network on its hosts (not the definition). */
  async rowsOf(def: ZunNetwork): Promise<ZunNetwork[]> {
    return (await this.store.networks.list({ neutronNetId: def.neutronNetId })).filter((r) => r.host !== def.host);
  }

  /** `def`'s row on `host`, with its Docker network there, made when missing. */
  async ensure(def: ZunNetwork, host: string): Promise<ZunNetwork> {
    return this.lock.run(def.neutronNetId, () => this.ensureLocked(def, host));
  }

  /** ensure() for a caller that holds the lock of def.neutronNetId. */
  async ensureLocked(def: ZunNetwork, host: string): Promise<ZunNetwork> {
    const docker = this.hosts.docker(host);
    for (let attempt = 0; ; attempt++) {
      const row = (await this.store.networks.list({ neutronNetId: def.neutronNetId, host }))[0];
      const ready = row ? await this.#verify(def, row, docker) : await this.#provision(def, host, docker);
      if (ready) return ready;
      if (attempt === 0) this.log.info({ network: def.uuid, neutronNet: def.neutronNetId, host }, 'another zun-api is making this Docker network: waiting for it');
      if (attempt + 1 >= this.opts.attempts) {
        throw conflict(`The Docker network of network ${def.name} is still being created on host ${host} by another zun-api; retry`, 'ZUN_ERR_NETWORK_BUSY');
      }
      await this.clock.sleep(Math.min(100 * 2 ** attempt, 2_000));
    }
  }

  /** A row exists: its Docker network is there (adopted), re-made when it vanished, or still being made elsewhere (undefined). */
  async #verify(def: ZunNetwork, row: ZunNetwork, docker: DockerApi): Promise<ZunNetwork | undefined> {
    const found = await this.#docker(row.host, `looking up Docker network ${row.dockerName}`, () => docker.findNetwork(row.dockerName));
    let dockerId = found?.id;
    if (!dockerId) {
      const abandoned = Date.parse(this.clock.now()) - Date.parse(row.updatedAt) > this.opts.staleMs;
      // no Docker id yet: another creator is between its insert and Docker, unless it died long ago
      if (row.dockerId === null && !abandoned) return undefined;
      this.log.warn({ network: row.uuid, host: row.host, dockerId: row.dockerId }, 'Docker network missing on its host: making it again');
      dockerId = await this.#docker(row.host, `creating the Docker network of network ${def.name} on host ${row.host}`, () => this.#create(def, row, docker));
    }
    if (dockerId !== row.dockerId) await this.store.networks.update(row.uuid, { dockerId, updatedAt: this.clock.now() });
    return { ...row, dockerId };
  }

  /** No row: insert it (the key elects one creator), then the Docker network; undone on failure. Undefined when another creator won. */
  async #provision(def: ZunNetwork, host: string, docker: DockerApi): Promise<ZunNetwork | undefined> {
    const now = this.clock.now();
    const row: ZunNetwork = { ...def, uuid: this.clock.newId(), host, dockerId: null, createdAt: now, updatedAt: now };
    try {
      await this.store.networks.insert(row);
    } catch (err) {
      if (err instanceof StoreConflict) return undefined;
      throw err;
    }
    try {
      const found = await docker.findNetwork(row.dockerName);
      const dockerId = found?.id ?? (await this.#create(def, row, docker));
      await this.store.networks.update(row.uuid, { dockerId, updatedAt: this.clock.now() });
      this.log.info({ network: def.uuid, host, docker: dockerId, adopted: found !== undefined }, 'Docker network made on host');
      return { ...row, dockerId };
    } catch (err) {
      await this.store.networks.delete(row.uuid).catch((e: unknown) => this.log.error({ err: describeError(e) }, 'undo: deleting the host network row failed'));
      if (err instanceof DockerUnavailable) this.hosts.markDown(host, err);
      throw dockerFailure(`creating the Docker network of network ${def.name} on host ${host}`, err);
    }
  }

  /** docker network create; a name taken meanwhile (Docker's 409) is read back. */
  async #create(def: ZunNetwork, row: ZunNetwork, docker: DockerApi): Promise<string> {
    const spec = await this.#spec(def, row);
    try {
      return await docker.createNetwork(spec);
    } catch (err) {
      if (err instanceof DockerRequestError && err.status === 409) {
        const found = await docker.findNetwork(row.dockerName);
        if (found) return found.id;
      }
      throw err;
    }
  }

  /**
   * Removes `def`'s Docker network from every host that has one, and the rows.
   * Every such host must answer first (409 ZUN_ERR_HOST_DOWN, nothing removed).
   * Then sweeps the other hosts that are up for a zun-made Docker network of
   * that name whose row was lost. The caller holds the lock.
   */
  async removeAllLocked(def: ZunNetwork, rows: readonly ZunNetwork[]): Promise<void> {
    for (const r of rows) {
      if (!this.hosts.has(r.host)) {
        throw conflict(
          `Network ${def.name} has a Docker network on host ${r.host}, which is not in [compute_hosts]: add the host back to remove it; nothing was deleted`,
          'ZUN_ERR_HOST_NOT_CONFIGURED',
        );
      }
    }
    // a fresh ping of each (not the last periodic state): all must answer before anything is removed
    for (const h of await this.hosts.check(rows.map((r) => r.host))) {
      if (h.state !== 'up') throw hostDown(h, `remove the Docker network of network ${def.name} from it; nothing was deleted`);
    }
    for (const r of rows) {
      const docker = this.hosts.docker(r.host);
      await this.#docker(r.host, `removing Docker network ${r.dockerName} from host ${r.host}`, () => docker.removeNetwork(r.dockerName));
      await this.store.networks.delete(r.uuid);
      this.log.info({ network: def.uuid, host: r.host, docker: r.dockerName }, 'Docker network removed from host');
    }
    for (const h of this.hosts.health()) {
      if (h.state !== 'up' || rows.some((r) => r.host === h.name)) continue;
      try {
        const docker = this.hosts.docker(h.name);
        const stray = await docker.findNetwork(def.dockerName);
        if (stray && stray.labels[NETWORK_LABEL] !== undefined) {
          await docker.removeNetwork(def.dockerName);
          this.log.warn({ network: def.uuid, host: h.name, docker: stray.id }, 'removed a zun Docker network that had no row');
        }
      } catch (err) {
        this.log.warn({ network: def.uuid, host: h.name, err: describeError(err) }, 'sweeping a host for a stray Docker network failed');
      }
    }
  }

  /** A Docker call on a host: unreachable → the host is marked down; errors as coded errors (dockerFailure). */
  async #docker<T>(host: string, step: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DockerUnavailable) this.hosts.markDown(host, err);
      throw dockerFailure(step, err);
    }
  }

  /** docker network create -d kuryr --ipam-driver kuryr --subnet … --gateway … -o neutron.* --ipam-opt neutron.* */
  async #spec(def: ZunNetwork, row: ZunNetwork): Promise<DockerNetworkSpec> {
    const net = await findNeutron(this.neutron, 'networks', def.neutronNetId);
    if (!net) throw notFound(`Neutron network ${def.neutronNetId} of network ${def.name} no longer exists`, 'ZUN_ERR_NETWORK_NOT_FOUND');
    const subnet = async (id: string | null): Promise<NeutronSubnet | undefined> => {
      if (!id) return undefined;
      const s = await findNeutron(this.neutron, 'subnets', id);
      if (!s) throw notFound(`Neutron subnet ${id} of network ${def.name} no longer exists`, 'ZUN_ERR_SUBNET_NOT_FOUND');
      return s;
    };
    const v4 = await subnet(def.neutronSubnetId);
    const v6 = await subnet(def.neutronSubnetV6Id);
    const options: Record<string, string> = { 'neutron.net.uuid': net.id, 'neutron.net.shared': net.shared ? 'True' : 'False' };
    const ipamOptions: Record<string, string> = { 'neutron.net.shared': options['neutron.net.shared']! };
    if (v4) options['neutron.subnet.uuid'] = ipamOptions['neutron.subnet.uuid'] = v4.id;
    if (v6) options['neutron.subnet.v6.uuid'] = ipamOptions['neutron.subnet.v6.uuid'] = v6.id;
    if (def.neutronPoolId) {
      const key = v4 ? 'neutron.pool.uuid' : 'neutron.pool.v6.uuid';
      options[key] = ipamOptions[key] = def.neutronPoolId;
    }
    const cfg = (s: NeutronSubnet): { subnet: string; gateway?: string } => ({ subnet: s.cidr, ...(s.gateway_ip ? { gateway: s.gateway_ip } : {}) });
    return {
      name: row.dockerName,
      driver: this.settings.driverName,
      ipamDriver: this.settings.driverName,
      options,
      ipamOptions,
      ipamConfig: [...(v4 ? [cfg(v4)] : []), ...(v6 ? [cfg(v6)] : [])],
      enableIpv6: v6 !== undefined,
      labels: { [NETWORK_LABEL]: row.uuid, 'zun.project': row.projectId },
    };
  }
}
