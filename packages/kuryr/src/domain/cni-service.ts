/**
 * CNI attachments (`kuryr-cni` ADD, DEL, CHECK, GC) on the same Neutron
 * ports, pools and binding drivers as Docker's endpoints. ADD makes (or takes
 * from the port pool, or adopts the user's pre-created) Neutron port, binds
 * it to this host, plugs its veth's host end as the binding driver does for
 * Docker, moves the other end into the container's namespace as CNI_IFNAME
 * with the port's MAC, addresses and routes, and waits for the port to be
 * ACTIVE; any failure undoes what was done. DEL is idempotent. The port's
 * footprint is in cni-naming.ts.
 */
import { parseCidr } from '@kuryr-ts/openstack/lib/cidr';
import { withUndo } from '@kuryr-ts/openstack/lib/undo';
import type { NeutronApi, NeutronNetwork, NeutronPort, NeutronSubnet } from '@kuryr-ts/openstack/neutron/types';
import { AppError, BadRequestError, ConflictError, NeutronError, NotFoundError, describeError, needsTags } from '@kuryr-ts/openstack/errors';
import type { BindingDrivers } from '../ports/binder.js';
import type { NetnsOps, NetnsRoute } from '../ports/netns.js';
import { CNI_DEVICE_OWNER, TAG_CNI_CONTAINER, TAG_CNI_HOST, TAG_CNI_IFNAME, attachmentOfPort, cniEndpointId, cniPortName, cniTags } from './cni-naming.js';
import { createOnce } from './create-once.js';
import type { Sleeper } from './endpoint-service.js';
import { Ledger } from './ledger.js';
import { TAG_PORT_EXISTING, requestDeviceId } from './naming.js';
import type { NeutronIndex } from './neutron-index.js';
import type { PortPool } from './port-pool.js';
import type { SecurityGroupResolver } from './security-groups.js';
import type { DriverSettings, Logger } from './settings.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** CNI_CONTAINERID: alphanumerics, then also `_.-` (the spec's rule). */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Who an attachment is: the runtime's container id and interface name. */
export interface CniAttachmentRef {
  containerId: string;
  ifname: string;
}

export interface CniAddRequest extends CniAttachmentRef {
  /** The container's network namespace path (CNI_NETNS). */
  netns: string;
  /** The Neutron network (name or id); may be left out when `port` is given. */
  network?: string | undefined;
  /** A subnet of it (name or id) to take the address from. */
  subnet?: string | undefined;
  /** Security groups (names or ids) for the port; default: Neutron's (the project's default group). */
  securityGroups?: string[] | undefined;
  /** A pre-created Neutron port (id) to adopt instead of making one. */
  port?: string | undefined;
}

export interface CniDelRequest extends CniAttachmentRef {
  /** May be empty: the namespace may already be gone. */
  netns?: string | undefined;
}

export interface CniCheckRequest extends CniAttachmentRef {
  netns: string;
}

/** One address of the attachment, with its subnet's gateway. */
export interface CniIp {
  version: 4 | 6;
  /** Address and prefix length, e.g. 10.0.0.5/24. */
  address: string;
  gateway?: string | undefined;
}

/** What ADD made, for the runtime. */
export interface CniAttachment {
  portId: string;
  networkId: string;
  /** The veth end left on the host (plugged into the data plane). */
  hostIfName: string;
  /** The interface in the namespace. */
  ifname: string;
  netns: string;
  mac: string;
  mtu: number;
  ips: CniIp[];
  routes: Array<{ dst: string; gw?: string | undefined }>;
  dnsNameservers: string[];
}

export interface CniServiceOptions {
  neutron: NeutronApi;
  /** Whether Neutron has tags and takes them in a POST. */
  index: NeutronIndex;
  binders: BindingDrivers;
  netns: NetnsOps;
  sgs: SecurityGroupResolver;
  settings: DriverSettings;
  log: Logger;
  /** `[vif_pool]`: ports bound here ahead of time. */
  portPool?: PortPool | undefined;
  /** What this process has in hand (shared with the libnetwork services and the reconciler). */
  ledger?: Ledger | undefined;
  /** Waits between port status polls; default: a timer. */
  clock?: Sleeper | undefined;
}

function invalidArgs(message: string, code = 'KURYR_ERR_CNI_ARGS'): AppError {
  return new BadRequestError(message, code);
}

function validateRef(ref: CniAttachmentRef, op: string): void {
  if (!CONTAINER_ID.test(ref.containerId)) throw invalidArgs(`${op}: CNI_CONTAINERID ${JSON.stringify(ref.containerId)} is not a container id`);
  if (!IFNAME.test(ref.ifname)) throw invalidArgs(`${op}: CNI_IFNAME ${JSON.stringify(ref.ifname)} is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`);
}

function isNotFound(err: unknown): boolean {
  return err instanceof NeutronError && err.isNotFound;
}

/** A pre-created port goes back as the user made it: unbound, without the attachment's marks. Idempotent. */
export async function resetPrecreatedCniPort(neutron: NeutronApi, port: NeutronPort): Promise<void> {
  const tags = port.tags.filter((t) => t !== TAG_PORT_EXISTING && !t.startsWith(TAG_CNI_CONTAINER) && !t.startsWith(TAG_CNI_IFNAME) && !t.startsWith(TAG_CNI_HOST));
  try {
    await Promise.all([neutron.update('ports', port.id, { device_owner: '', device_id: '', 'binding:host_id': '' }), neutron.replaceTags('ports', port.id, tags)]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export class CniService {
  readonly neutron: NeutronApi;
  readonly index: NeutronIndex;
  readonly binders: BindingDrivers;
  readonly netns: NetnsOps;
  readonly sgs: SecurityGroupResolver;
  readonly settings: DriverSettings;
  readonly log: Logger;
  readonly portPool: PortPool | undefined;
  readonly ledger: Ledger;
  readonly clock: Sleeper;

  constructor(opts: CniServiceOptions) {
    this.neutron = opts.neutron;
    this.index = opts.index;
    this.binders = opts.binders;
    this.netns = opts.netns;
    this.sgs = opts.sgs;
    this.settings = opts.settings;
    this.log = opts.log;
    this.portPool = opts.portPool;
    this.ledger = opts.ledger ?? new Ledger({ holdMs: 600_000 });
    this.clock = opts.clock ?? { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
  }

  // ---- ADD

  async add(req: CniAddRequest): Promise<CniAttachment> {
    validateRef(req, 'ADD');
    if (!this.settings.bindHost) {
      throw new AppError('KURYR_ERR_CNI_PORT_DRIVER', 'not-implemented', 'ADD: CNI attachments need the veth port driver (ports bound to this host); the nested drivers are not supported');
    }
    if (!req.netns) throw invalidArgs('ADD: CNI_NETNS is empty');
    if (!req.network && !req.port) throw invalidArgs('ADD: the network configuration names no Neutron network (neutron.network) and no port was given', 'KURYR_ERR_CNI_CONFIG');
    if (!(await this.netns.exists(req.netns))) {
      throw new AppError('KURYR_ERR_CNI_NO_NETNS', 'not-found', `ADD: network namespace ${req.netns} does not exist`);
    }
    const eid = cniEndpointId(req.containerId, req.ifname);
    const release = this.ledger.hold(eid);
    try {
      // A repeated ADD (a retry after a lost reply): start again from nothing.
      if (await this.#findPort(req)) await this.#del({ containerId: req.containerId, ifname: req.ifname, netns: req.netns });
      return await this.#add(req, eid);
    } finally {
      release();
    }
  }

  async #add(req: CniAddRequest, eid: string): Promise<CniAttachment> {
    const undoFailed = (step: string, err: unknown): void => this.log.error({ step, err: describeError(err) }, 'CNI ADD undo failed: a leftover may remain (the reconciler removes it)');
    return withUndo(undoFailed, async (undo) => {
      const precreated = req.port ? await this.#precreated(req.port, req.containerId) : undefined;
      const net = await this.#network(precreated?.network_id ?? req.network!);
      if (precreated && req.network && precreated.network_id !== net.id) {
        throw new ConflictError(`ADD: port ${precreated.id} is on network ${precreated.network_id}, not on ${req.network}`, 'KURYR_ERR_CNI_CONFIG');
      }
      const subnets = await this.neutron.list('subnets', { network_id: net.id });
      const subnet = req.subnet ? this.#subnet(subnets, req.subnet, net) : undefined;
      const sgs = req.securityGroups?.length ? await this.sgs.resolve(req.securityGroups, 'neutron.security_groups') : undefined;
      const tags = cniTags(req.containerId, req.ifname, this.settings.hostId);
      const name = cniPortName(req.containerId, req.ifname);

      let port: NeutronPort;
      if (precreated) {
        if (!this.index.tagging) throw needsTags('ADD with a pre-created port');
        port = await this.neutron.update('ports', precreated.id, {
          device_owner: CNI_DEVICE_OWNER,
          device_id: req.containerId,
          'binding:host_id': this.settings.hostId,
          admin_state_up: true,
          ...(sgs ? { security_groups: sgs } : {}),
        });
        undo.push(`reset pre-created port ${port.id}`, () => resetPrecreatedCniPort(this.neutron, port));
        const all = [...new Set([...precreated.tags, TAG_PORT_EXISTING, ...tags])];
        await this.neutron.replaceTags('ports', port.id, all);
        port = { ...port, tags: all };
      } else {
        port = await this.#newPort(req, net, subnet ?? subnets.find((s) => s.ip_version === 4), subnet !== undefined, name, tags, sgs);
        const made = port;
        undo.push(`delete port ${made.id}`, () => this.neutron.delete('ports', made.id));
        if (this.index.tagging && !made.tags.includes(tags[0]!)) {
          await this.neutron.replaceTags('ports', made.id, [...made.tags, ...tags]);
          port = { ...made, tags: [...made.tags, ...tags] };
        }
      }
      if (port['binding:vif_type'] === 'binding_failed') {
        throw new AppError(
          'KURYR_ERR_BINDING_FAILED',
          'unavailable',
          `ADD: Neutron could not bind port ${port.id} to host ${this.settings.hostId} (binding:vif_type=binding_failed): is the Neutron/OVN agent of this host alive?`,
        );
      }

      const mtu = net.mtu ?? 1500;
      const mac = port.mac_address.toLowerCase();
      const binder = this.binders.forPort(port);
      const bound = port;
      const plugged = await binder.bind({ port: bound, endpointId: eid, mtu, mac });
      undo.push(`unbind port ${bound.id}`, () => binder.unbind({ portId: bound.id, endpointId: eid, port: bound }));
      const attachment = this.#attachment(bound, net, subnets, req, mtu);
      const routes: NetnsRoute[] = attachment.routes.map((r) => ({ destination: r.dst, via: r.gw }));
      undo.push(`remove ${req.ifname} from ${req.netns}`, () => this.netns.remove(req.netns, req.ifname));
      await this.netns.setUp({ netns: req.netns, link: plugged.containerIfName, ifname: req.ifname, mac, mtu, addresses: attachment.ips.map((i) => i.address), routes });
      await this.#waitActive(bound);
      this.ledger.bind(bound.id, eid);
      this.log.info({ containerId: req.containerId, ifname: req.ifname, portId: bound.id, networkId: net.id }, 'CNI ADD: attached');
      return attachment;
    });
  }

  /** A port for the attachment: from the pool when it has one for the subnet, else made bound to this host. */
  async #newPort(
    req: CniAddRequest,
    net: NeutronNetwork,
    subnet: NeutronSubnet | undefined,
    subnetAsked: boolean,
    name: string,
    tags: string[],
    sgs: string[] | undefined,
  ): Promise<NeutronPort> {
    if (this.portPool && subnet) {
      const taken = await this.portPool.take(subnet, requestDeviceId(cniEndpointId(req.containerId, req.ifname)));
      if (taken) {
        try {
          return await this.neutron.update('ports', taken.id, { name, device_owner: CNI_DEVICE_OWNER, device_id: req.containerId, ...(sgs ? { security_groups: sgs } : {}) });
        } catch (err) {
          await this.neutron.delete('ports', taken.id).catch(() => undefined);
          throw err;
        }
      }
    }
    return createOnce({
      what: `port of CNI attachment ${req.containerId}/${req.ifname}`,
      create: () =>
        this.neutron.create('ports', {
          name,
          network_id: net.id,
          admin_state_up: true,
          device_owner: CNI_DEVICE_OWNER,
          device_id: req.containerId,
          'binding:host_id': this.settings.hostId,
          ...(subnetAsked && subnet ? { fixed_ips: [{ subnet_id: subnet.id }] } : {}),
          ...(sgs ? { security_groups: sgs } : {}),
          ...(this.index.tagging && this.index.tagOnCreate ? { tags } : {}),
        }),
      find: async () => (await this.neutron.list('ports', { network_id: net.id, device_id: req.containerId, name }))[0],
      log: this.log,
    });
  }

  /** The user's port, if free for this container (unbound or bound here, no other owner). */
  async #precreated(portId: string, containerId: string): Promise<NeutronPort> {
    if (!UUID.test(portId)) throw invalidArgs(`ADD: NEUTRON_PORT ${JSON.stringify(portId)} is not a port id`);
    let port: NeutronPort;
    try {
      port = await this.neutron.show('ports', portId);
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`ADD: Neutron port ${portId} does not exist`, 'KURYR_ERR_CNI_NO_PORT');
      throw err;
    }
    const host = port['binding:host_id'] ?? '';
    const owner = port.device_owner ?? '';
    const ours = owner === CNI_DEVICE_OWNER && port.device_id === containerId;
    if ((host !== '' && host !== this.settings.hostId) || (owner !== '' && !ours) || (owner === '' && port.device_id !== '')) {
      throw new ConflictError(
        `ADD: Neutron port ${port.id} is already in use (device_owner=${owner || '-'}, binding:host_id=${host || '-'}, device_id=${port.device_id || '-'}); refusing to take it`,
        'KURYR_ERR_PORT_IN_USE',
      );
    }
    return port;
  }

  async #network(ref: string): Promise<NeutronNetwork> {
    if (UUID.test(ref)) {
      try {
        return await this.neutron.show('networks', ref);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    const found = await this.neutron.list('networks', { name: ref });
    if (found.length === 0) throw new NotFoundError(`ADD: no Neutron network ${ref}`, 'KURYR_ERR_CNI_NO_NETWORK');
    if (found.length > 1) throw new ConflictError(`ADD: ${found.length} Neutron networks are named ${ref}; use the id`, 'KURYR_ERR_CNI_CONFIG');
    return found[0]!;
  }

  #subnet(subnets: NeutronSubnet[], ref: string, net: NeutronNetwork): NeutronSubnet {
    const found = subnets.filter((s) => s.id === ref || s.name === ref || s.cidr === ref);
    if (found.length === 0) throw new NotFoundError(`ADD: network ${net.name || net.id} has no subnet ${ref}`, 'KURYR_ERR_CNI_NO_NETWORK');
    if (found.length > 1) throw new ConflictError(`ADD: ${found.length} subnets of network ${net.name || net.id} match ${ref}; use the id`, 'KURYR_ERR_CNI_CONFIG');
    return found[0]!;
  }

  #attachment(port: NeutronPort, net: NeutronNetwork, subnets: NeutronSubnet[], req: CniAddRequest, mtu: number): CniAttachment {
    const ips: CniIp[] = [];
    const routes: CniAttachment['routes'] = [];
    const dns = new Set<string>();
    const defaults = new Set<number>();
    for (const f of port.fixed_ips) {
      const s = subnets.find((x) => x.id === f.subnet_id);
      if (!s) continue;
      const version = parseCidr(s.cidr).version;
      ips.push({ version, address: `${f.ip_address}/${parseCidr(s.cidr).prefixLength}`, gateway: s.gateway_ip ?? undefined });
      if (s.gateway_ip && !defaults.has(version)) {
        defaults.add(version);
        routes.push({ dst: version === 4 ? '0.0.0.0/0' : '::/0', gw: s.gateway_ip });
      }
      for (const r of s.host_routes ?? []) routes.push({ dst: r.destination, gw: r.nexthop });
      for (const d of s.dns_nameservers ?? []) dns.add(d);
    }
    return {
      portId: port.id,
      networkId: net.id,
      hostIfName: this.binders.hostIfName(port.id),
      ifname: req.ifname,
      netns: req.netns,
      mac: port.mac_address.toLowerCase(),
      mtu,
      ips,
      routes,
      dnsNameservers: [...dns],
    };
  }

  async #waitActive(port: NeutronPort): Promise<void> {
    const timeoutS = this.settings.vifPluggingTimeoutS > 0 ? this.settings.vifPluggingTimeoutS : 60;
    const deadline = Date.now() + timeoutS * 1000;
    // Read again first: the port was read before it was plugged, and OVN is quick.
    let status = (await this.neutron.show('ports', port.id)).status;
    while (status !== 'ACTIVE') {
      if (Date.now() >= deadline) {
        throw new AppError('KURYR_ERR_PORT_INACTIVE', 'unavailable', `ADD: Neutron port ${port.id} did not become ACTIVE within ${timeoutS}s (status ${status})`);
      }
      await this.clock.sleep(250);
      status = (await this.neutron.show('ports', port.id)).status;
    }
  }

  // ---- DEL

  /** Idempotent: no port, no namespace, nothing on the host is success. */
  async del(req: CniDelRequest): Promise<void> {
    validateRef(req, 'DEL');
    const eid = cniEndpointId(req.containerId, req.ifname);
    const release = this.ledger.hold(eid);
    try {
      await this.#del(req);
    } finally {
      release();
    }
  }

  async #del(req: CniDelRequest): Promise<void> {
    const eid = cniEndpointId(req.containerId, req.ifname);
    const port = await this.#findPort(req);
    let binder;
    try {
      binder = port ? this.binders.forPort(port) : undefined;
    } catch {
      binder = undefined; // a vif_type no driver plugs: clean by what the host recorded
    }
    if (port && binder) await binder.unbind({ portId: port.id, endpointId: eid, port });
    // No port in Neutron (or no driver for it): clean the host by what it recorded.
    else await this.binders.removeLeftovers(eid);
    if (req.netns) await this.netns.remove(req.netns, req.ifname);
    if (port) {
      if (port.tags.includes(TAG_PORT_EXISTING)) await resetPrecreatedCniPort(this.neutron, port);
      else {
        try {
          await this.neutron.delete('ports', port.id);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      this.log.info({ containerId: req.containerId, ifname: req.ifname, portId: port.id }, 'CNI DEL: detached');
    }
    this.ledger.unbind(eid);
  }

  async #findPort(ref: CniAttachmentRef): Promise<NeutronPort | undefined> {
    const ports = this.index.tagging
      ? await this.neutron.list('ports', { tags: [`${TAG_CNI_CONTAINER}${ref.containerId}`, `${TAG_CNI_IFNAME}${ref.ifname}`].join(',') })
      : await this.neutron.list('ports', { device_id: ref.containerId, name: cniPortName(ref.containerId, ref.ifname) });
    // A port from the pool or a POST whose tags were not written yet is found by its device_id and name.
    if (ports.length === 0 && this.index.tagging) {
      const named = await this.neutron.list('ports', { device_id: ref.containerId, name: cniPortName(ref.containerId, ref.ifname) });
      return named.find((p) => p.device_owner === CNI_DEVICE_OWNER);
    }
    return ports.find((p) => {
      const a = attachmentOfPort(p);
      return p.device_owner === CNI_DEVICE_OWNER && a?.containerId === ref.containerId && a.ifname === ref.ifname;
    });
  }

  // ---- CHECK

  /** Throws a coded error naming the first thing that is not as ADD left it. */
  async check(req: CniCheckRequest): Promise<void> {
    validateRef(req, 'CHECK');
    const eid = cniEndpointId(req.containerId, req.ifname);
    const port = await this.#findPort(req);
    if (!port) throw new NotFoundError(`CHECK: no Neutron port for container ${req.containerId} interface ${req.ifname}`, 'KURYR_ERR_CNI_NO_PORT');
    if (port.status !== 'ACTIVE') throw new AppError('KURYR_ERR_PORT_INACTIVE', 'unavailable', `CHECK: Neutron port ${port.id} is ${port.status}, not ACTIVE`);
    if ((port['binding:host_id'] ?? '') !== this.settings.hostId) {
      throw new AppError('KURYR_ERR_CNI_CHECK', 'conflict', `CHECK: Neutron port ${port.id} is bound to ${port['binding:host_id'] || 'no host'}, not to ${this.settings.hostId}`);
    }
    const { records } = await this.binders.plugged();
    const rec = records.find((r) => r.endpointId === eid);
    if (!rec?.portIds.includes(port.id.slice(0, 11))) {
      throw new AppError('KURYR_ERR_CNI_CHECK', 'conflict', `CHECK: the host end ${this.binders.hostIfName(port.id)} of port ${port.id} is gone`);
    }
    if (this.binders.forPort(port).name.startsWith('veth+ovs') && !rec.portIds.includes(port.id)) {
      throw new AppError('KURYR_ERR_CNI_CHECK', 'conflict', `CHECK: no OVS interface has iface-id ${port.id} for this attachment`);
    }
    const state = await this.netns.inspect(req.netns, req.ifname);
    if (!state) throw new AppError('KURYR_ERR_CNI_CHECK', 'conflict', `CHECK: no interface ${req.ifname} in ${req.netns}`);
    if (state.mac !== port.mac_address.toLowerCase()) {
      throw new AppError('KURYR_ERR_CNI_CHECK', 'conflict', `CHECK: ${req.ifname} has MAC ${state.mac}, the port has ${port.mac_address}`);
    }
    const subnets = await this.neutron.list('subnets', { network_id: port.network_id });
    const want = port.fixed_ips
      .map((f) => {
        const s = subnets.find((x) => x.id === f.subnet_id);
        return s ? `${f.ip_address}/${parseCidr(s.cidr).prefixLength}` : undefined;
      })
      .filter((a): a is string => a !== undefined)
      .sort();
    const have = [...state.addresses].sort();
    if (want.some((a) => !have.includes(a))) {
      throw new AppError('KURYR_ERR_CNI_CHECK', 'conflict', `CHECK: ${req.ifname} has addresses ${have.join(', ') || 'none'}, the port has ${want.join(', ')}`);
    }
    if (!state.up) throw new AppError('KURYR_ERR_CNI_CHECK', 'conflict', `CHECK: ${req.ifname} is down`);
  }

  // ---- GC

  /**
   * Removes this host's CNI attachments on a Neutron network that the runtime
   * no longer lists (CNI GC's `cni.dev/valid-attachments`); attachments in
   * flight here are left alone. Answers how many went.
   */
  async gc(req: { network: string; valid: CniAttachmentRef[] }): Promise<number> {
    const net = await this.#network(req.network);
    const valid = new Set(req.valid.map((v) => cniEndpointId(v.containerId, v.ifname)));
    const ports = await this.neutron.list('ports', { network_id: net.id, device_owner: CNI_DEVICE_OWNER, 'binding:host_id': this.settings.hostId });
    let n = 0;
    for (const p of ports) {
      const a = attachmentOfPort(p);
      if (!a || valid.has(cniEndpointId(a.containerId, a.ifname)) || this.ledger.busy(cniEndpointId(a.containerId, a.ifname))) continue;
      await this.del({ containerId: a.containerId, ifname: a.ifname });
      n++;
    }
    return n;
  }
}
