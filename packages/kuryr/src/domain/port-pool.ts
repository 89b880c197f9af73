/**
 * Port pools (`[vif_pool] enabled`, Kuryr-Kubernetes' idea): Neutron ports
 * made and bound to this host ahead of time, per subnet, so `docker run`
 * does not wait for Neutron to create and bind one. A pool port is an
 * ordinary kuryr port (`kuryr-unbound-port`, device_owner `compute:kuryr`,
 * bound here) whose device_id is `kuryr-port-pool`.
 *
 * A hand-out is the pool's own, in memory, as in Kuryr-Kubernetes: no
 * Neutron call before RequestAddress answers; CreateEndpoint then gives the
 * port its endpoint (device_id, tags) after its own reply. The daemon is the
 * only one handing out this host's pool ports. A restart could otherwise
 * hand out a port twice: a port handed out just before a crash still looks
 * free in Neutron, and Docker retries its CreateEndpoint against the new
 * process for up to 30 s. So the ports a restarted daemon finds again are
 * held back for RECOVERED_HOLD_MS (unless a CreateEndpoint claims one
 * meanwhile), and a port already plugged here is never free.
 * With `mark_hand_outs`, RequestAddress instead writes its own device_id
 * (`kuryr-request:<id>`) on the port before it answers, guarded by the port's
 * revision: no port is handed out twice even by two processes at once.
 *
 * Pools fill in the background (never on a Docker request's clock), sized
 * by demand (a burst of hand-outs makes the next refill as large as the
 * burst), take back the ports ReleaseAddress gives them (reset to a free pool
 * port's state after Docker has its answer), are emptied before the daemon's
 * network goes, and are found again in Neutron after a restart: Neutron stays
 * the only state.
 */
import type { NeutronApi, NeutronPort, NeutronSubnet } from '@kuryr-ts/openstack/neutron/types';
import { NeutronError, describeError } from '@kuryr-ts/openstack/errors';
import { createOnce, outcomeUnknown } from './create-once.js';
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
  /** Mark each hand-out in Neutron (guarded by the port's revision) before answering. Default: false. */
  readonly markHandOuts?: boolean | undefined;
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
  /** Milliseconds now (demand is counted over the last DEMAND_WINDOW_MS). Default: Date.now. */
  now?: (() => number) | undefined;
}

/** Hand-outs of the last this many milliseconds size the next refill. */
export const DEMAND_WINDOW_MS = 30_000;

/**
 * Ports found again after a restart are not handed out for this long: one of
 * them may have been handed out just before the crash, and Docker retries the
 * CreateEndpoint that claims it for up to 30 s (its plugin client's retries).
 */
export const RECOVERED_HOLD_MS = 60_000;

/** New pool ports are read again up to this many times, BIND_READ_GAP_MS × attempt apart, until Neutron has bound them. */
const BIND_READS = 6;
const BIND_READ_GAP_MS = 250;

/** A released port on its way back to the free ports (its reset PUT not answered yet). */
interface Returning {
  readonly subnetId: string;
  readonly networkId: string;
  readonly done: Promise<void>;
}

export class PortPool {
  readonly #free = new Map<string, NeutronPort[]>();
  readonly #filling = new Map<string, Promise<void>>();
  /** Neutron networks being drained: no refill until a request uses them again. */
  readonly #closed = new Set<string>();
  /** Hand-out times per subnet, within the demand window. */
  readonly #demand = new Map<string, number[]>();
  /** Released ports being reset, by port id: not free (not handed out) until their reset succeeds. */
  readonly #returning = new Map<string, Returning>();
  /**
   * Per Neutron network, what Neutron gives a pool port: its security groups (what a returned port is reset
   * to) and the first three octets of its MAC (a port with a MAC of its user's, `--mac-address`, is not taken back).
   */
  readonly #shapes = new Map<string, { groups: string[]; macPrefix: string }>();
  /** Ports found again after a restart, by id: not handed out before this time (ms). */
  readonly #heldUntil = new Map<string, number>();
  #recovered = false;

  readonly neutron: NeutronApi;
  readonly settings: PortPoolSettings;
  readonly log: Logger;
  readonly background: Background;
  readonly plugged: (portId: string) => Promise<boolean>;
  readonly now: () => number;

  constructor(opts: PortPoolOptions) {
    this.neutron = opts.neutron;
    this.settings = opts.settings;
    this.log = opts.log;
    this.background = opts.background;
    this.plugged = opts.plugged ?? (async () => false);
    this.now = opts.now ?? Date.now;
  }

  /**
   * A free port of this subnet, handed out to `handOut` (with
   * `markHandOuts`, marked so in Neutron first); undefined when there is
   * none (the caller makes one). Tops the pool up either way.
   */
  async take(subnet: NeutronSubnet, handOut: string): Promise<NeutronPort | undefined> {
    this.#closed.delete(subnet.network_id);
    this.#noteDemand(subnet.id);
    for (;;) {
      const free = this.#free.get(subnet.id) ?? [];
      const i = free.findIndex((p) => this.#eligible(p.id));
      const [port] = i < 0 ? [] : free.splice(i, 1);
      if (free.length === 0) this.#free.delete(subnet.id);
      if (this.#freeNow(subnet.id) < this.settings.min) this.#refill(subnet);
      if (!port) return undefined;
      const claimed = await this.#handOut(port, handOut);
      if (claimed) return claimed;
    }
  }

  /** Not held back after a restart (the hold of a port found again ends after RECOVERED_HOLD_MS). */
  #eligible(portId: string): boolean {
    const until = this.#heldUntil.get(portId);
    if (until === undefined) return true;
    if (this.now() < until) return false;
    this.#heldUntil.delete(portId);
    return true;
  }

  /** Free ports of a subnet that can be handed out now (not held back after a restart). */
  #freeNow(subnetId: string): number {
    return (this.#free.get(subnetId) ?? []).filter((p) => this.#eligible(p.id)).length;
  }

  async #handOut(port: NeutronPort, handOut: string): Promise<NeutronPort | undefined> {
    this.#heldUntil.delete(port.id);
    return this.settings.markHandOuts ? this.#claim(port, handOut) : port;
  }

  /**
   * CreateEndpoint uses this port (found by its address): if the pool holds
   * it as free (found again after a restart, handed out by the process
   * before), it is not any more.
   */
  claimed(portId: string): void {
    if (this.#returning.has(portId)) return; // a released port on its way back: not the pool's to give up
    this.forget(portId);
  }

  /**
   * A given free port (one holding the address a request asks for by
   * `--ip`), handed out like take()'s; undefined when the pool does not hold
   * it, holds it back after a restart, or another hand-out claimed it first.
   */
  async takePort(port: NeutronPort, handOut: string): Promise<NeutronPort | undefined> {
    for (const [subnetId, free] of this.#free) {
      const i = free.findIndex((p) => p.id === port.id);
      if (i < 0 || !this.#eligible(port.id)) continue;
      const [held] = free.splice(i, 1);
      if (free.length === 0) this.#free.delete(subnetId);
      return this.#handOut(held!, handOut);
    }
    return undefined;
  }

  /**
   * Marks a free port as handed out, if it still is free: the update is
   * conditional on the port's revision, so a port another process (or a lost
   * earlier claim) took since is skipped, never handed out twice. A revision
   * that moved for another reason (Neutron's binding, its status) is read
   * again and the claim retried.
   */
  async #claim(port: NeutronPort, handOut: string, attempt = 1): Promise<NeutronPort | undefined> {
    try {
      return await this.neutron.update('ports', port.id, { device_id: handOut }, port.revision_number !== undefined ? { ifRevision: port.revision_number } : {});
    } catch (err) {
      if (err instanceof NeutronError && err.status === 412 && attempt < 4) {
        const now = await this.neutron.show('ports', port.id).catch(() => undefined);
        if (now?.device_id === POOL_DEVICE_ID) return this.#claim(now, handOut, attempt + 1);
      }
      if (err instanceof NeutronError && (err.isNotFound || err.status === 412)) {
        this.log.info({ portId: port.id, status: err.status }, 'port pool: a free port was deleted or taken behind the pool; skipped');
        return undefined;
      }
      if (outcomeUnknown(err)) {
        // Did the mark land? Only then is the port this request's.
        const now = await this.neutron.show('ports', port.id).catch(() => undefined);
        if (now?.device_id === handOut) return now;
      }
      throw err;
    }
  }

  /** Whether this port is one of the pool's free ports, or a released one being reset to be one (the reconciler leaves those alone). */
  holds(portId: string): boolean {
    if (this.#returning.has(portId)) return true;
    for (const free of this.#free.values()) if (free.some((p) => p.id === portId)) return true;
    return false;
  }

  /**
   * ReleaseAddress: takes a released port of this subnet back instead of
   * having it deleted, if it can be a free pool port again (kuryr's, bound to
   * this host, one address, a MAC of Neutron's, on a network whose pool ports
   * the pool has seen) and the pool is not full (`max`). The reset — its endpoint
   * tags off, then one PUT of device_id, name and groups — runs in the
   * background, after `settled` (the endpoint's own record on the port, when
   * it is still in flight): Docker does not wait for it, and the port is
   * handed out only once it succeeded. A failed reset deletes the port.
   * False: the caller deletes the port.
   */
  giveBack(port: NeutronPort, subnet: NeutronSubnet, settled?: Promise<void>): boolean {
    if (this.#returning.has(port.id) || this.holds(port.id)) return true;
    if (this.#closed.has(subnet.network_id)) return false;
    if (port.device_owner !== DEVICE_OWNER || port['binding:host_id'] !== this.settings.hostId) return false;
    if (port.fixed_ips.length !== 1 || port.fixed_ips[0]?.subnet_id !== subnet.id) return false;
    const shape = this.#shapes.get(subnet.network_id);
    if (!shape) return false; // no pool port seen on this network yet: what to reset it to is unknown
    if (!port.mac_address.toLowerCase().startsWith(shape.macPrefix)) return false;
    const { groups } = shape;
    if (this.settings.max > 0 && this.#count(subnet.id) >= this.settings.max) return false;
    const update: Record<string, unknown> = { device_id: POOL_DEVICE_ID };
    if (port.name !== UNBOUND_PORT_NAME) update.name = UNBOUND_PORT_NAME;
    const current = port.security_groups ?? [];
    if (current.length !== groups.length || current.some((g) => !groups.includes(g))) update.security_groups = groups;
    let settle!: () => void;
    this.#returning.set(port.id, { subnetId: subnet.id, networkId: subnet.network_id, done: new Promise<void>((resolve) => (settle = resolve)) });
    this.background(async () => {
      try {
        let tags = port.tags;
        if (settled) {
          // The endpoint's record lands first: the port's tags are read again (what to take off).
          await settled;
          tags = (await this.neutron.show('ports', port.id)).tags;
        }
        // Tags first: a port whose device_id PUT then fails still names its (gone) endpoint, and the reconciler removes it.
        if (tags.length > 0) await this.neutron.replaceTags('ports', port.id, []);
        const reset = await this.neutron.update('ports', port.id, update);
        if (this.#closed.has(subnet.network_id) || !this.#returning.has(port.id)) {
          await this.#deleteQuietly(port.id);
          return;
        }
        this.#free.set(subnet.id, [...(this.#free.get(subnet.id) ?? []), { ...reset, tags: [] }]);
        this.log.debug({ portId: port.id, subnetId: subnet.id }, 'port pool: a released port is free again');
      } catch (err) {
        if (!(err instanceof NeutronError && err.isNotFound)) {
          this.log.warn({ portId: port.id, err: describeError(err) }, 'port pool: could not reset a released port; deleting it');
          await this.#deleteQuietly(port.id);
        }
      } finally {
        this.#returning.delete(port.id);
        settle();
      }
    });
    return true;
  }

  async #deleteQuietly(portId: string): Promise<void> {
    try {
      await this.neutron.delete('ports', portId);
    } catch (err) {
      if (!(err instanceof NeutronError && err.isNotFound)) {
        this.log.warn({ portId, err: describeError(err) }, 'port pool: could not delete a port; the reconciler removes it');
      }
    }
  }

  /** Free ports of a subnet (with `eligible`, only those not held back after a restart), and released ones on their way back. */
  #count(subnetId: string, eligible = false): number {
    let n = eligible ? this.#freeNow(subnetId) : (this.#free.get(subnetId)?.length ?? 0);
    for (const r of this.#returning.values()) if (r.subnetId === subnetId) n++;
    return n;
  }

  #noteDemand(subnetId: string): void {
    const now = this.now();
    const times = (this.#demand.get(subnetId) ?? []).filter((t) => now - t < DEMAND_WINDOW_MS);
    times.push(now);
    this.#demand.set(subnetId, times);
  }

  /** Hand-outs of this subnet within the demand window. */
  #recentDemand(subnetId: string): number {
    const now = this.now();
    return (this.#demand.get(subnetId) ?? []).filter((t) => now - t < DEMAND_WINDOW_MS).length;
  }

  /** A port Docker released before it became an endpoint (or one deleted behind our back). */
  forget(portId: string): void {
    this.#returning.delete(portId);
    this.#heldUntil.delete(portId);
    for (const [subnetId, free] of this.#free) {
      const i = free.findIndex((p) => p.id === portId);
      if (i >= 0) free.splice(i, 1);
      if (free.length === 0) this.#free.delete(subnetId);
    }
  }

  /**
   * Starts a refill unless one is running: as many ports as the larger of the
   * batch, what is missing to `min`, and the hand-outs of the demand window
   * not covered by the free ports (so a burst is met from the pool next
   * time); at most `max`. Hand-outs never wait for it: when the pool is empty
   * they get ports made on demand. When it ends and the pool is below `min`
   * again (hand-outs during the refill), another one starts.
   */
  #refill(subnet: NeutronSubnet): void {
    if (this.#filling.has(subnet.id) || this.#closed.has(subnet.network_id)) return;
    // Ports held back after a restart do not count as free: hand-outs meanwhile get new ones.
    const have = this.#count(subnet.id, true);
    let count = Math.max(this.settings.batch, this.settings.min - have, this.#recentDemand(subnet.id) - have);
    if (this.settings.max > 0) count = Math.min(count, this.settings.max - this.#count(subnet.id));
    if (count <= 0) return;
    // Started by the background runner, not here: its calls are not the triggering request's.
    let settle!: () => void;
    this.#filling.set(subnet.id, new Promise<void>((resolve) => (settle = resolve)));
    this.background(async () => {
      let again = false;
      try {
        // Identity: this host's free pool ports of the subnet that the pool does not know yet.
        const made = await createOnce({
          what: `${count} pool ports of subnet ${subnet.id}`,
          create: () =>
            this.neutron.createBulk(
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
            ),
          find: async () => {
            const unknown = (await this.#listFree({ network_id: subnet.network_id })).filter((p) => p.fixed_ips[0]?.subnet_id === subnet.id && !this.holds(p.id));
            return unknown.length > 0 ? unknown : undefined;
          },
          log: this.log,
        });
        // Read again until bound: Neutron (ML2) binds each port after it wrote the bulk create's
        // answer, so that answer says `unbound` (a hand-out would have nothing to plug) and its
        // revisions are already stale (every guarded mark would fail once, 412, while Docker waits).
        const ports = await this.#bound(subnet.network_id, made);
        if (this.#closed.has(subnet.network_id)) {
          // The network is going away: these are not wanted any more.
          await Promise.all(ports.map((p) => this.neutron.delete('ports', p.id)));
          return;
        }
        this.#learnShape(ports);
        if (ports.length > 0) this.#free.set(subnet.id, [...(this.#free.get(subnet.id) ?? []), ...ports]);
        this.log.debug({ subnetId: subnet.id, made: ports.length }, 'port pool refilled');
        // Another round only if this one added ports: a Neutron that binds none would otherwise be asked forever.
        again = ports.length > 0 && this.#freeNow(subnet.id) < this.settings.min;
      } catch (err) {
        this.log.warn({ subnetId: subnet.id, err: describeError(err) }, 'port pool refill failed; containers get ports made on demand');
      } finally {
        this.#filling.delete(subnet.id);
        settle();
      }
      if (again) this.#refill(subnet);
    });
  }

  /**
   * The ports just made, as Neutron has them once it bound them (read again
   * a few times, in the background); those it could not bind are deleted.
   */
  async #bound(networkId: string, made: NeutronPort[]): Promise<NeutronPort[]> {
    const ready: NeutronPort[] = [];
    const failed: NeutronPort[] = [];
    let waiting = made;
    for (let attempt = 0; waiting.length > 0 && attempt < BIND_READS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, BIND_READ_GAP_MS * attempt));
      const listed = await this.#listFree({ network_id: networkId }).catch(() => undefined);
      if (!listed) continue; // Neutron did not answer: read again
      const current = new Map(listed.map((p) => [p.id, p]));
      const still: NeutronPort[] = [];
      for (const p of waiting) {
        const now = current.get(p.id);
        if (!now) continue; // deleted or taken behind the pool meanwhile
        const vifType = now['binding:vif_type'];
        if (vifType === 'unbound') still.push(now);
        else if (vifType === 'binding_failed') failed.push(now);
        else ready.push(now);
      }
      waiting = still;
    }
    const useless = [...failed, ...waiting];
    if (useless.length > 0) {
      this.log.warn({ networkId, ports: useless.map((p) => p.id) }, 'port pool: Neutron did not bind new pool ports to this host; deleting them');
      await Promise.all(useless.map((p) => this.#deleteQuietly(p.id)));
    }
    return ready;
  }

  /** What Neutron gave pool ports of a network: what returned ports are reset to, and checked against. */
  #learnShape(ports: NeutronPort[]): void {
    for (const p of ports) {
      if (!this.#shapes.has(p.network_id)) this.#shapes.set(p.network_id, { groups: [...(p.security_groups ?? [])], macPrefix: p.mac_address.toLowerCase().slice(0, 9) });
    }
  }

  /** Deletes this host's free ports on a Neutron network (before the network is deleted). */
  async drain(neutronNetworkId: string): Promise<void> {
    this.#closed.add(neutronNetworkId);
    this.#shapes.delete(neutronNetworkId);
    // Refills and resets in flight end by deleting their ports (the network is closed).
    await Promise.all([...this.#filling.values(), ...[...this.#returning.values()].filter((r) => r.networkId === neutronNetworkId).map((r) => r.done)]);
    const doomed: NeutronPort[] = [];
    for (const [subnetId, free] of this.#free) {
      if (free[0]?.network_id !== neutronNetworkId) continue;
      doomed.push(...free);
      this.#free.delete(subnetId);
    }
    await Promise.all(doomed.map((p) => this.neutron.delete('ports', p.id)));
  }

  /** This host's free pool ports in Neutron. */
  #listFree(query: Record<string, string> = {}): Promise<NeutronPort[]> {
    return this.neutron.list('ports', { ...query, device_id: POOL_DEVICE_ID, 'binding:host_id': this.settings.hostId });
  }

  /** After a restart: this host's pool ports in Neutron become the pools again (all or none: a failed recovery can be retried). */
  async recover(): Promise<number> {
    const ports = await this.#listFree();
    const found: Array<[string, NeutronPort]> = [];
    for (const p of ports) {
      const subnetId = p.fixed_ips[0]?.subnet_id;
      if (!subnetId) continue;
      // Plugged here: a container uses it (its CreateEndpoint ran; its record on the port did not land).
      if (await this.plugged(p.id)) continue;
      found.push([subnetId, p]);
    }
    this.#learnShape(found.map(([, p]) => p));
    const until = this.now() + RECOVERED_HOLD_MS;
    let n = 0;
    for (const [subnetId, p] of found) {
      if (this.holds(p.id)) continue; // known already (a refill finished meanwhile)
      this.#free.set(subnetId, [...(this.#free.get(subnetId) ?? []), p]);
      if (!this.settings.markHandOuts) this.#heldUntil.set(p.id, until);
      n++;
    }
    this.#recovered = true;
    return n;
  }

  /** Whether recover() has run: until then, this host's free pool ports in Neutron may be the pool's. */
  get recovered(): boolean {
    return this.#recovered;
  }

  /** Free ports per subnet (for /kuryr/stats and leak checks). */
  sizes(): Record<string, number> {
    return Object.fromEntries([...this.#free].map(([k, v]) => [k, v.length]));
  }
}
