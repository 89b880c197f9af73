/**
 * Networks and endpoints made on the bench daemon through the libnetwork
 * protocol, exactly as Docker calls it (no Docker in between): a network is
 * RequestPool + RequestAddress (gateway) + CreateNetwork, an attach
 * RequestAddress + CreateEndpoint + Join, a detach Leave + DeleteEndpoint +
 * ReleaseAddress. What is live is kept, so cleanup can remove it.
 */
import type { Progress } from './context.js';
import { plugin } from './lab.js';
import type { CountingProxy } from './proxy.js';
import { randomHex, randomMac } from './util.js';

export interface PluginNet {
  nid: string;
  poolId: string;
  cidr: string;
  gw: string;
}

export class PluginNetworks {
  readonly live = new Map<string, PluginNet>();
  readonly endpoints = new Map<string, { net: PluginNet; ip: string }>();
  /** the daemon's local default address space (IpamDriver.GetDefaultAddressSpaces) */
  addressSpace = 'LocalDefault';

  constructor(
    readonly socket: string,
    readonly proxy: CountingProxy,
    readonly progress: Progress,
    /** 8 hex digits every network id of the run starts with */
    readonly nidPrefix: string,
  ) {}

  /** Network i of the run (10.231.0.0/24 onwards): its wall time and the Neutron calls the proxy saw meanwhile. */
  async create(i: number): Promise<{ net: PluginNet; ms: number; calls: number }> {
    const cidr = `10.${231 + Math.floor(i / 250)}.${i % 250}.0/24`;
    const gw = cidr.replace(/0\/24$/, '1');
    const nid = `${this.nidPrefix}${randomHex(56)}`;
    const i0 = this.proxy.calls.length;
    const t = performance.now();
    const p = await plugin<{ PoolID: string }>(this.socket, 'IpamDriver.RequestPool', { AddressSpace: this.addressSpace, Pool: cidr, SubPool: '', Options: {}, V6: false });
    const net = { nid, poolId: p.PoolID, cidr, gw };
    await plugin(this.socket, 'IpamDriver.RequestAddress', { PoolID: p.PoolID, Address: gw, Options: { RequestAddressType: 'com.docker.network.gateway' } });
    this.live.set(nid, net);
    await plugin(this.socket, 'NetworkDriver.CreateNetwork', {
      NetworkID: nid,
      IPv4Data: [{ AddressSpace: this.addressSpace, Pool: cidr, Gateway: `${gw}/24` }],
      IPv6Data: [],
      Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
    });
    this.progress.ops += 1;
    return { net, ms: performance.now() - t, calls: this.proxy.calls.length - i0 };
  }

  /** Deletes a network; its wall time. */
  async delete(net: PluginNet): Promise<number> {
    const t = performance.now();
    await plugin(this.socket, 'NetworkDriver.DeleteNetwork', { NetworkID: net.nid });
    await plugin(this.socket, 'IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: net.gw });
    await plugin(this.socket, 'IpamDriver.ReleasePool', { PoolID: net.poolId });
    this.live.delete(net.nid);
    this.progress.ops += 1;
    return performance.now() - t;
  }

  /** A new endpoint on the network; its id. */
  async attach(net: PluginNet): Promise<string> {
    const eid = randomHex(64);
    const mac = randomMac();
    const a = await plugin<{ Address: string }>(this.socket, 'IpamDriver.RequestAddress', { PoolID: net.poolId, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
    const ip = a.Address.split('/')[0]!;
    this.endpoints.set(eid, { net, ip });
    await plugin(this.socket, 'NetworkDriver.CreateEndpoint', { NetworkID: net.nid, EndpointID: eid, Interface: { Address: a.Address, AddressIPv6: '', MacAddress: mac }, Options: {} });
    await plugin(this.socket, 'NetworkDriver.Join', { NetworkID: net.nid, EndpointID: eid, SandboxKey: `/var/run/docker/netns/${eid.slice(0, 12)}`, Options: {} });
    this.progress.ops += 1;
    return eid;
  }

  async detach(eid: string): Promise<void> {
    const ep = this.endpoints.get(eid);
    if (!ep) return;
    await plugin(this.socket, 'NetworkDriver.Leave', { NetworkID: ep.net.nid, EndpointID: eid });
    await plugin(this.socket, 'NetworkDriver.DeleteEndpoint', { NetworkID: ep.net.nid, EndpointID: eid });
    await plugin(this.socket, 'IpamDriver.ReleaseAddress', { PoolID: ep.net.poolId, Address: ep.ip });
    this.endpoints.delete(eid);
    this.progress.ops += 1;
  }
}
