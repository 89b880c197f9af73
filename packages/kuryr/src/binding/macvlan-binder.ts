/**
 * Nested containers (kuryr inside a VM): the container interface is a macvlan
 * (mode bridge) on the VM's NIC (`[binding] link_iface`) with the container
 * port's MAC, and the container's addresses + MAC become allowed address pairs
 * of the VM's Neutron port, so Neutron's port security lets them through.
 */
import { withUndo, type UndoFailureReporter } from '@kuryr-ts/openstack/lib/undo';
import type { BindRequest, BindResult, PortBinder, UnbindRequest } from '../ports/binder.js';
import type { LinkOps } from '../ports/host-net.js';
import { vethNames } from './veth-names.js';
import { pairsOf, type VmPort } from './vm-port.js';

export class MacvlanBinder implements PortBinder {
  readonly name = 'macvlan';

  constructor(
    readonly links: LinkOps,
    readonly vm: VmPort,
    readonly onUndoFailure: UndoFailureReporter,
  ) {}

  containerIfName(portId: string): string {
    return vethNames(portId).container;
  }

  async bind(req: BindRequest): Promise<BindResult> {
    const name = this.containerIfName(req.port.id);
    const mac = (req.mac ?? req.port.mac_address).toLowerCase();
    return withUndo(this.onUndoFailure, async (undo) => {
      await this.links.deleteLink(name);
      await this.links.createMacvlan({ name, parent: this.vm.linkIface, mac, mtu: req.mtu });
      undo.push(`delete macvlan ${name}`, () => this.links.deleteLink(name));
      const added = pairsOf(req.port, mac);
      await this.vm.updatePairs((pairs) => [...pairs.filter((p) => !added.some((a) => a.ip_address === p.ip_address)), ...added]);
      return { containerIfName: name };
    });
  }

  async unbind(req: UnbindRequest): Promise<void> {
    await this.links.deleteLink(this.containerIfName(req.portId));
    const port = req.port;
    if (!port) return;
    const ips = port.fixed_ips.map((f) => f.ip_address);
    await this.vm.updatePairs((pairs) => pairs.filter((p) => !ips.includes(p.ip_address)));
  }
}
