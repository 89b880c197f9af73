/**
 * What the binding layer needs from the host's network stack (consumer-owned
 * interfaces; the real implementations are in adapters/linux, the fakes in
 * test/fakes). Every method throws HostError naming the failed step.
 */

export interface VethSpec {
  hostName: string;
  peerName: string;
  mtu: number;
  peerMac: string;
  /** IFLA_IFALIAS of the host end, e.g. `kuryr:<endpoint id>`: finds leftovers without Neutron. */
  alias?: string;
}

export interface MacvlanSpec {
  name: string;
  parent: string;
  mac: string;
  mtu: number;
}

export interface VlanSpec extends MacvlanSpec {
  vlanId: number;
}

export interface LinkOps {
  /** Creates a veth pair, the host end up. */
  createVeth(spec: VethSpec): Promise<void>;
  /** Turns tx checksum offload off on a link (OVS's userspace conntrack drops TCP with partial checksums). */
  txChecksumOff(name: string): Promise<void>;
  /** A plain veth pair with both ends up (e.g. hybrid plugging's qvb/qvo). */
  createVethPair(a: string, b: string, mtu: number): Promise<void>;
  /** Creates a Linux bridge if missing (forward delay 0, STP off) and brings it up. */
  ensureBridge(name: string): Promise<void>;
  /**
   * Lets bridged traffic of a kuryr bridge through the host firewall: with
   * br_netfilter loaded (Docker loads it) bridged packets traverse iptables
   * FORWARD, whose policy Docker sets to DROP. Idempotent; no-op without br_netfilter.
   */
  allowBridged(bridge: string): Promise<void>;
  /** Removes what allowBridged added; idempotent. */
  disallowBridged(bridge: string): Promise<void>;
  /** Enslaves a link to a bridge and brings it up. */
  setMaster(link: string, bridge: string): Promise<void>;
  /** A macvlan (mode bridge) on `parent` with this MAC and MTU, tx checksum offload off. */
  createMacvlan(spec: MacvlanSpec): Promise<void>;
  /** An 802.1q sub-interface of `parent`. */
  createVlan(spec: VlanSpec): Promise<void>;
  /** The MAC of a link, or undefined if it does not exist. */
  macOf(name: string): Promise<string | undefined>;
  /** Names of links whose alias is exactly `alias`. */
  findByAlias(alias: string): Promise<string[]>;
  /** Every link that carries an alias, with it (in this namespace). */
  aliasedLinks(): Promise<Array<{ name: string; alias: string }>>;
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
