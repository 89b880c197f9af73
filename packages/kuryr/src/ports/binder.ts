import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';

/** What a binding driver needs to plug one endpoint. */
export interface BindRequest {
  port: NeutronPort;
  endpointId: string;
  /** MTU of the Neutron network (Kuryr: network mtu, or 1500). */
  mtu: number;
  /** The container interface's MAC (Docker's); defaults to the port's. */
  mac?: string;
}

export interface BindResult {
  /** Name of the container-side interface in the host netns (Join's SrcName). */
  containerIfName: string;
}

export interface UnbindRequest {
  /** The port id, or at least its first 11 characters (what interface names carry). */
  portId: string;
  endpointId: string;
  /** The Neutron port when known (nested drivers need its MAC and addresses). */
  port?: NeutronPort;
}

/**
 * A binding driver plugs a Neutron port into the host data plane for one
 * Docker endpoint (veth + OVS, hybrid, Linux bridge, macvlan…). `bind`
 * undoes its own partial work on failure; `unbind` is idempotent.
 */
export interface PortBinder {
  readonly name: string;
  /** Join's SrcName for a port, computable without touching the host. */
  containerIfName(portId: string): string;
  bind(req: BindRequest): Promise<BindResult>;
  unbind(req: UnbindRequest): Promise<void>;
}

/** What binding left on this host for one endpoint, as it recorded it when it plugged the port. */
export interface HostPlugRecord {
  /** The Docker endpoint ('' when the record names none). */
  endpointId: string;
  /** The Neutron port ids recorded: full ids (OVS iface-id) or their first 11 characters (a veth's name). */
  portIds: string[];
  /** The host objects, for the report (e.g. `veth tap0123456789a`, `ovs br-int/tap0123456789a`). */
  objects: string[];
}

/**
 * The binding drivers as the endpoint service sees them (built from kuryr.conf
 * by the composition root). Host naming — interface names, link aliases, OVS
 * external_ids — stays behind it, in the binding layer.
 */
export interface BindingDrivers {
  /**
   * The driver that plugs this port: by the port driver and, for veth, by the
   * port's `binding:vif_type`. Throws an AppError naming the vif_type or port
   * driver when no driver for it is enabled.
   */
  forPort(port: NeutronPort): PortBinder;
  /** Join's SrcName for a port, computable without touching the host. */
  containerIfName(portId: string): string;
  /** The name of the interface a port's binding leaves on the host (the veth's host end). */
  hostIfName(portId: string): string;
  /**
   * Removes what binding left on this host for an endpoint whose Neutron port
   * is gone, found by what the host recorded when it was plugged (OVS
   * external_ids, link aliases). Idempotent: nothing found is success.
   */
  removeLeftovers(endpointId: string): Promise<void>;
  /**
   * Everything binding recorded on this host (OVS interfaces with the owner
   * mark, veth host ends with an endpoint alias), by endpoint: what the
   * reconciler checks against Neutron and Docker. `warnings` names a part of
   * the host that could not be read (e.g. no OVS on a Linux-bridge host).
   */
  plugged(): Promise<{ records: HostPlugRecord[]; warnings: string[] }>;
}
