/** Recording fakes of the host network ports (LinkOps, OvsOps), with injectable failures. */
import { HostError } from '@kuryr-ts/openstack/errors';
import type { LinkOps, MacvlanSpec, OvsInterface, OvsOps, VethSpec, VlanSpec } from '../src/ports/host-net.js';
import type { ContainerLinkSpec, ContainerLinkState, NetnsOps } from '../src/ports/netns.js';

export interface FakeLink {
  kind: 'veth' | 'bridge' | 'macvlan' | 'vlan' | 'nic';
  master?: string;
  mac?: string;
  mtu?: number;
  peer?: string;
  alias?: string;
  vlanId?: number;
  parent?: string;
}

export class FakeLinks implements LinkOps {
  /** Host ends of veth pairs (by host name), as the skeleton's tests read them. */
  readonly links = new Map<string, VethSpec>();
  /** Every other link: bridges, macvlans, vlans, NICs, qvb/qvo. */
  readonly other = new Map<string, FakeLink>();
  readonly calls: string[] = [];
  failCreate = false;

  async createVeth(spec: VethSpec): Promise<void> {
    this.calls.push(`add ${spec.hostName}`);
    if (this.failCreate) throw new HostError('ip link add', 'injected failure');
    if (this.links.has(spec.hostName)) throw new HostError('ip link add', 'File exists');
    this.links.set(spec.hostName, spec);
  }

  /** Links whose tx checksum offload was turned off. */
  readonly txOff = new Set<string>();
  failTxOff = false;

  async txChecksumOff(name: string): Promise<void> {
    this.calls.push(`tx off ${name}`);
    if (this.failTxOff) throw new HostError('ethtool -K', 'injected failure');
    this.txOff.add(name);
  }

  async createVethPair(a: string, b: string, mtu: number): Promise<void> {
    this.calls.push(`add ${a}`);
    if (this.other.has(a)) throw new HostError('ip link add', 'File exists');
    this.other.set(a, { kind: 'veth', peer: b, mtu });
    this.other.set(b, { kind: 'veth', peer: a, mtu });
  }

  async ensureBridge(name: string): Promise<void> {
    if (!this.other.has(name)) this.other.set(name, { kind: 'bridge' });
  }

  readonly allowed = new Set<string>();

  async allowBridged(bridge: string): Promise<void> {
    this.allowed.add(bridge);
  }

  async disallowBridged(bridge: string): Promise<void> {
    this.allowed.delete(bridge);
  }

  async setMaster(link: string, bridge: string): Promise<void> {
    if (!this.other.has(bridge)) throw new HostError('ip link set master', `no bridge ${bridge}`);
    const l = this.other.get(link) ?? (this.links.has(link) ? { kind: 'veth' as const } : undefined);
    if (!l) throw new HostError('ip link set master', `Cannot find device ${link}`);
    this.other.set(link, { ...l, master: bridge });
  }

  async createMacvlan(spec: MacvlanSpec): Promise<void> {
    if (!this.other.has(spec.parent)) throw new HostError('ip link add macvlan', `Cannot find device ${spec.parent}`);
    this.other.set(spec.name, { kind: 'macvlan', parent: spec.parent, mac: spec.mac, mtu: spec.mtu });
  }

  async createVlan(spec: VlanSpec): Promise<void> {
    if (!this.other.has(spec.parent)) throw new HostError('ip link add vlan', `Cannot find device ${spec.parent}`);
    this.other.set(spec.name, { kind: 'vlan', parent: spec.parent, mac: spec.mac, vlanId: spec.vlanId });
  }

  async macOf(name: string): Promise<string | undefined> {
    return this.other.get(name)?.mac;
  }

  async findByAlias(alias: string): Promise<string[]> {
    return [...this.links.entries()].filter(([, v]) => v.alias === alias).map(([k]) => k);
  }

  async aliasedLinks(): Promise<Array<{ name: string; alias: string }>> {
    return [
      ...[...this.links.entries()].filter(([, v]) => v.alias).map(([name, v]) => ({ name, alias: v.alias! })),
      ...[...this.other.entries()].filter(([, v]) => v.alias).map(([name, v]) => ({ name, alias: v.alias! })),
    ];
  }

  async deleteLink(name: string): Promise<boolean> {
    this.calls.push(`del ${name}`);
    const peer = this.other.get(name)?.peer;
    if (peer) this.other.delete(peer);
    for (const [k, v] of this.other) if (v.master === name) this.other.set(k, { ...v, master: undefined as unknown as string });
    const inLinks = this.links.delete(name);
    const inOther = this.other.delete(name);
    return inLinks || inOther;
  }

  async linkExists(name: string): Promise<boolean> {
    return this.links.has(name) || this.other.has(name);
  }
}

export class FakeOvs implements OvsOps {
  readonly ports = new Map<string, OvsInterface & { bridge: string }>();
  failAdd = false;
  /** Told of each plugged interface (e.g. to make its Neutron port ACTIVE, as OVN does). */
  onAdd: ((name: string, externalIds: Record<string, string>) => void) | undefined;

  async addPort(bridge: string, name: string, externalIds: Record<string, string>): Promise<void> {
    if (this.failAdd) throw new HostError('ovs-vsctl add-port', 'injected failure');
    this.ports.set(name, { bridge, name, externalIds });
    this.onAdd?.(name, externalIds);
  }

  async deletePort(_bridge: string, name: string): Promise<void> {
    this.ports.delete(name);
  }

  async findInterfaces(externalIds: Record<string, string>): Promise<OvsInterface[]> {
    return [...this.ports.values()].filter((p) => Object.entries(externalIds).every(([k, v]) => p.externalIds[k] === v));
  }
}

/**
 * Network namespaces by path. An interface moved in lives as long as its
 * veth's host end does (deleting one end of a veth deletes the pair).
 */
export class FakeNetns implements NetnsOps {
  readonly namespaces = new Map<string, Map<string, ContainerLinkSpec & { hostEnd: string }>>();
  failSetUp = false;

  constructor(readonly links: FakeLinks) {}

  /** `ip netns add`. */
  create(path: string): void {
    this.namespaces.set(path, new Map());
  }

  async exists(netns: string): Promise<boolean> {
    return this.namespaces.has(netns);
  }

  #live(netns: string): Map<string, ContainerLinkSpec & { hostEnd: string }> | undefined {
    const ns = this.namespaces.get(netns);
    if (ns) for (const [name, l] of ns) if (!this.links.links.has(l.hostEnd)) ns.delete(name);
    return ns;
  }

  async setUp(spec: ContainerLinkSpec): Promise<void> {
    const ns = this.#live(spec.netns);
    if (!ns) throw new HostError('ip link set netns', `Cannot open network namespace "${spec.netns}": No such file or directory`);
    const hostEnd = [...this.links.links.values()].find((v) => v.peerName === spec.link)?.hostName;
    if (!hostEnd) throw new HostError('ip link set netns', `Cannot find device "${spec.link}"`);
    if (this.failSetUp) throw new HostError('ip -batch -', 'injected failure');
    if (ns.has(spec.ifname)) throw new HostError('ip -batch -', 'RTNETLINK answers: File exists');
    ns.set(spec.ifname, { ...spec, hostEnd });
  }

  async inspect(netns: string, ifname: string): Promise<ContainerLinkState | undefined> {
    const l = this.#live(netns)?.get(ifname);
    return l && { mac: l.mac, addresses: [...l.addresses], up: true };
  }

  async remove(netns: string, ifname: string): Promise<boolean> {
    const ns = this.#live(netns);
    const l = ns?.get(ifname);
    if (!ns || !l) return false;
    ns.delete(ifname);
    await this.links.deleteLink(l.hostEnd);
    return true;
  }
}
