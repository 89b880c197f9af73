/**
 * The veth binding driver (Kuryr's default): a veth pair per endpoint, made in
 * the host namespace — `tap<port[:11]>` stays on the host and is plugged by a
 * HostPlug chosen from the port's vif_type; `t_c<port[:11]>` gets the port's
 * MAC, the network MTU and tx checksum offload off, and is Join's SrcName (Docker moves it). The host
 * end carries the alias `kuryr:<endpoint id>` so DeleteEndpoint can find it
 * even when Neutron has lost the port.
 */
import { withUndo, type UndoFailureReporter } from '@kuryr-ts/openstack/lib/undo';
import type { BindRequest, BindResult, PortBinder, UnbindRequest } from '../ports/binder.js';
import type { LinkOps } from '../ports/host-net.js';
import type { HostPlug } from './host-plugs.js';
import { endpointAlias, vethNames } from './veth-names.js';

export class VethBinder implements PortBinder {
  readonly name: string;

  constructor(
    readonly links: LinkOps,
    readonly hostPlug: HostPlug,
    readonly onUndoFailure: UndoFailureReporter,
  ) {
    this.name = `veth+${hostPlug.vifType}`;
  }

  containerIfName(portId: string): string {
    return vethNames(portId).container;
  }

  async bind(req: BindRequest): Promise<BindResult> {
    const names = vethNames(req.port.id);
    return withUndo(this.onUndoFailure, async (undo) => {
      const spec = {
        hostName: names.host,
        peerName: names.container,
        mtu: req.mtu,
        peerMac: req.port.mac_address.toLowerCase(),
        alias: endpointAlias(req.endpointId),
      };
      try {
        await this.links.createVeth(spec);
      } catch (err) {
        // A leftover pair from a crashed earlier attempt makes `ip link add` fail: remove it, once.
        if (!(await this.links.deleteLink(names.host))) throw err;
        await this.links.createVeth(spec);
      }
      undo.push(`delete veth ${names.host}`, () => this.links.deleteLink(names.host));
      // Independent, a process each: the container end's offload setting and the host end's plug.
      const [offloaded, plugged] = await Promise.allSettled([
        this.links.txChecksumOff(names.container),
        this.hostPlug.plug(names.host, req.port, req.endpointId, req.mtu),
      ]);
      if (plugged.status === 'fulfilled') undo.push(`unplug ${names.host}`, () => this.hostPlug.unplug(names.host, req.port.id));
      for (const step of [offloaded, plugged]) if (step.status === 'rejected') throw step.reason;
      return { containerIfName: names.container };
    });
  }

  async unbind(req: UnbindRequest): Promise<void> {
    const names = vethNames(req.portId);
    // Independent: OVS forgets the port while the kernel drops the veth (each ~30 ms, a process each).
    const [unplugged, deleted] = await Promise.allSettled([this.hostPlug.unplug(names.host, req.portId), this.links.deleteLink(names.host)]);
    for (const step of [unplugged, deleted]) if (step.status === 'rejected') throw step.reason;
  }
}
