/**
 * The driver's one wiring: binding drivers, domain services, libnetwork
 * routes and the plugin server, built from the outside parts handed in
 * (Neutron, the host's network stack, settings, logger). The daemon passes
 * the real adapters; unit tests and benchmarks pass fakes. Nothing here
 * touches the network or the host by itself.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { UndoFailureReporter } from '@kuryr-ts/openstack/lib/undo';
import type { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';
import type { ObservabilityEndpoints } from '@kuryr-ts/openstack/observability/http';
import { BinderRegistry } from '../binding/registry.js';
import { vethNames } from '../binding/veth-names.js';
import { CniService } from '../domain/cni-service.js';
import { EndpointService } from '../domain/endpoint-service.js';
import { ExposureService } from '../domain/exposure-service.js';
import { IpamService } from '../domain/ipam-service.js';
import { Ledger } from '../domain/ledger.js';
import { NetworkService } from '../domain/network-service.js';
import { NeutronIndex } from '../domain/neutron-index.js';
import { PortDeletions } from '../domain/port-deletions.js';
import { PortPool } from '../domain/port-pool.js';
import { Reconciler } from '../domain/reconciler.js';
import { SecurityGroupResolver } from '../domain/security-groups.js';
import type { Background, DriverSettings } from '../domain/settings.js';
import type { DockerEngine } from '../ports/docker-engine.js';
import { adminRoutes } from '../protocol/admin-routes.js';
import { cniRoutes } from '../protocol/cni-routes.js';
import { ipamRoutes } from '../protocol/libnetwork/ipam-routes.js';
import { networkRoutes } from '../protocol/libnetwork/network-routes.js';
import type { RouteTable } from '../protocol/libnetwork/route-table.js';
import type { Metrics } from '../ports/metrics.js';
import { buildPluginServer, type PluginCall } from '../protocol/plugin-server.js';
import { buildRegistry, type BindingChoice, type HostAdapters } from './binders.js';

/** What the probe learnt of Neutron (neutron-probe.ts). */
export interface NeutronFeatures {
  /** The tag extension: ids are found by tags, else by names (Kuryr's fallback). */
  tags: boolean;
  /** Tags in the POST body itself (Neutron 2024.2+). */
  tagOnCreate: boolean;
}

/** Neutron being probed in the background (NeutronProbe): the gate of the driver calls that need it. */
export interface NeutronReadiness {
  /** Resolves with the features the first time Neutron answers the probe; never rejects. */
  readonly ready: Promise<NeutronFeatures>;
  /** Resolves at once once ready; else waits a short bounded time, then rejects with a coded error saying why Neutron is not usable. */
  usable(): Promise<void>;
}

/** `[vif_pool]` sizes. */
export interface PortPoolSizes {
  /** Free ports kept per subnet. */
  min: number;
  /** Ports made per refill (one bulk request). */
  batch: number;
  /** At most this many free ports per subnet (0: no limit). */
  max: number;
  /** Mark each hand-out in Neutron before RequestAddress answers (`mark_hand_outs`). */
  markHandOuts?: boolean | undefined;
}

export interface DriverParts {
  /** Neutron: the HTTP client, or a fake. */
  neutron: NeutronApi;
  /** The host's links and OVS: the iproute2 / ovs-vsctl adapters, or fakes. */
  host: HostAdapters;
  /**
   * How ports are plugged: kuryr.conf's binding choice (bindingChoiceOf; the
   * binders are built here over `host`), or binders the caller built.
   */
  binding: BindingChoice | BinderRegistry;
  /** The driver settings; whether ports are bound to this host follows the port driver. */
  settings: Omit<DriverSettings, 'bindHost'>;
  /**
   * Tag support, known (tests) or still being probed: until Neutron answers,
   * the routes that need it go through the readiness gate (the socket is
   * bound, and Plugin.Activate and the GetCapabilities answer, before then).
   */
  neutronFeatures: NeutronFeatures | NeutronReadiness;
  /** `[vif_pool]` sizes when port pools are enabled (veth drivers only). */
  portPool?: PortPoolSizes | undefined;
  /** The port pools' clock (ms: their demand window, the hold of ports found after a restart); default Date.now. */
  poolClock?: (() => number) | undefined;
  /** The structured logger (pino), shared by the services and the plugin server. */
  logger: FastifyBaseLogger;
  /** Per-operation counters, served at GET /kuryr/stats. */
  stats: OpStats;
  /** Runs work detached from the Docker request that started it (pool refills, endpoint records). */
  background: Background;
  /** Told about undo steps that failed while a bind was rolled back. */
  onUndoFailure: UndoFailureReporter;
  /** More read-only info for GET /kuryr/stats, listed before the cache sizes. */
  extraStats?: (() => Record<string, unknown>) | undefined;
  /** Reconciliation (docs/reconcile.md): the local Docker Engine, the grace period, the driver's Docker name. */
  reconcile?: ReconcileParts | undefined;
  /** Metrics of the plugin calls and the /metrics, /readyz endpoints of the plugin server (main/observability.ts). */
  observability?: { onCall?: ((call: PluginCall) => void) | undefined; endpoints?: ObservabilityEndpoints | undefined } | undefined;
  /** Counters the domain increments (the reconciler's); default none. */
  metrics?: Metrics | undefined;
}

export interface ReconcileParts {
  docker: DockerEngine;
  /** `[DEFAULT] reconcile_grace_period` in seconds. */
  graceS: number;
  /** The driver's name in Docker: the plugin socket's base name. */
  driverName: string;
  /** The clock (tests). */
  now?: (() => number) | undefined;
}

export interface Driver {
  binders: BinderRegistry;
  settings: DriverSettings;
  index: NeutronIndex;
  portPool: PortPool | undefined;
  ipam: IpamService;
  sgs: SecurityGroupResolver;
  networks: NetworkService;
  endpoints: EndpointService;
  exposure: ExposureService;
  /** CNI attachments (`kuryr-cni`), when the host adapters reach network namespaces. */
  cni: CniService | undefined;
  /** What this daemon has in hand (requests in flight, hand-outs, live endpoints). */
  ledger: Ledger;
  /** Finds and removes this host's leftovers (with `parts.reconcile`). */
  reconciler: Reconciler | undefined;
  /** The libnetwork NetworkDriver.* and IpamDriver.* handlers. */
  routes: RouteTable;
  /** The plugin server (not listening yet). */
  server: FastifyInstance;
  /** Resolves when the Neutron features are known and applied (never rejects: the probe retries until then). */
  ready: Promise<void>;
}

/** Routes that need Neutron pass `gate` first (the argument-less GetCapabilities / GetDefaultAddressSpaces do not). */
function gated(routes: RouteTable, gate: () => Promise<void>): RouteTable {
  return Object.fromEntries(
    Object.entries(routes).map(([method, spec]) => [
      method,
      spec.noArgs ? spec : { ...spec, handle: async (body: unknown) => (await gate(), spec.handle(body)) },
    ]),
  );
}

export function composeDriver(parts: DriverParts): Driver {
  const { neutron, host, logger: log, background } = parts;
  const binders =
    parts.binding instanceof BinderRegistry ? parts.binding : buildRegistry({ binding: parts.binding, neutron, host, onUndoFailure: parts.onUndoFailure });
  const settings: DriverSettings = Object.freeze({ ...parts.settings, bindHost: binders.bindsHost });
  const index = new NeutronIndex(neutron);
  const apply = (features: NeutronFeatures): void => {
    index.tagging = features.tags;
    index.tagOnCreate = features.tagOnCreate;
  };
  const features = parts.neutronFeatures;
  const probing = 'usable' in features ? features : undefined;
  if (!probing) apply(features as NeutronFeatures);
  const ready = probing ? probing.ready.then(apply) : Promise.resolve();

  // Hand-outs are held as long as the reconciler waits before it judges an object.
  const ledger = new Ledger({ holdMs: (parts.reconcile?.graceS ?? 600) * 1000, now: parts.reconcile?.now });
  const plugged = (portId: string): Promise<boolean> => host.links.linkExists(vethNames(portId).host);
  // Port pools need ports bound to this host (veth drivers); nested drivers make no bound ports.
  const portPool =
    parts.portPool && binders.bindsHost
      ? new PortPool({
          neutron,
          settings: { hostId: settings.hostId, ...parts.portPool },
          log,
          background,
          plugged,
          now: parts.poolClock,
        })
      : undefined;
  if (parts.portPool && !portPool) log.warn({ portDriver: binders.portDriver }, '[vif_pool] enabled: ignored, the port driver binds no ports to this host');
  const deletions = settings.deletePortsAfterReply ? new PortDeletions({ neutron, log, background }) : undefined;
  const ipam = new IpamService({ neutron, index, settings, log, portPool, ledger, plugged: binders.bindsHost ? plugged : undefined, deletions });
  const sgs = new SecurityGroupResolver(neutron);
  // Nested containers live on the VM's network unless told otherwise (as Kuryr's nested driver).
  const vmPort = binders.vmPort;
  const networks = new NetworkService({
    neutron,
    index,
    pools: ipam.pools,
    reaper: ipam,
    sgs,
    settings,
    log,
    defaultNetwork: vmPort ? async () => (await vmPort.get()).network_id : undefined,
    portPool,
    ledger,
    deletions,
  });
  const endpoints = new EndpointService({ neutron, index, binders, sgs, settings, log, background, ledger, poolClaimed: portPool && ((id) => portPool.claimed(id)) });
  const exposure = new ExposureService({ neutron, index, settings, log });

  const all = { ...networkRoutes(networks, endpoints, exposure, settings), ...ipamRoutes(ipam) };
  const usable = async (): Promise<void> => {
    if (probing) await probing.usable();
    await ready;
  };
  const routes = probing ? gated(all, usable) : all;
  const server = buildPluginServer({
    routes,
    stats: parts.stats,
    logger: log,
    extraStats: () => ({
      ...(parts.extraStats?.() ?? {}),
      caches: index.sizes(),
      portPools: portPool?.sizes() ?? {},
      ledger: ledger.sizes(),
      ...(deletions ? { portDeletionsPending: deletions.size } : {}),
      ...(reconciler ? { reconcile: reconciler.totals() } : {}),
    }),
    onCall: parts.observability?.onCall,
    endpoints: parts.observability?.endpoints,
  });
  const reconciler = parts.reconcile
    ? new Reconciler({
        neutron,
        docker: parts.reconcile.docker,
        binders,
        index,
        settings,
        reconcile: { graceMs: parts.reconcile.graceS * 1000, driverName: parts.reconcile.driverName },
        ledger,
        portPool,
        log,
        metrics: parts.metrics,
        now: parts.reconcile.now,
      })
    : undefined;
  if (reconciler) adminRoutes(server, reconciler, usable);
  if (deletions) {
    // A stop waits (up to 10 s) for the ports released just before it; reconciliation removes any left.
    server.addHook('onClose', async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([deletions.settled(), new Promise<void>((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
    });
  }
  const cni = host.netns ? new CniService({ neutron, index, binders, netns: host.netns, sgs, settings, log, portPool, ledger }) : undefined;
  if (cni) cniRoutes(server, cni, usable);
  return { binders, settings, index, portPool, ipam, sgs, networks, endpoints, exposure, cni, ledger, reconciler, routes, server, ready };
}
