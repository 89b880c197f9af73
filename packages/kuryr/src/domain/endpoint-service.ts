/**
 * Docker endpoints → bound Neutron ports plugged into the host data plane.
 * CreateEndpoint finds the port the IPAM side created (or creates one), makes
 * sure it is bound to this host with Docker's MAC, tags it with the endpoint
 * id, and plugs it (binding driver). Join only answers. DeleteEndpoint
 * unplugs; the port itself goes with ReleaseAddress, as in Kuryr.
 */
import { ipOf, normalizeIp } from '@kuryr-ts/openstack/lib/cidr';
import { withUndo } from '@kuryr-ts/openstack/lib/undo';
import type { BindingDrivers } from '../ports/binder.js';
import type { NeutronApi, NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { AppError, BadRequestError, ConflictError, NeutronError, NotFoundError, describeError } from '@kuryr-ts/openstack/errors';
import { refuseForeignPort } from './port-ownership.js';
import { isKuryrPort } from './ipam-service.js';
import { createOnce } from './create-once.js';
import { Ledger } from './ledger.js';
import { DEVICE_OWNER, POOL_DEVICE_ID, TAG_NET_SG, TAG_PORT_OURS, awaitsEndpoint, endpointPortName, idTags } from './naming.js';
import { parseEndpointOptions } from './options.js';
import type { SecurityGroupResolver } from './security-groups.js';
import type { NeutronIndex } from './neutron-index.js';
import type { Background, DriverSettings, Logger } from './settings.js';

export interface CreateEndpointInput {
  networkId: string;
  endpointId: string;
  address: string;
  addressIPv6: string;
  macAddress: string;
  /** CreateEndpoint Options: Docker's keys and `--driver-opt` pairs (flat). */
  options?: Record<string, unknown>;
}

/** A route for the container: through `nextHop`, or on-link (`connected`). */
export interface StaticRoute {
  destination: string;
  type: 'nexthop' | 'connected';
  nextHop?: string;
}

/** What Docker needs to set the container's interface up. */
export interface JoinResult {
  /** The host-side interface Docker moves into the container, renamed `<dstPrefix><n>`. */
  interfaceName: { srcName: string; dstPrefix: string };
  /** Plain IPs; '' when the subnet has none. */
  gateway: string;
  gatewayIpv6: string;
  staticRoutes: StaticRoute[];
  disableGatewayService: boolean;
}

/** How often CreateEndpoint reads a port bound here that still reads unbound, and the growing gap between reads (about 1.5 s in all). */
const BIND_READS = 6;
const BIND_READ_GAP_MS = 100;

export interface Sleeper {
  sleep(ms: number): Promise<void>;
}

export interface EndpointServiceOptions {
  neutron: NeutronApi;
  /** Hint caches: the endpoint's port, the network's subnets. */
  index: NeutronIndex;
  /** The binding drivers that plug ports into this host (or the VM's NIC). */
  binders: BindingDrivers;
  /** Resolves `--driver-opt neutron.security_groups` names to ids. */
  sgs: SecurityGroupResolver;
  settings: DriverSettings;
  log: Logger;
  /** Waits between port status polls (`vif_plugging_is_fatal`); default: a timer. */
  clock?: Sleeper | undefined;
  /**
   * Runs Neutron bookkeeping after CreateEndpoint has answered (device_id and
   * endpoint tags: nothing Docker waits for). Without it, CreateEndpoint waits.
   */
  background?: Background | undefined;
  /** What this process has in hand (requests in flight, live endpoints); shared with the other services. */
  ledger?: Ledger | undefined;
  /** Port pools: CreateEndpoint took this free pool port (one handed out before a restart); the pool must not hand it out. */
  poolClaimed?: ((portId: string) => void) | undefined;
}

export class EndpointService {
  readonly neutron: NeutronApi;
  readonly index: NeutronIndex;
  readonly binders: BindingDrivers;
  readonly sgs: SecurityGroupResolver;
  readonly settings: DriverSettings;
  readonly log: Logger;
  readonly clock: Sleeper;
  readonly background: Background | undefined;
  readonly ledger: Ledger;
  readonly poolClaimed: (portId: string) => void;

  constructor(opts: EndpointServiceOptions) {
    this.neutron = opts.neutron;
    this.index = opts.index;
    this.binders = opts.binders;
    this.sgs = opts.sgs;
    this.settings = opts.settings;
    this.log = opts.log;
    this.clock = opts.clock ?? { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
    this.background = opts.background;
    this.ledger = opts.ledger ?? new Ledger({ holdMs: 600_000 });
    this.poolClaimed = opts.poolClaimed ?? (() => {});
  }

  async #networkOrThrow(networkId: string, op: string) {
    const net = await this.index.network(networkId);
    if (!net) throw new NotFoundError(`${op}: no Neutron network is tagged with Docker network ${networkId}`);
    return net;
  }

  async createEndpoint(req: CreateEndpointInput): Promise<{ macAddress?: string }> {
    // In flight until the endpoint is recorded on its port (which may be after the reply).
    const release = this.ledger.hold(req.endpointId);
    let handedOver = false;
    try {
      const result = await this.#createEndpoint(req, (after) => {
        handedOver = true;
        return async () => {
          try {
            await after();
          } finally {
            release();
          }
        };
      });
      return result;
    } finally {
      if (!handedOver) release();
    }
  }

  async #createEndpoint(req: CreateEndpointInput, keepHeld: (after: () => Promise<void>) => () => Promise<void>): Promise<{ macAddress?: string }> {
    if (!req.address && !req.addressIPv6) {
      throw new BadRequestError('CreateEndpoint: Interface has neither Address nor AddressIPv6 (use --ipam-driver kuryr)');
    }
    const endpointOpts = parseEndpointOptions(req.options ?? {});
    const net = await this.#networkOrThrow(req.networkId, 'CreateEndpoint');
    // --driver-opt neutron.security_groups, else the network's (-o neutron.security_groups)
    const wantedSgs = endpointOpts.securityGroups
      ? await this.sgs.resolve(endpointOpts.securityGroups, '--driver-opt')
      : net.tags.filter((t) => t.startsWith(TAG_NET_SG)).map((t) => t.slice(TAG_NET_SG.length));
    const ips = [req.address, req.addressIPv6].filter(Boolean).map((a) => normalizeIp(ipOf(a)));
    const mac = req.macAddress.toLowerCase();
    const undoFailed = (step: string, err: unknown): void =>
      this.log.error({ step, err: describeError(err) }, 'CreateEndpoint undo failed: a leftover may remain');

    return withUndo(undoFailed, async (undo) => {
      let port = await this.#findPort(net.id, ips);
      if (!port) {
        // Not allocated by kuryr's IPAM (e.g. a retry after ReleaseAddress): create it bound.
        port = await this.#createPort(endpointPortName(req.endpointId), net.id, req.endpointId, ips.map((ip) => ({ ip_address: ip })), mac);
        const created = port;
        undo.push(`delete port ${created.id}`, () => this.neutron.delete('ports', created.id));
      }
      if (mac && this.settings.bindHost && port.mac_address.toLowerCase() !== mac && port['binding:host_id'] && isKuryrPort(port)) {
        port = await this.#withMac(port, mac, req.endpointId);
        const created = port;
        undo.push(`delete port ${created.id}`, () => this.neutron.delete('ports', created.id));
      }
      // Bound to this host but read unbound: a copy from before Neutron finished binding it (ML2 answers a
      // bulk create first, then binds; a create found by its lookup after a lost reply may still be binding).
      // Read it again, a few times, rather than fail on a stale copy.
      for (let read = 1; this.settings.bindHost && port['binding:vif_type'] === 'unbound' && port['binding:host_id'] === this.settings.hostId && read <= BIND_READS; read++) {
        if (read > 1) await this.clock.sleep(BIND_READ_GAP_MS * (read - 1));
        port = await this.neutron.show('ports', port.id);
      }
      const bound = port;
      refuseForeignPort(bound, this.settings.hostId, req.endpointId, 'CreateEndpoint');
      if (bound.device_id === POOL_DEVICE_ID) this.poolClaimed(bound.id);
      if (mac) this.index.forgetPortHint(net.id, mac);
      if (this.settings.bindHost && bound['binding:vif_type'] === 'binding_failed') {
        throw new AppError(
          'KURYR_ERR_BINDING_FAILED',
          'unavailable',
          `CreateEndpoint: Neutron could not bind port ${bound.id} to host ${this.settings.hostId} (binding:vif_type=binding_failed): is the Neutron/OVN agent of this host alive, and is [binding] host_id its name?`,
        );
      }

      const update: Record<string, unknown> = {};
      if (this.settings.bindHost && bound['binding:host_id'] !== this.settings.hostId) {
        update['binding:host_id'] = this.settings.hostId;
        update.device_owner = DEVICE_OWNER; // together with the host (DVR, Kuryr bug 1802163)
      }
      if (awaitsEndpoint(bound.device_id)) update.device_id = req.endpointId; // a hand-out (pool port or not) becomes this endpoint's
      // Nested: the container's MAC lives on the VM port (allowed address pair), not on this port.
      if (mac && this.settings.bindHost && bound.mac_address.toLowerCase() !== mac) update.mac_address = mac;
      if (!bound.admin_state_up) update.admin_state_up = true;
      if (wantedSgs.length > 0) {
        if (bound.port_security_enabled === false) {
          throw new BadRequestError(`CreateEndpoint: port ${bound.id} has port security disabled: it cannot take security groups`, 'KURYR_ERR_BAD_OPTION');
        }
        const current = bound.security_groups ?? [];
        if (current.length !== wantedSgs.length || current.some((g) => !wantedSgs.includes(g))) update.security_groups = wantedSgs;
      }
      const binder = this.binders.forPort(bound);
      const tagging = this.index.tagging;
      const tags = tagging ? [...new Set([...bound.tags, ...(isKuryrPort(bound) ? [TAG_PORT_OURS] : []), ...idTags(req.endpointId)])] : bound.tags;
      // Tag-less Neutron: the endpoint is found by the port's name (Kuryr's `<EID>-port`).
      if (!tagging && bound.name !== endpointPortName(req.endpointId)) update.name = endpointPortName(req.endpointId);

      const plugSpec = { port: bound, endpointId: req.endpointId, mtu: net.mtu ?? 1500, mac: mac || bound.mac_address };
      // Only the endpoint's name on the port left to write (the port is bound, its MAC and groups
      // right): Docker need not wait for it. Join and DeleteEndpoint find the endpoint in memory;
      // after a restart, DeleteEndpoint cleans the host by what OVS and the links recorded, and
      // ReleaseAddress finds the port by its address.
      if (this.background && !this.settings.vifPluggingIsFatal && Object.keys(update).every((k) => k === 'device_id')) {
        await binder.bind(plugSpec);
        undo.push(`unbind port ${bound.id}`, () => binder.unbind({ portId: bound.id, endpointId: req.endpointId, port: bound }));
        this.index.rememberEndpoint({ endpointId: req.endpointId, port: { ...bound, ...update, tags }, networkId: net.id });
        this.ledger.bind(bound.id, req.endpointId);
        this.background(keepHeld(() => this.#record(bound.id, update, tagging ? tags : undefined)));
        return mac ? {} : { macAddress: bound.mac_address };
      }
      // The Neutron update/tagging and the host plumbing are independent: run them together.
      const plug = binder.bind(plugSpec);
      const steps = await Promise.allSettled([
        Object.keys(update).length > 0 ? this.neutron.update('ports', bound.id, update) : Promise.resolve(bound),
        tagging ? this.neutron.replaceTags('ports', bound.id, tags) : Promise.resolve(),
        plug,
      ]);
      const [updated, tagged, plugged] = steps;
      if (plugged.status === 'fulfilled') {
        undo.push(`unbind port ${bound.id}`, () => binder.unbind({ portId: bound.id, endpointId: req.endpointId, port: bound }));
      }
      if (tagging && tagged.status === 'fulfilled') {
        undo.push(`restore tags of port ${bound.id}`, () => this.neutron.replaceTags('ports', bound.id, bound.tags));
      }
      const failed = steps.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      const finalPort: NeutronPort = { ...(updated.status === 'fulfilled' ? updated.value : bound), tags };

      if (this.settings.vifPluggingIsFatal) await this.#waitActive(finalPort);
      this.index.rememberEndpoint({ endpointId: req.endpointId, port: finalPort, networkId: net.id });
      this.ledger.bind(finalPort.id, req.endpointId);
      // Fill the MAC only when Docker left it empty: echoing a value Docker set is an error.
      return mac ? {} : { macAddress: finalPort.mac_address };
    });
  }

  /** CreateEndpoint's bookkeeping, after the reply: the port's device_id and endpoint tags. */
  async #record(portId: string, update: Record<string, unknown>, tags: string[] | undefined): Promise<void> {
    try {
      await Promise.all([
        Object.keys(update).length > 0 ? this.neutron.update('ports', portId, update) : undefined,
        tags ? this.neutron.replaceTags('ports', portId, tags) : undefined,
      ]);
    } catch (err) {
      // The container was removed meanwhile (the port is gone), or Neutron failed: the port
      // works, only its record is missing (found by its address on release).
      if (!(err instanceof NeutronError && err.isNotFound)) {
        this.log.warn({ portId, err: describeError(err) }, 'CreateEndpoint: could not record the endpoint on its port (device_id, tags)');
      }
    }
  }

  async #findPort(neutronNetworkId: string, ips: string[]): Promise<NeutronPort | undefined> {
    const hinted = new Map<string, NeutronPort>();
    for (const ip of ips) {
      const hint = this.index.takePortHint(neutronNetworkId, ip); // dual stack: one port, two hints
      if (hint) hinted.set(hint.id, hint);
    }
    let matching = [...hinted.values()];
    if (matching.length === 0 || (matching.length === 1 && ips.some((ip) => !matching[0]!.fixed_ips.some((f) => normalizeIp(f.ip_address) === ip)))) {
      const ports = await this.neutron.list('ports', {
        network_id: neutronNetworkId,
        fixed_ips: ips.map((ip) => `ip_address=${ip}`),
      });
      matching = ports.filter((p) => p.fixed_ips.some((f) => ips.includes(normalizeIp(f.ip_address))));
    }
    if (matching.length === 2 && matching.every((p) => isKuryrPort(p) && awaitsEndpoint(p.device_id))) {
      return this.#joinPorts(matching[0]!, matching[1]!);
    }
    if (matching.length > 1) {
      throw new ConflictError(`CreateEndpoint: addresses ${ips.join(', ')} belong to ${matching.length} Neutron ports (${matching.map((p) => p.id).join(', ')})`);
    }
    return matching[0];
  }

  /**
   * Port pools: without a MAC, IPAM cannot tell that a dual-stack endpoint's
   * two addresses belong together and makes a port for each. One endpoint,
   * one port: the second one's address moves to the first.
   */
  async #joinPorts(keep: NeutronPort, other: NeutronPort): Promise<NeutronPort> {
    await this.neutron.delete('ports', other.id);
    const fixed = [...keep.fixed_ips, ...other.fixed_ips].map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address }));
    return this.neutron.update('ports', keep.id, { fixed_ips: fixed });
  }

  /**
   * Port pools: Docker asked for no MAC in IPAM, then `--mac-address` came with
   * CreateEndpoint. The port is bound, and Neutron does not change a bound
   * port's MAC: a new port with the same addresses and that MAC replaces it.
   */
  async #withMac(port: NeutronPort, mac: string, endpointId: string): Promise<NeutronPort> {
    await this.neutron.delete('ports', port.id);
    const fixedIps = port.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address }));
    return this.#createPort(port.name, port.network_id, endpointId, fixedIps, mac);
  }

  /**
   * A kuryr port for an endpoint, already owned by it (device_id: found by it
   * after an unanswered POST) and (veth drivers) bound to this host.
   */
  #createPort(name: string, networkId: string, endpointId: string, fixedIps: Array<Record<string, string>>, mac: string): Promise<NeutronPort> {
    return createOnce({
      what: `port of endpoint ${endpointId}`,
      create: () =>
        this.neutron.create('ports', {
          name,
          network_id: networkId,
          admin_state_up: true,
          device_owner: DEVICE_OWNER,
          device_id: endpointId,
          ...(this.settings.bindHost ? { 'binding:host_id': this.settings.hostId } : {}),
          fixed_ips: fixedIps,
          ...(mac ? { mac_address: mac } : {}),
        }),
      find: async () => (await this.neutron.list('ports', { network_id: networkId, device_id: endpointId }))[0],
      log: this.log,
    });
  }

  async #waitActive(port: NeutronPort): Promise<void> {
    const deadline = Date.now() + this.settings.vifPluggingTimeoutS * 1000;
    let status = port.status;
    while (status !== 'ACTIVE') {
      if (Date.now() >= deadline) {
        throw new AppError('KURYR_ERR_PORT_INACTIVE', 'unavailable', `CreateEndpoint: Neutron port ${port.id} did not become ACTIVE within ${this.settings.vifPluggingTimeoutS}s (status ${status})`);
      }
      await this.clock.sleep(250);
      status = (await this.neutron.show('ports', port.id)).status;
    }
  }

  async #endpointPort(networkId: string, endpointId: string): Promise<NeutronPort | undefined> {
    const rec = this.index.endpoint(endpointId);
    if (rec) return rec.port;
    const ports = await this.neutron.list('ports', this.index.tagging ? { tags: idTags(endpointId).join(',') } : { name: endpointPortName(endpointId) });
    return ports[0];
  }

  async join(req: { networkId: string; endpointId: string; sandboxKey: string }): Promise<JoinResult> {
    const port = await this.#endpointPort(req.networkId, req.endpointId);
    if (!port) throw new NotFoundError(`Join: no Neutron port is tagged with endpoint ${req.endpointId}`);
    const subnets = await this.index.subnetsOf(port.network_id);
    const mine = subnets.filter((s) => port.fixed_ips.some((f) => f.subnet_id === s.id));
    const v4 = mine.find((s) => s.ip_version === 4);
    const v6 = mine.find((s) => s.ip_version === 6);
    const routes: StaticRoute[] = mine.flatMap((s) =>
      (s.host_routes ?? []).map((r) => ({ destination: r.destination, type: 'nexthop' as const, nextHop: r.nexthop })),
    );
    return {
      interfaceName: { srcName: this.binders.containerIfName(port.id), dstPrefix: this.settings.vethDstPrefix },
      gateway: v4?.gateway_ip ?? '',
      gatewayIpv6: v6?.gateway_ip ?? '',
      staticRoutes: routes,
      // Never attach docker_gwbridge: the Neutron network is the container's network.
      disableGatewayService: true,
    };
  }

  async deleteEndpoint(req: { networkId: string; endpointId: string }): Promise<void> {
    const port = await this.#endpointPort(req.networkId, req.endpointId);
    if (port) {
      await this.binders.forPort(port).unbind({ portId: port.id, endpointId: req.endpointId, port });
      // ReleaseAddress follows and deletes the port; hand it over to save the lookup.
      for (const f of port.fixed_ips) this.index.rememberPortHint(port.network_id, normalizeIp(f.ip_address), port);
    } else {
      // Neutron has no trace (port deleted behind our back): clean the host by what it recorded.
      await this.binders.removeLeftovers(req.endpointId);
    }
    this.index.forgetEndpoint(req.endpointId);
    this.ledger.unbind(req.endpointId);
  }
}
