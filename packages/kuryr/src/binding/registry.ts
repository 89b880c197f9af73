/**
 * Which binding driver plugs a port: chosen by `[DEFAULT] default_port_driver`
 * (veth, nested, vlan — honoured, unlike Kuryr, bug C1) and, for veth, by the
 * port's `binding:vif_type` (ovs, ovs hybrid, bridge, tap). A vif_type or a
 * driver that is not enabled is a coded error naming it. It is the domain's
 * BindingDrivers: the host names and OVS keys the domain never sees live here
 * and in the binders.
 */
import { AppError, describeError } from '@kuryr-ts/openstack/errors';
import type { BindingDrivers, HostPlugRecord, PortBinder } from '../ports/binder.js';
import type { LinkOps, OvsOps } from '../ports/host-net.js';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { OWNER_MARK, ovsPortIdsOf } from './host-plugs.js';
import { ENDPOINT_ALIAS_PREFIX, endpointAlias, portIdOfHostEnd, vethNames } from './veth-names.js';
import type { VmPort } from './vm-port.js';

export type PortDriver = 'veth' | 'nested' | 'vlan';

export interface BinderTable {
  /** veth binders by vif_type ('ovs', 'ovs_hybrid', 'bridge', 'tap'). */
  veth: Partial<Record<string, PortBinder>>;
  nested?: PortBinder;
  vlan?: PortBinder;
}

export interface BinderRegistryOptions {
  /** `[DEFAULT] default_port_driver`, checked against the enabled drivers. */
  portDriver: PortDriver;
  /** The binders of the enabled drivers. */
  table: BinderTable;
  /** kuryr-ts `[binding] force_vif_type`: plug as this vif_type whatever Neutron says (lab and special setups). */
  forceVifType?: string | undefined;
  /** Nested drivers: the VM's Neutron port. */
  vmPort?: VmPort | undefined;
  /** The host's links: veth host ends are found again by their alias. */
  links: LinkOps;
  /** The host's OVS: plugged interfaces are found again by their external_ids. */
  ovs: OvsOps;
}

export class BinderRegistry implements BindingDrivers {
  readonly portDriver: PortDriver;
  readonly table: BinderTable;
  readonly forceVifType: string | undefined;
  readonly vmPort: VmPort | undefined;
  readonly #links: LinkOps;
  readonly #ovs: OvsOps;

  constructor(opts: BinderRegistryOptions) {
    this.portDriver = opts.portDriver;
    this.table = opts.table;
    this.forceVifType = opts.forceVifType;
    this.vmPort = opts.vmPort;
    this.#links = opts.links;
    this.#ovs = opts.ovs;
  }

  /** The vif_type a veth-bound port is plugged as. */
  vifTypeOf(port: NeutronPort): string {
    if (this.forceVifType) return this.forceVifType;
    const vif = port['binding:vif_type'] ?? 'unbound';
    const details = port['binding:vif_details'] ?? {};
    return vif === 'ovs' && details.ovs_hybrid_plug === true ? 'ovs_hybrid' : vif;
  }

  forPort(port: NeutronPort): PortBinder {
    if (this.portDriver !== 'veth') {
      const b = this.table[this.portDriver];
      if (!b) throw new AppError('KURYR_ERR_DRIVER_NOT_ENABLED', 'bad-request', `port driver ${this.portDriver} has no binding driver enabled`);
      return b;
    }
    const vif = this.vifTypeOf(port);
    const binder = this.table.veth[vif];
    if (!binder) {
      throw new AppError(
        'KURYR_ERR_VIF_TYPE',
        'unavailable',
        `port ${port.id} has binding:vif_type=${vif}: no binding driver for it (kuryr-ts plugs ${Object.keys(this.table.veth).join(', ')})`,
      );
    }
    return binder;
  }

  /** Every binder, for cleanup when the port is unknown (each unbind is idempotent). */
  all(): PortBinder[] {
    return [...Object.values(this.table.veth).filter((b): b is PortBinder => !!b), ...(this.table.nested ? [this.table.nested] : []), ...(this.table.vlan ? [this.table.vlan] : [])];
  }

  /** Nested drivers leave the container ports unbound: the VM port carries their traffic. */
  get bindsHost(): boolean {
    return this.portDriver === 'veth';
  }

  /** Join's SrcName is `t_c<port[:11]>` for every driver here. */
  containerIfName(portId: string): string {
    return vethNames(portId).container;
  }

  /** The veth's host end, `tap<port[:11]>`. */
  hostIfName(portId: string): string {
    return vethNames(portId).host;
  }

  /**
   * The port ids the host recorded for the endpoint (OVS external_ids, the
   * veth host end's alias), each unbound by every binder (each unbind is
   * idempotent, and which one plugged it is not known without the port).
   */
  async removeLeftovers(endpointId: string): Promise<void> {
    const ovs = await ovsPortIdsOf(this.#ovs, endpointId);
    const taps = (await this.#links.findByAlias(endpointAlias(endpointId))).map(portIdOfHostEnd);
    for (const portId of new Set([...ovs, ...taps].filter((p) => p.length >= 11))) {
      for (const binder of this.all()) await binder.unbind({ portId, endpointId });
    }
  }

  async plugged(): Promise<{ records: HostPlugRecord[]; warnings: string[] }> {
    // Nested drivers plug into the VM's NIC: the container interface lives in the container.
    if (this.portDriver !== 'veth') return { records: [], warnings: [] };
    const byEndpoint = new Map<string, HostPlugRecord>();
    const add = (endpointId: string, portId: string, object: string): void => {
      const rec = byEndpoint.get(endpointId) ?? { endpointId, portIds: [], objects: [] };
      if (portId && !rec.portIds.includes(portId)) rec.portIds.push(portId);
      rec.objects.push(object);
      byEndpoint.set(endpointId, rec);
    };
    const warnings: string[] = [];
    try {
      for (const i of await this.#ovs.findInterfaces({ owner: OWNER_MARK })) {
        add(i.externalIds['vm-uuid'] ?? i.externalIds['vm-id'] ?? '', i.externalIds['iface-id'] ?? '', `OVS interface ${i.name}`);
      }
    } catch (err) {
      // No Open vSwitch on this host (Linux bridge, tap): nothing of it to find.
      if (!/ENOENT/.test(describeError(err))) warnings.push(`OVS interfaces could not be listed: ${describeError(err)}`);
    }
    for (const l of await this.#links.aliasedLinks()) {
      if (!l.alias.startsWith(ENDPOINT_ALIAS_PREFIX)) continue;
      add(l.alias.slice(ENDPOINT_ALIAS_PREFIX.length), l.name.startsWith('tap') ? portIdOfHostEnd(l.name) : '', `veth ${l.name}`);
    }
    return { records: [...byEndpoint.values()], warnings };
  }
}
