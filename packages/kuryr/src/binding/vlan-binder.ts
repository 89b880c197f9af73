/**
 * Nested containers on a trunk: the container port becomes a VLAN subport of
 * the VM's trunk, and the container interface a VLAN sub-interface of the
 * VM's NIC. Segmentation ids come from Neutron's own list of the trunk's
 * subports (so they survive restarts and are shared by every daemon on the
 * trunk), the lowest free one, retried when another writer takes it first.
 * This machine's kernel has no 802.1q: the host side is unit-tested only.
 */
import { AppError, NeutronError } from '@kuryr-ts/openstack/errors';
import { KeyedMutex } from '@kuryr-ts/openstack/lib/keyed-mutex';
import { withUndo, type UndoFailureReporter } from '@kuryr-ts/openstack/lib/undo';
import type { BindRequest, BindResult, PortBinder, UnbindRequest } from '../ports/binder.js';
import type { LinkOps } from '../ports/host-net.js';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';
import { vethNames } from './veth-names.js';
import type { VmPort } from './vm-port.js';

export function lowestFreeVlan(used: Iterable<number>): number {
  const taken = new Set(used);
  for (let id = 1; id <= 4094; id++) if (!taken.has(id)) return id;
  throw new AppError('KURYR_ERR_VLAN_EXHAUSTED', 'conflict', 'no free VLAN id left on the trunk (1-4094 all in use)');
}

export class VlanBinder implements PortBinder {
  readonly name = 'vlan';
  readonly #locks = new KeyedMutex();

  constructor(
    readonly neutron: NeutronApi,
    readonly links: LinkOps,
    readonly vm: VmPort,
    readonly onUndoFailure: UndoFailureReporter,
  ) {}

  containerIfName(portId: string): string {
    return vethNames(portId).container;
  }

  async bind(req: BindRequest): Promise<BindResult> {
    const name = this.containerIfName(req.port.id);
    const vmPort = await this.vm.get();
    const trunkId = vmPort.trunk_details?.trunk_id;
    if (!trunkId) throw new AppError('KURYR_ERR_NO_TRUNK', 'bad-request', `nested vlan: the VM port ${vmPort.id} is not a trunk parent`);
    return withUndo(this.onUndoFailure, async (undo) => {
      const vlanId = await this.#locks.run(trunkId, async () => {
        for (let attempt = 1; ; attempt++) {
          const vm = attempt === 1 ? vmPort : await this.vm.get();
          const mine = vm.trunk_details?.sub_ports.find((s) => s.port_id === req.port.id);
          if (mine) return mine.segmentation_id; // a repeated call
          const id = lowestFreeVlan((vm.trunk_details?.sub_ports ?? []).map((s) => s.segmentation_id));
          try {
            await this.neutron.trunkSubports(trunkId, 'add_subports', [{ port_id: req.port.id, segmentation_type: 'vlan', segmentation_id: id }]);
            return id;
          } catch (err) {
            if (!(err instanceof NeutronError && (err.status === 409 || err.status === 400)) || attempt >= 5) throw err;
          }
        }
      });
      undo.push(`remove subport ${req.port.id}`, () => this.neutron.trunkSubports(trunkId, 'remove_subports', [{ port_id: req.port.id }]));
      await this.links.deleteLink(name);
      await this.links.createVlan({ name, parent: this.vm.linkIface, vlanId, mac: req.port.mac_address.toLowerCase(), mtu: req.mtu });
      return { containerIfName: name };
    });
  }

  async unbind(req: UnbindRequest): Promise<void> {
    await this.links.deleteLink(this.containerIfName(req.portId));
    const vm = await this.vm.get();
    const trunkId = vm.trunk_details?.trunk_id;
    const sub = vm.trunk_details?.sub_ports.find((s) => s.port_id.startsWith(req.portId));
    if (!trunkId || !sub) return;
    try {
      await this.neutron.trunkSubports(trunkId, 'remove_subports', [{ port_id: sub.port_id }]);
    } catch (err) {
      if (!(err instanceof NeutronError && err.isNotFound)) throw err;
    }
  }
}
