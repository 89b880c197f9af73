/**
 * How the host end of a container's veth joins the data plane, one per
 * Neutron `binding:vif_type` (what Kuryr did with the shell scripts in
 * usr/libexec/kuryr/<vif_type>, here as TypeScript with argv arrays):
 *  - ovs: the tap on the integration bridge with the external_ids the OVS
 *    agent / ovn-controller bind on (iface-id = the Neutron port);
 *  - ovs hybrid (vif_details.ovs_hybrid_plug): tap → Linux bridge qbr ←
 *    qvb/qvo veth → qvo on the integration bridge (`vm-id`, as Kuryr);
 *  - bridge (Linux bridge agent): the tap enslaved to brq<network id[:11]>;
 *  - tap (e.g. Calico): nothing — the tap stays unbridged.
 * Each plug undoes its own partial work on failure; unplug is idempotent.
 */
import { withUndo, type UndoFailureReporter } from '@kuryr-ts/openstack/lib/undo';
import type { LinkOps, OvsOps } from '../ports/host-net.js';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';

export const OWNER_MARK = 'kuryr';

export interface HostPlug {
  readonly vifType: string;
  plug(hostIf: string, port: NeutronPort, endpointId: string, mtu: number): Promise<void>;
  /** `portId` may be only the 11-character prefix used in interface names. */
  unplug(hostIf: string, portId: string): Promise<void>;
}

function ovsIds(port: NeutronPort, vmKey: 'vm-uuid' | 'vm-id', endpointId: string): Record<string, string> {
  return {
    'iface-id': port.id,
    'attached-mac': port.mac_address.toLowerCase(),
    'iface-status': 'active',
    [vmKey]: endpointId,
    owner: OWNER_MARK,
  };
}

/**
 * The Neutron port ids (`iface-id`) of the OVS interfaces plugged for an
 * endpoint, found by the external_ids the plugs wrote (ovs: `vm-uuid`,
 * hybrid: `vm-id`): what is left to unplug when Neutron has lost the port.
 */
export async function ovsPortIdsOf(ovs: OvsOps, endpointId: string): Promise<string[]> {
  return [
    ...(await ovs.findInterfaces({ 'vm-uuid': endpointId, owner: OWNER_MARK })),
    ...(await ovs.findInterfaces({ 'vm-id': endpointId, owner: OWNER_MARK })),
  ].map((i) => i.externalIds['iface-id'] ?? '');
}

export class OvsPlug implements HostPlug {
  readonly vifType = 'ovs';
  constructor(
    readonly ovs: OvsOps,
    readonly bridge: string,
  ) {}

  async plug(hostIf: string, port: NeutronPort, endpointId: string): Promise<void> {
    await this.ovs.addPort(this.bridge, hostIf, ovsIds(port, 'vm-uuid', endpointId));
  }

  async unplug(hostIf: string): Promise<void> {
    await this.ovs.deletePort(this.bridge, hostIf);
  }
}

export function hybridNames(portId: string): { qbr: string; qvb: string; qvo: string } {
  const short = portId.slice(0, 11);
  return { qbr: `qbr${short}`, qvb: `qvb${short}`, qvo: `qvo${short}` };
}

export class OvsHybridPlug implements HostPlug {
  readonly vifType = 'ovs_hybrid';
  constructor(
    readonly links: LinkOps,
    readonly ovs: OvsOps,
    readonly bridge: string,
    readonly onUndoFailure: UndoFailureReporter,
  ) {}

  async plug(hostIf: string, port: NeutronPort, endpointId: string, mtu: number): Promise<void> {
    const n = hybridNames(port.id);
    await withUndo(this.onUndoFailure, async (undo) => {
      await this.links.ensureBridge(n.qbr);
      undo.push(`delete bridge ${n.qbr}`, () => this.links.deleteLink(n.qbr));
      // No iptables firewall agent with OVN: security groups live in OVS, qbr only forwards.
      await this.links.allowBridged(n.qbr);
      undo.push(`firewall rule of ${n.qbr}`, () => this.links.disallowBridged(n.qbr));
      await this.links.setMaster(hostIf, n.qbr);
      await this.links.deleteLink(n.qvb); // a leftover of a crashed attempt
      await this.links.createVethPair(n.qvb, n.qvo, mtu);
      undo.push(`delete veth ${n.qvb}`, () => this.links.deleteLink(n.qvb));
      await this.links.setMaster(n.qvb, n.qbr);
      await this.ovs.addPort(this.bridge, n.qvo, ovsIds(port, 'vm-id', endpointId));
    });
  }

  async unplug(_hostIf: string, portId: string): Promise<void> {
    const n = hybridNames(portId);
    const errors: unknown[] = [];
    await this.ovs.deletePort(this.bridge, n.qvo).catch((e: unknown) => errors.push(e));
    for (const link of [n.qvb, n.qbr]) await this.links.deleteLink(link).catch((e: unknown) => errors.push(e));
    await this.links.disallowBridged(n.qbr).catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}

export function linuxBridgeName(networkId: string): string {
  return `brq${networkId.slice(0, 11)}`;
}

export class LinuxBridgePlug implements HostPlug {
  readonly vifType = 'bridge';
  constructor(readonly links: LinkOps) {}

  async plug(hostIf: string, port: NeutronPort): Promise<void> {
    const bridge = linuxBridgeName(port.network_id);
    await this.links.ensureBridge(bridge);
    await this.links.allowBridged(bridge);
    await this.links.setMaster(hostIf, bridge);
  }

  /** The tap goes with the veth; the bridge stays for the network's other ports (as Kuryr). */
  async unplug(): Promise<void> {}
}

export class TapPlug implements HostPlug {
  readonly vifType = 'tap';
  async plug(): Promise<void> {}
  async unplug(): Promise<void> {}
}
