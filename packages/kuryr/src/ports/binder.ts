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
