/**
 * What the binding layer needs from the host's network stack (consumer-owned
 * interfaces; the real implementations are in adapters/linux, the fakes in
 * test/fakes). Every method throws HostError naming the failed step.
 */

export interface VethSpec {
  /** Host-side name (stays in the host netns, plugged into a bridge). */
  hostName: string;
  /** Container-side name (Join's SrcName; Docker moves and renames it). */
  peerName: string;
  mtu: number;
  /** MAC of the container end (= the Neutron port's MAC). */
  peerMac: string;
}

export interface LinkOps {
  /** Creates a veth pair, both ends up, tx checksum offload off on both (OVS userspace datapath needs it). */
  createVeth(spec: VethSpec): Promise<void>;
  /** Idempotent: resolves false when the link did not exist. */
  deleteLink(name: string): Promise<boolean>;
  linkExists(name: string): Promise<boolean>;
}

export interface OvsInterface {
  name: string;
  externalIds: Record<string, string>;
}

export interface OvsOps {
  /** Adds (or re-adds, idempotently) a port with Interface external_ids. */
  addPort(bridge: string, name: string, externalIds: Record<string, string>): Promise<void>;
  /** Idempotent: succeeds when the port is already gone. */
  deletePort(bridge: string, name: string): Promise<void>;
  /** Interfaces whose external_ids contain all the given pairs. */
  findInterfaces(externalIds: Record<string, string>): Promise<OvsInterface[]>;
}
