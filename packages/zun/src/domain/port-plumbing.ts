/**
 * The Neutron side of a container's attachment: the port is pre-created (or a
 * user's port is claimed) before Docker sees the container, bound to the
 * container's compute host (its binding host id = OVN chassis) with
 * device_owner compute:kuryr and device_id = the container uuid, so the
 * kuryr driver adopts exactly that port from the IP (and MAC) Docker hands it.
 * Released ports are deleted when the service made them and unbound — never
 * deleted — when they are the user's.
 *
 * device_id = the container uuid is also how a port is found when its id was
 * never recorded (the process died between Neutron's answer and the database
 * write): `sweep` removes every port of the container's project that still
 * names the container, except the user's ports it is told to keep (those are
 * recorded before they are claimed, so their ids are always known).
 */
import type { AddressRecord, RequestedNet, ZunContainer, ZunNetwork } from './model.js';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import type { ZunNeutron } from '../ports/neutron.js';
import { findNeutron } from './neutron-find.js';

export const DEVICE_OWNER = 'compute:kuryr';

export interface ClaimedPort {
  port: NeutronPort;
  created: boolean;
}

export class PortPlumbing {
  constructor(readonly neutron: ZunNeutron) {}

  /**
   * Creates the service's port, or claims the user's; the caller records the
   * undo (release). Only the primary port (the sandbox's first network, whose
   * MAC Docker is given) is bound to the container's host here, as Zun does: for a
   * `docker network connect` Docker picks the MAC itself (API 1.41 has no MAC
   * in EndpointConfig) and kuryr must set it together with the binding, which
   * Neutron refuses on an already bound port (409 PortBound).
   */
  async claim(c: ZunContainer, req: RequestedNet, net: ZunNetwork, primary: boolean): Promise<ClaimedPort> {
    const binding = { device_id: c.uuid, device_owner: DEVICE_OWNER, ...(primary ? { 'binding:host_id': c.host } : {}) };
    if (req.portId) {
      // Zun does not apply the container's security groups to a user's port
      return { port: await this.neutron.update('ports', req.portId, binding), created: false };
    }
    const fixed = req.fixedIp
      ? [{ ip_address: req.fixedIp }]
      : [net.neutronSubnetId, net.neutronSubnetV6Id].filter((s): s is string => !!s).map((subnet_id) => ({ subnet_id }));
    const port = await this.neutron.create('ports', {
      network_id: net.neutronNetId,
      project_id: c.projectId,
      name: `zun-${c.uuid.slice(0, 8)}`,
      admin_state_up: true,
      ...binding,
      ...(fixed.length > 0 ? { fixed_ips: fixed } : {}),
      ...(c.securityGroups.length > 0 ? { security_groups: c.securityGroups } : {}),
    });
    return { port, created: true };
  }

  /**
   * Idempotent: a vanished port is success. A user's port is unbound only
   * while it is still the container's (`owner` = its uuid): a claim that never
   * happened leaves the port to whoever holds it.
   */
  async release(portId: string, preserve: boolean, owner?: string): Promise<void> {
    if (!portId) return;
    if (!preserve) {
      await this.neutron.delete('ports', portId);
      return;
    }
    const port = await findNeutron(this.neutron, 'ports', portId);
    if (!port) return;
    if (owner !== undefined && port.device_id !== owner) return;
    const profile = { ...(port['binding:profile'] ?? {}) };
    delete profile.pci_vendor_info;
    delete profile.pci_slot;
    await this.neutron.update('ports', portId, { device_id: '', device_owner: '', 'binding:host_id': null, 'binding:profile': profile });
  }
}

/**
 * Every port still naming container `c` (device_id), in its project, on
 * `networkId` when given: the user's ports in `keep` are unbound, the others
 * (the service's) deleted. Returns how many were found.
 */
export async function sweepPorts(plumbing: PortPlumbing, c: { uuid: string; projectId: string }, keep: ReadonlySet<string>, networkId?: string): Promise<number> {
  const ports = await plumbing.neutron.list('ports', { device_id: c.uuid, ...(networkId ? { network_id: networkId } : {}) });
  const ours = ports.filter((p) => p.device_id === c.uuid && (p.project_id === undefined || p.project_id === c.projectId));
  for (const p of ours) await plumbing.release(p.id, keep.has(p.id), c.uuid);
  return ours.length;
}

export function addressesOf(port: NeutronPort, subnetVersion: (subnetId: string, ip: string) => 4 | 6): AddressRecord[] {
  return port.fixed_ips.map((f) => ({ addr: f.ip_address, version: subnetVersion(f.subnet_id, f.ip_address), subnet_id: f.subnet_id }));
}

export const ipVersion = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);
