/**
 * Builds the driver with the daemon's composition root (composeDriver), but
 * over the in-memory fakes, and drives it the way Docker 20.10 does (same methods,
 * same order, same JSON) through fastify's in-process inject().
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { BinderRegistry, type BinderTable, type PortDriver } from '../src/binding/registry.js';
import type { DriverSettings } from '../src/domain/settings.js';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { buildRegistry, type BindingChoice } from '../src/main/binders.js';
import { composeDriver } from '../src/main/compose.js';
import type { FakeDocker } from './fake-docker.js';
import { FakeLinks, FakeNetns, FakeOvs } from './fake-host.js';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';

export const settings: DriverSettings = {
  hostId: 'testhost',
  bindHost: true,
  subnetpoolNamePrefix: 'kuryrPool',
  enableDhcp: true,
  defaultSubnetpoolV4: 'kuryr',
  defaultSubnetpoolV6: 'kuryr6',
  vethDstPrefix: 'eth',
  vifPluggingIsFatal: false,
  vifPluggingTimeoutS: 5,
  localDefaultAddressSpace: 'no_address_space',
  globalDefaultAddressSpace: 'no_address_space',
  capabilityScope: 'local',
  processExternalConnectivity: true,
};

export const dockerId = (): string => randomBytes(32).toString('hex');
export const dockerMac = (): string => `02:42:${[...randomBytes(4)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

export interface DriverOptions {
  /** false: Neutron without the tag extension (name-based fallback). */
  tagging?: boolean;
  portDriver?: PortDriver;
  forceVifType?: string;
  /** `[vif_pool]`: port pools (Docker then sends no MAC; `d.idle()` waits for refills). */
  portPool?: { min: number; batch: number; max: number; markHandOuts?: boolean };
  /** The port pools' clock (ms). */
  poolClock?: () => number;
  /** Extra binders (nested, vlan), built over the harness's fakes. */
  nested?: (links: FakeLinks, neutron: FakeNeutron) => Partial<BinderTable>;
  /** kuryr.conf settings that differ from `settings` (e.g. `ipRangeAsAllocationPool`). */
  settings?: Partial<DriverSettings>;
  /** A reconciler over this Docker (`d.reconciler`), with a grace period and a clock. */
  reconcile?: { docker: FakeDocker; graceS?: number; now?: () => number };
}

export function buildDriver(neutron = new FakeNeutron(), dopts: DriverOptions = {}) {
  if (dopts.tagging === false) neutron.extensions.delete('standard-attr-tag');
  const log = pino({ level: 'silent' });
  const stats = new OpStats();
  const links = new FakeLinks();
  const ovs = new FakeOvs();
  const netns = new FakeNetns(links);
  const host = { links, ovs, netns };
  const noop = () => undefined;
  const binding: BindingChoice = { portDriver: 'veth', integrationBridge: 'br-int', linkIface: '', forceVifType: dopts.forceVifType };
  // Nested drivers: the test's own binders over the fakes, beside the veth ones (no VM network to adopt).
  const bindersWith = (nested: Partial<BinderTable>): BinderRegistry => {
    const veth = buildRegistry({ binding, neutron, host, onUndoFailure: noop });
    return new BinderRegistry({ portDriver: dopts.portDriver ?? 'veth', table: { ...veth.table, ...nested }, forceVifType: dopts.forceVifType, links, ovs });
  };
  // What the daemon keeps across requests is only a cache: `restart()` drops it.
  const make = () => {
    const tagging = dopts.tagging !== false;
    const driver = composeDriver({
      neutron,
      host,
      binding: dopts.nested || dopts.portDriver ? bindersWith(dopts.nested?.(links, neutron) ?? {}) : binding,
      settings: { ...settings, ...dopts.settings },
      neutronFeatures: { tags: tagging, tagOnCreate: tagging && neutron.extensions.has('tag-creation') },
      portPool: dopts.portPool,
      poolClock: dopts.poolClock,
      logger: log,
      stats,
      background: (work) => void background.push(work()),
      onUndoFailure: noop,
      reconcile: dopts.reconcile ? { docker: dopts.reconcile.docker, graceS: dopts.reconcile.graceS ?? 600, driverName: 'kuryr', now: dopts.reconcile.now } : undefined,
    });
    return { index: driver.index, portPool: driver.portPool, app: driver.server, ledger: driver.ledger, reconciler: driver.reconciler, cni: driver.cni! };
  };
  const background: Array<Promise<void>> = [];
  async function idle(): Promise<void> {
    while (background.length > 0) await background.shift();
  }
  let current = make();

  async function callRaw(method: string, payload: string): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await current.app.inject({
      method: 'POST',
      url: `/${method}`,
      // Docker sends no Content-Type, a JSON body and a trailing newline.
      headers: { accept: 'application/vnd.docker.plugins.v1.2+json' },
      payload,
    });
    return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
  }

  const call = (method: string, body?: unknown) => callRaw(method, body === undefined ? '' : `${JSON.stringify(body)}\n`);

  /** GET /kuryr/stats. */
  async function pluginStats(): Promise<Record<string, unknown>> {
    return JSON.parse((await current.app.inject({ method: 'GET', url: '/kuryr/stats' })).body) as Record<string, unknown>;
  }

  async function ok(method: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await call(method, body);
    if (res.status !== 200) throw new Error(`${method} → ${res.status} ${JSON.stringify(res.json)}`);
    return res.json;
  }

  /** `docker network create -d kuryr --ipam-driver kuryr --subnet S --gateway G [-o k=v]` */
  async function createNetwork(
    subnet: string,
    gateway: string | undefined,
    generic: Record<string, string> = {},
    aux: Record<string, string> = {},
    ipamOpts: Record<string, string> = {},
  ) {
    const networkId = dockerId();
    const pool = await ok('IpamDriver.RequestPool', { AddressSpace: 'no_address_space', Pool: subnet, SubPool: '', Options: ipamOpts, V6: false });
    const gw = await ok('IpamDriver.RequestAddress', {
      PoolID: pool.PoolID,
      Address: gateway ?? '',
      Options: { RequestAddressType: 'com.docker.network.gateway' },
    });
    const auxData: Record<string, string> = {};
    for (const [name, ip] of Object.entries(aux)) {
      auxData[name] = String((await ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: ip, Options: null })).Address);
    }
    await ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': generic },
      IPv4Data: [{ AddressSpace: 'no_address_space', Pool: pool.Pool, Gateway: gw.Address, ...(Object.keys(aux).length ? { AuxAddresses: auxData } : {}) }],
      IPv6Data: [],
    });
    return { networkId, poolId: String(pool.PoolID), gateway: String(gw.Address), auxData };
  }

  /** `docker run --net N` up to the container running. */
  async function attach(
    net: { networkId: string; poolId: string },
    ip = '',
    exposed: Array<{ Proto: number; Port: number }> = [],
    driverOpts: Record<string, string> = {},
    userMac = '',
  ) {
    const endpointId = dockerId();
    // RequiresMACAddress: Docker makes one up for IPAM; port pools ask for none (only --mac-address reaches CreateEndpoint).
    const mac = dopts.portPool ? userMac : userMac || dockerMac();
    const addr = await ok('IpamDriver.RequestAddress', {
      PoolID: net.poolId,
      Address: ip,
      Options: dopts.portPool ? null : { 'com.docker.network.endpoint.macaddress': mac },
    });
    const ep = await ok('NetworkDriver.CreateEndpoint', {
      NetworkID: net.networkId,
      EndpointID: endpointId,
      Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: mac },
      Options: { 'com.docker.network.endpoint.exposedports': exposed, 'com.docker.network.portmap': [], ...driverOpts },
    });
    const join = await ok('NetworkDriver.Join', {
      NetworkID: net.networkId,
      EndpointID: endpointId,
      SandboxKey: '/var/run/docker/netns/0123456789ab',
      Options: {},
    });
    await ok('NetworkDriver.ProgramExternalConnectivity', {
      NetworkID: net.networkId,
      EndpointID: endpointId,
      Options: { 'com.docker.network.endpoint.exposedports': exposed, 'com.docker.network.portmap': [] },
    });
    await ok('NetworkDriver.EndpointOperInfo', { NetworkID: net.networkId, EndpointID: endpointId });
    await idle(); // what CreateEndpoint left for after its reply
    return { endpointId, mac, address: String(addr.Address), createEndpoint: ep, join };
  }

  /** `docker stop` / `docker rm -f` of that container. */
  async function detach(net: { networkId: string; poolId: string }, ep: { endpointId: string; address: string }) {
    await ok('NetworkDriver.RevokeExternalConnectivity', { NetworkID: net.networkId, EndpointID: ep.endpointId });
    await ok('NetworkDriver.Leave', { NetworkID: net.networkId, EndpointID: ep.endpointId });
    await ok('NetworkDriver.DeleteEndpoint', { NetworkID: net.networkId, EndpointID: ep.endpointId });
    await ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: ep.address.split('/')[0] });
  }

  /** `docker network rm`. */
  async function removeNetwork(net: { networkId: string; poolId: string; gateway: string; auxData?: Record<string, string> }) {
    await ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: net.gateway.split('/')[0] });
    for (const a of Object.values(net.auxData ?? {})) await ok('IpamDriver.ReleaseAddress', { PoolID: net.poolId, Address: a.split('/')[0] });
    await ok('IpamDriver.ReleasePool', { PoolID: net.poolId });
    await ok('NetworkDriver.DeleteNetwork', { NetworkID: net.networkId });
  }

  return {
    neutron,
    links,
    ovs,
    netns,
    stats,
    pluginStats,
    call,
    callRaw,
    ok,
    createNetwork,
    attach,
    detach,
    removeNetwork,
    get index() {
      return current.index;
    },
    get portPool() {
      return current.portPool;
    },
    get ledger() {
      return current.ledger;
    },
    get reconciler() {
      return current.reconciler!;
    },
    /** The CNI attachments service (`kuryr-cni`'s daemon side). */
    get cni() {
      return current.cni;
    },
    /** Waits for the background work (pool refills, endpoint records) started so far. */
    idle,
    /** Simulates a daemon restart: all in-process caches are gone. */
    restart() {
      current = make();
    },
  };
}
