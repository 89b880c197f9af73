/**
 * The `ovs` binding driver: a veth pair per endpoint, host end on the
 * integration bridge with the external_ids OVN/the Neutron OVS agent match on
 * (iface-id = Neutron port id), container end with the port's MAC and the
 * network MTU. The same result as Kuryr's `usr/libexec/kuryr/ovs` script,
 * without a shell.
 */
import type { BindRequest, BindResult, PortBinder, UnbindRequest } from '../ports/binder.js';
import type { LinkOps, OvsOps } from '../ports/host-net.js';
import { withUndo } from '../lib/undo.js';
import { vethNames } from './veth-names.js';

export const OWNER_MARK = 'kuryr';

export interface OvsBinderOptions {
  bridge: string;
  onUndoFailure: (step: string, err: unknown) => void;
}

export class OvsBinder implements PortBinder {
  readonly name = 'ovs';

  constructor(
    readonly links: LinkOps,
    readonly ovs: OvsOps,
    readonly opts: OvsBinderOptions,
  ) {}

  containerIfName(portId: string): string {
    return vethNames(portId).container;
  }

  async bind(req: BindRequest): Promise<BindResult> {
    const names = vethNames(req.port.id);
    const mac = req.port.mac_address.toLowerCase();
    return withUndo(this.opts.onUndoFailure, async (undo) => {
      // A leftover pair from a crashed earlier attempt would make `ip link add` fail.
      await this.links.deleteLink(names.host);
      await this.links.createVeth({ hostName: names.host, peerName: names.container, mtu: req.mtu, peerMac: mac });
      undo.push(`delete veth ${names.host}`, () => this.links.deleteLink(names.host));
      await this.ovs.addPort(this.opts.bridge, names.host, {
        'iface-id': req.port.id,
        'attached-mac': mac,
        'iface-status': 'active',
        'vm-uuid': req.endpointId,
        owner: OWNER_MARK,
      });
      return { containerIfName: names.container };
    });
  }

  async unbind(req: UnbindRequest): Promise<void> {
    const names = vethNames(req.portId);
    const errors: unknown[] = [];
    await this.ovs.deletePort(this.opts.bridge, names.host).catch((e: unknown) => errors.push(e));
    await this.links.deleteLink(names.host).catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}
