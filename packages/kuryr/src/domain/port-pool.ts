/**
 * Port pools (`[vif_pool] enabled`, Kuryr-Kubernetes' idea): Neutron ports
 * made and bound to this host ahead of time, per subnet, so `docker run`
 * does not wait for Neutron to create and bind one. A pool port is an
 * ordinary kuryr port (`kuryr-unbound-port`, device_owner `compute:kuryr`,
 * bound here) whose device_id is `kuryr-port-pool`: CreateEndpoint gives it
 * its endpoint (device_id, tags).
 *
 * Pools fill in the background (never on a Docker request's clock), are
 * emptied before the daemon's network goes, and are found again in Neutron
 * after a restart: Neutron stays the only state.
 */
import type { NeutronApi, NeutronPort, NeutronSubnet } from '@kuryr-ts/openstack/neutron/types';
import { describeError } from '@kuryr-ts/openstack/errors';
import { DEVICE_OWNER, POOL_DEVICE_ID, UNBOUND_PORT_NAME } from './naming.js';
import type { Background, Logger } from './settings.js';

export interface PortPoolSettings {
  readonly hostId: string;
  /** Free ports kept per subnet. */
  readonly min: number;
  /** Ports made per refill (one bulk request). */
  readonly batch: number;
  /** At most this many free ports per subnet (0: no limit). */
  readonly max: number;
}

export interface PortPoolOptions {
  neutron: NeutronApi;
  /** This host and the pool sizes (`[vif_pool]`). */
  settings: PortPoolSettings;
  log: Logger;
  /** Runs refills detached from the Docker request that triggered them. */
  background: Background;
  /** Is this port plugged on this host (a container uses it)? For recovery after a crash. Default: never. */
  plugged?: ((portId: string) => Promise<boolean>) | undefined;
}

export class PortPool {
  readonly #free = new Map<string, NeutronPort[]>();
  readonly #filling = new Map<string, Promise<void>>();
  /** Neutron networks being drained: no refill until a request uses them again. */
  readonly #closed = new Set<string>();

  readonly neutron: NeutronApi;
  readonly settings: PortPoolSettings;
  readonly log: Logger;
  readonly background: Background;
  readonly plugged: (portId: string) => Promise<boolean>;

  constructor(opts: PortPoolOptions) {
    this.neutron = opts.neutron;
    this.settings = opts.settings;
    this.log = opts.log;
    this.background = opts.background;
    this.plugged = opts.plugged ?? (async () => false);
  }

  /** A free port of this subnet, or undefined (the caller makes one); tops the pool up either way. */
  take(subnet: NeutronSubnet): NeutronPort | undefined {
    this.#closed.delete(subnet.network_id);
    const free = this.#free.get(subnet.id) ?? [];
    const port = free.shift();
    if (free.length === 0) this.#free.delete(subnet.id);
    if (free.length < this.settings.min) this.#refill(subnet, free.length);
    return port;
  }

  /** A port Docker released before it became an endpoint (or one deleted behind our back). */
  forget(portId: string): void {
    for (const [subnetId, free] of this.#free) {
      const i = free.findIndex((p) => p.id === portId);
      if (i >= 0) free.splice(i, 1);
      if (free.length === 0) this.#free.delete(subnetId);
    }
  }

  #refill(subnet: NeutronSubnet, have: number): void {
    if (this.#filling.has(subnet.id)) return;
    let count = Math.max(this.settings.batch, this.settings.min - have);
    if (this.settings.max > 0) count = Math.min(count, this.settings.max - have);
    if (count <= 0) return;
    // Started by the background runner, not here: its calls are not the triggering request's.
    let settle!: () => void;
    this.#filling.set(subnet.id, new Promise<void>((resolve) => (settle = resolve)));
    this.background(async () => {
      try {
        const ports = await this.neutron.createBulk(
          'ports',
          Array.from({ length: count }, () => ({
            name: UNBOUND_PORT_NAME,
            network_id: subnet.network_id,
            admin_state_up: true,
            fixed_ips: [{ subnet_id: subnet.id }],
            device_owner: DEVICE_OWNER,
            device_id: POOL_DEVICE_ID,
            'binding:host_id': this.settings.hostId,
          })),
        );
        if (this.#closed.has(subnet.network_id)) {
          // The network is going away: these are not wanted any more.
          await Promise.all(ports.map((p) => this.neutron.delete('ports', p.id)));
          return;
        }
        this.#free.set(subnet.id, [...(this.#free.get(subnet.id) ?? []), ...ports]);
        this.log.debug({ subnetId: subnet.id, made: ports.length }, 'port pool refilled');
      } catch (err) {
        this.log.warn({ subnetId: subnet.id, err: describeError(err) }, 'port pool refill failed; containers get ports made on demand');
      } finally {
        this.#filling.delete(subnet.id);
        settle();
      }
    });
  }

  /** Deletes this host's free ports on a Neutron network (before the network is deleted). */
  async drain(neutronNetworkId: string): Promise<void> {
    this.#closed.add(neutronNetworkId);
    await Promise.all([...this.#filling.values()]);
    const doomed: NeutronPort[] = [];
    for (const [subnetId, free] of this.#free) {
      if (free[0]?.network_id !== neutronNetworkId) continue;
      doomed.push(...free);
      this.#free.delete(subnetId);
    }
    await Promise.all(doomed.map((p) => this.neutron.delete('ports', p.id)));
  }

  /** After a restart: this host's pool ports in Neutron become the pools again (all or none: a failed recovery can be retried). */
  async recover(): Promise<number> {
    const ports = await this.neutron.list('ports', { device_id: POOL_DEVICE_ID, 'binding:host_id': this.settings.hostId });
    const known = new Set([...this.#free.values()].flat().map((p) => p.id));
    const found: Array<[string, NeutronPort]> = [];
    for (const p of ports) {
      const subnetId = p.fixed_ips[0]?.subnet_id;
      if (!subnetId || known.has(p.id)) continue;
      // Handed out, but the daemon stopped before it recorded the endpoint on the port: in use.
      if (await this.plugged(p.id)) continue;
      found.push([subnetId, p]);
    }
    for (const [subnetId, p] of found) this.#free.set(subnetId, [...(this.#free.get(subnetId) ?? []), p]);
    return found.length;
  }

  /** Free ports per subnet (for /kuryr/stats and leak checks). */
  sizes(): Record<string, number> {
    return Object.fromEntries([...this.#free].map(([k, v]) => [k, v.length]));
  }
}
