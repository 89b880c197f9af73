/**
 * Reconciliation: finds what this host's driver made that nothing uses any
 * more — left by a crash, a kill -9 between a Neutron call and Docker's
 * answer, or a reply lost on the way — and removes it. What it may remove,
 * and the rule that keeps it safe with several hosts on one Neutron, is in
 * docs/reconcile.md; in short, something goes only when it carries this
 * driver's marks, nothing uses it (Docker's endpoints and networks on this
 * host, Neutron's ports), nothing in this daemon has it in hand, and it has
 * stood unchanged for the grace period. Pre-created (user) ports are reset,
 * never deleted. Everything else is left alone and reported.
 *
 * Order: Neutron and the host are read before Docker, so that an endpoint
 * seen on a port is already in Docker's answer unless it is still being made
 * (which the grace period and the ledger cover).
 */
import { noMetrics, type Metrics } from '../ports/metrics.js';
import { KeyedMutex } from '@kuryr-ts/openstack/lib/keyed-mutex';
import type { NeutronApi, NeutronNetwork, NeutronPort, NeutronSecurityGroup, NeutronSubnet, NeutronSubnetPool } from '@kuryr-ts/openstack/neutron/types';
import { NeutronError, describeError } from '@kuryr-ts/openstack/errors';
import type { BindingDrivers, HostPlugRecord } from '../ports/binder.js';
import type { DockerEngine } from '../ports/docker-engine.js';
import { CNI_DEVICE_OWNER, attachmentOfPort, cniEndpointId, isCniEndpointId } from './cni-naming.js';
import { resetPrecreatedCniPort } from './cni-service.js';
import { isKuryrPort } from './ipam-service.js';
import type { Ledger } from './ledger.js';
import {
  DEVICE_OWNER,
  POOL_DEVICE_ID,
  SUBNET_NAME_PREFIX,
  TAG_NET_EXISTING,
  TAG_NET_LH,
  TAG_POOL_EXISTING,
  TAG_PORT_EXISTING,
  isRequestDeviceId,
  parseNetworkDescription,
  portOfExposedPortsGroup,
} from './naming.js';
import type { NeutronIndex } from './neutron-index.js';
import type { PortPool } from './port-pool.js';
import { endpointOfPort, resetPrecreatedPort } from './port-ownership.js';
import { ReportBuilder, type Finding, type FindingKind, type ReconcileReport } from './reconcile-report.js';
import type { DriverSettings, Logger } from './settings.js';

/** Ports Neutron makes for a network itself, and deletes with it. */
const NETWORK_OWNED = new Set(['network:dhcp', 'network:distributed']);
const KURYR_NETWORK_NAME = /^kuryr-net-[0-9a-f]{8}$/;
const EXPOSE_GROUP_DESCRIPTION = /^Docker exposed ports created by (Kuryr|kuryr-ts)\.$/;

export interface ReconcileSettings {
  /** How long an object must have stood unchanged (Neutron's created_at/updated_at) before it may be removed (ms). */
  graceMs: number;
  /** The driver's name in Docker (its plugin socket's base name), for the report. */
  driverName: string;
}

export interface ReconcilerOptions {
  neutron: NeutronApi;
  /** The local Docker Engine: its networks and endpoints. */
  docker: DockerEngine;
  /** What binding left on this host, and how to remove it. */
  binders: BindingDrivers;
  /** Whether Neutron has tags (the network rules need them). */
  index: NeutronIndex;
  settings: DriverSettings;
  reconcile: ReconcileSettings;
  /** What this daemon has in hand: never touched. */
  ledger: Ledger;
  /** `[vif_pool]`: its free ports are in use. */
  portPool?: PortPool | undefined;
  log: Logger;
  /** Counters of runs and findings (Prometheus); default none. */
  metrics?: Metrics | undefined;
  now?: (() => number) | undefined;
}

/** Totals since the daemon started, for /kuryr/stats. */
export interface ReconcileTotals {
  runs: number;
  removed: Record<string, number>;
  reset: number;
  failed: number;
  last?: { at: string; dryRun: boolean; complete: boolean; removed: number; left: number; failed: number; skipped: string[] };
}

interface DockerView {
  networks: Set<string>;
  /** The first 32 characters of each network id (a network's kuryr tag). */
  networkHalves: Set<string>;
  endpoints: Set<string>;
}

/** Objects removed in this run (or that a dry run would remove): later steps count them as gone. */
interface Gone {
  ports: Set<string>;
  networks: Set<string>;
  subnets: Set<string>;
}

const short = (id: string): string => id.slice(0, 12);

/** ms since the object last changed by Neutron's clock; undefined without timestamps. */
function ageMs(o: { created_at?: string | undefined; updated_at?: string | undefined }, now: number): number | undefined {
  const times = [o.created_at, o.updated_at]
    .filter((t): t is string => !!t)
    .map((t) => Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`))
    .filter((t) => !Number.isNaN(t));
  return times.length > 0 ? now - Math.max(...times) : undefined;
}

function describePort(p: NeutronPort): string {
  const ips = p.fixed_ips.map((f) => f.ip_address).join(', ');
  return `${p.name || '(no name)'}${ips ? ` ${ips}` : ''}, device_id ${p.device_id || '-'}`;
}

function isNotFound(err: unknown): boolean {
  return err instanceof NeutronError && err.isNotFound;
}

export class Reconciler {
  readonly #lock = new KeyedMutex();
  readonly #totals: ReconcileTotals = { runs: 0, removed: {}, reset: 0, failed: 0 };
  readonly neutron: NeutronApi;
  readonly docker: DockerEngine;
  readonly binders: BindingDrivers;
  readonly index: NeutronIndex;
  readonly settings: DriverSettings;
  readonly reconcile: ReconcileSettings;
  readonly ledger: Ledger;
  readonly portPool: PortPool | undefined;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;

  constructor(opts: ReconcilerOptions) {
    this.neutron = opts.neutron;
    this.docker = opts.docker;
    this.binders = opts.binders;
    this.index = opts.index;
    this.settings = opts.settings;
    this.reconcile = opts.reconcile;
    this.ledger = opts.ledger;
    this.portPool = opts.portPool;
    this.log = opts.log;
    this.metrics = opts.metrics ?? noMetrics;
    this.now = opts.now ?? Date.now;
  }

  /** One pass (runs never overlap: a second waits for the first). */
  run(opts: { dryRun: boolean }): Promise<ReconcileReport> {
    return this.#lock.run('run', () => this.#run(opts.dryRun));
  }

  totals(): ReconcileTotals {
    return structuredClone(this.#totals);
  }

  async #run(dryRun: boolean): Promise<ReconcileReport> {
    const r = new ReportBuilder(this.settings.hostId, dryRun, this.now);
    const gone: Gone = { ports: new Set(), networks: new Set(), subnets: new Set() };

    // This host first (the host's plumbing, then Neutron's ports bound here), then Docker. The
    // plumbing is read before the ports: a port always exists before its veth (RequestAddress makes
    // it, CreateEndpoint plugs it), so a veth read first has its port in the later list, whereas a
    // veth plugged between a port list and the plumbing read would look like one whose port is gone.
    let ports: NeutronPort[] | undefined;
    let records: HostPlugRecord[] | undefined;
    if (this.settings.bindHost) {
      try {
        const plugged = await this.binders.plugged();
        records = plugged.records;
        for (const w of plugged.warnings) r.skip(`host plumbing: ${w}`);
      } catch (err) {
        r.skip(`host plumbing: could not be read (${describeError(err)})`);
      }
      try {
        ports = await this.neutron.list('ports', { 'binding:host_id': this.settings.hostId });
      } catch (err) {
        r.skip(`ports and host plumbing: Neutron's ports of this host could not be listed (${describeError(err)})`);
      }
    } else {
      r.note('ports and host plumbing: the nested port drivers bind no port to this host, so no port can be told to be this host\'s');
    }
    let docker: DockerView | undefined;
    try {
      docker = await this.#dockerView(r);
    } catch (err) {
      r.skip(`ports, host plumbing and networks: the Docker Engine did not answer (${describeError(err)}); what depends on its endpoints and networks was left alone`);
    }
    if (docker && ports) await this.#ports(r, ports, docker, gone);
    if (docker && ports && records) await this.#host(r, records, ports, docker);
    // CNI attachments do not depend on Docker: their ports and plumbing are judged by the host alone.
    if (ports && records) await this.#cni(r, ports, records);

    try {
      const [nets, subnets] = await Promise.all([this.neutron.list('networks'), this.neutron.list('subnets')]);
      if (docker) await this.#networks(r, nets, docker, gone, subnets);
      await this.#adoptedSubnets(r, nets, subnets, gone);
      await this.#pools(r, subnets, gone);
    } catch (err) {
      r.skip(`networks, subnets and subnet pools: Neutron could not be read (${describeError(err)})`);
    }
    try {
      await this.#groups(r, gone);
    } catch (err) {
      r.skip(`security groups: Neutron could not be read (${describeError(err)})`);
    }
    const report = r.build();
    this.#count(report);
    const last = this.#totals.last!;
    this.log[report.complete ? 'info' : 'warn'](
      { dryRun, removed: last.removed, left: last.left, failed: last.failed, skipped: report.skipped, ms: report.durationMs },
      'reconcile: pass done',
    );
    return report;
  }

  async #dockerView(r: ReportBuilder): Promise<DockerView> {
    const networks = await this.docker.networks();
    const endpoints = new Set<string>();
    // Every network's endpoints count, whatever its driver: another driver name may be another kuryr.
    for (const n of networks) for (const e of (await this.docker.endpoints(n.id)) ?? []) endpoints.add(e);
    const ours = networks.filter((n) => n.driver === this.reconcile.driverName).length;
    r.see(`Docker networks (${ours} of driver ${this.reconcile.driverName})`, networks.length);
    r.see('Docker endpoints', endpoints.size);
    return { networks: new Set(networks.map((n) => n.id)), networkHalves: new Set(networks.map((n) => n.id.slice(0, 32))), endpoints };
  }

  /** Too young to judge: changed within the grace period (or no timestamps). */
  #young(o: { created_at?: string | undefined; updated_at?: string | undefined }): string | undefined {
    const age = ageMs(o, this.now());
    if (age === undefined) return 'Neutron gave no timestamps to judge its age by';
    if (age >= this.reconcile.graceMs) return undefined;
    return `it changed ${Math.max(0, Math.round(age / 1000))} s ago, within the grace period (${Math.round(this.reconcile.graceMs / 1000)} s)`;
  }

  /**
   * Removes (or resets) one leftover; a dry run only reports it. `work`
   * re-checks and acts, and returns why it left the object after all, if it did.
   */
  async #act(r: ReportBuilder, f: Omit<Finding, 'outcome'>, verb: 'remove' | 'reset', work: () => Promise<string | undefined>): Promise<boolean> {
    if (r.dryRun) {
      r.add({ ...f, outcome: verb === 'remove' ? 'would-remove' : 'would-reset' });
      return true;
    }
    try {
      const kept = await work();
      if (kept !== undefined) {
        r.add({ ...f, outcome: 'left', reason: `${f.reason}; but ${kept}` });
        return false;
      }
      r.add({ ...f, outcome: verb === 'remove' ? 'removed' : 'reset' });
      this.log.info({ kind: f.kind, id: f.id, what: f.what, reason: f.reason }, verb === 'remove' ? 'reconcile: removed a leftover' : 'reconcile: reset a pre-created port');
      return true;
    } catch (err) {
      r.add({ ...f, outcome: 'failed', error: describeError(err) });
      this.log.warn({ kind: f.kind, id: f.id, what: f.what, err: describeError(err) }, 'reconcile: could not remove a leftover');
      return false;
    }
  }

  #left(r: ReportBuilder, kind: FindingKind, id: string, what: string, reason: string): void {
    r.add({ kind, id, what, outcome: 'left', reason });
  }

  // ---- Neutron ports bound to this host

  async #ports(r: ReportBuilder, ports: NeutronPort[], docker: DockerView, gone: Gone): Promise<void> {
    for (const p of ports) {
      if (p.device_owner !== DEVICE_OWNER) continue;
      r.see('kuryr ports bound here', 1);
      const mine = isKuryrPort(p);
      const precreated = !mine && p.tags.includes(TAG_PORT_EXISTING);
      const endpointId = endpointOfPort(p);
      const what = describePort(p);
      if (!mine && !precreated) {
        if (endpointId !== undefined && docker.endpoints.has(endpointId)) r.used('port');
        else this.#left(r, 'port', p.id, what, 'device_owner compute:kuryr, but kuryr neither made it (no compute:kuryr tag, not one of its names) nor adopted it: another service prepared it (e.g. Zun)');
        continue;
      }
      if (this.portPool?.holds(p.id)) {
        r.used('port'); // a free pool port, or a released one being reset to be one
        continue;
      }
      let why: string;
      let lost = false;
      if (p.device_id === POOL_DEVICE_ID && endpointId === undefined) {
        if (this.portPool && (!this.portPool.recovered || this.portPool.holds(p.id))) {
          r.used('port'); // the pool's (or, before it recovered from Neutron, maybe)
          continue;
        }
        why = this.portPool ? 'a free pool port the port pool does not hold (left by an earlier run of the daemon)' : 'a free pool port, and port pools are off';
      } else if (endpointId !== undefined) {
        if (docker.endpoints.has(endpointId)) {
          r.used('port');
          continue;
        }
        why = `its Docker endpoint ${short(endpointId)} is gone`;
      } else {
        lost = isRequestDeviceId(p.device_id) && this.ledger.isLost(p.device_id);
        why = lost ? 'made by a RequestAddress of this daemon whose reply was lost; no endpoint took it' : 'made by RequestAddress for an address no endpoint took';
      }
      if (this.ledger.holds(p.id, p.device_id, endpointId)) {
        this.#left(r, 'port', p.id, what, `${why}, but this daemon has it in hand (a request in flight, or handed out moments ago)`);
        continue;
      }
      const young = lost ? undefined : this.#young(p);
      if (young) {
        this.#left(r, 'port', p.id, what, `${why}, but ${young}`);
        continue;
      }
      const verb = mine ? 'remove' : 'reset';
      const done = await this.#act(r, { kind: 'port', id: p.id, what, reason: mine ? why : `a pre-created (user) port: ${why}` }, verb, async () => {
        let now: NeutronPort;
        try {
          now = await this.neutron.show('ports', p.id);
        } catch (err) {
          if (isNotFound(err)) return undefined; // gone meanwhile: nothing left to do
          throw err;
        }
        if (!unchangedSinceListed(p, now)) return 'it changed meanwhile';
        if (this.ledger.holds(p.id, p.device_id, endpointId)) return 'a request for it started meanwhile';
        if (mine) {
          this.portPool?.forget(p.id);
          await this.neutron.delete('ports', p.id);
        } else {
          await resetPrecreatedPort(this.neutron, now);
        }
        if (isRequestDeviceId(p.device_id)) this.ledger.found(p.device_id);
        return undefined;
      });
      if (done && mine) gone.ports.add(p.id);
    }
  }

  // ---- veths and OVS ports on this host

  async #host(r: ReportBuilder, records: HostPlugRecord[], ports: NeutronPort[], docker: DockerView): Promise<void> {
    for (const rec of records) {
      if (isCniEndpointId(rec.endpointId)) continue; // a CNI attachment's (#cni)
      r.see('host plumbing records', 1);
      const what = rec.objects.join(', ');
      if (!rec.endpointId) {
        this.#left(r, 'host', rec.portIds.join(', ') || what, what, 'carries the owner mark but names no Docker endpoint: not provably an endpoint\'s plumbing');
        continue;
      }
      const port = ports.find((p) => rec.portIds.some((id) => p.id.startsWith(id)));
      if (docker.endpoints.has(rec.endpointId)) {
        if (port) r.used('host');
        else this.#left(r, 'host', rec.endpointId, what, `its Docker endpoint ${short(rec.endpointId)} exists but its Neutron port is gone (or bound to another host): left for Docker's DeleteEndpoint`);
        continue;
      }
      const why = port ? `its Docker endpoint ${short(rec.endpointId)} is gone` : `its Docker endpoint ${short(rec.endpointId)} and its Neutron port are gone`;
      if (this.ledger.holds(rec.endpointId, ...rec.portIds, port?.id)) {
        this.#left(r, 'host', rec.endpointId, what, `${why}, but this daemon has it in hand (a request in flight, or handed out moments ago)`);
        continue;
      }
      const young = port ? this.#young(port) : undefined;
      if (young) {
        this.#left(r, 'host', rec.endpointId, what, `${why}, but its port ${young}`);
        continue;
      }
      await this.#act(r, { kind: 'host', id: rec.endpointId, what, reason: why }, 'remove', async () => {
        if (this.ledger.holds(rec.endpointId)) return 'a request for it started meanwhile';
        await this.binders.removeLeftovers(rec.endpointId);
        this.ledger.unbind(rec.endpointId);
        return undefined;
      });
    }
  }

  // ---- CNI attachments on this host

  /**
   * A CNI port bound here whose veth host end is gone (its namespace was
   * deleted without DEL, or ADD crashed before the veth was made) is removed
   * (a pre-created one reset) with what binding left of it; plumbing recorded
   * for an attachment whose port is gone is removed.
   */
  async #cni(r: ReportBuilder, ports: NeutronPort[], records: HostPlugRecord[]): Promise<void> {
    const cniPorts = ports.filter((p) => p.device_owner === CNI_DEVICE_OWNER);
    const cleaned = new Set<string>();
    for (const p of cniPorts) {
      r.see('CNI ports bound here', 1);
      const a = attachmentOfPort(p);
      const eid = a ? cniEndpointId(a.containerId, a.ifname) : undefined;
      // A veth host end records the port's first 11 characters (OVS records the full id).
      if (records.some((rec) => rec.portIds.includes(p.id.slice(0, 11)))) {
        r.used('port');
        continue;
      }
      const what = describePort(p);
      const precreated = p.tags.includes(TAG_PORT_EXISTING);
      const why = `the port of CNI attachment ${a ? `${short(a.containerId)}/${a.ifname}` : '(unknown)'}, whose veth is gone from this host`;
      if (this.ledger.holds(p.id, eid)) {
        this.#left(r, 'port', p.id, what, `${why}, but this daemon has it in hand (a CNI ADD or DEL in flight)`);
        continue;
      }
      const young = this.#young(p);
      if (young) {
        this.#left(r, 'port', p.id, what, `${why}, but ${young}`);
        continue;
      }
      const verb = precreated ? 'reset' : 'remove';
      await this.#act(r, { kind: 'port', id: p.id, what, reason: precreated ? `a pre-created (user) port: ${why}` : why }, verb, async () => {
        let now: NeutronPort;
        try {
          now = await this.neutron.show('ports', p.id);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          now = p;
        }
        if (!unchangedSinceListed(p, now)) return 'it changed meanwhile';
        if (this.ledger.holds(p.id, eid)) return 'a CNI request for it started meanwhile';
        if (eid) await this.binders.removeLeftovers(eid);
        if (precreated) await resetPrecreatedCniPort(this.neutron, now);
        else await this.neutron.delete('ports', p.id);
        return undefined;
      });
      if (eid) cleaned.add(eid);
    }
    for (const rec of records) {
      if (!isCniEndpointId(rec.endpointId) || cleaned.has(rec.endpointId)) continue;
      r.see('CNI host plumbing records', 1);
      if (cniPorts.some((p) => rec.portIds.some((id) => p.id.startsWith(id)))) {
        r.used('host');
        continue;
      }
      const what = rec.objects.join(', ');
      const why = `the host plumbing of CNI attachment ${rec.endpointId}, whose Neutron port is gone (or bound to another host)`;
      if (this.ledger.holds(rec.endpointId, ...rec.portIds)) {
        this.#left(r, 'host', rec.endpointId, what, `${why}, but this daemon has it in hand (a CNI ADD or DEL in flight)`);
        continue;
      }
      await this.#act(r, { kind: 'host', id: rec.endpointId, what, reason: why }, 'remove', async () => {
        if (this.ledger.holds(rec.endpointId)) return 'a CNI request for it started meanwhile';
        await this.binders.removeLeftovers(rec.endpointId);
        return undefined;
      });
    }
  }

  // ---- networks this host made

  async #networks(r: ReportBuilder, nets: NeutronNetwork[], docker: DockerView, gone: Gone, subnets: NeutronSubnet[]): Promise<void> {
    if (!this.index.tagging) {
      r.note('networks: Neutron has no tag extension: which Docker networks use a Neutron network cannot be told; none is removed');
      return;
    }
    if (this.settings.capabilityScope === 'global') {
      r.note('networks: capability_scope = global: one Docker network id lives on several hosts, and only this host\'s Docker can be asked; none is removed');
      return;
    }
    for (const n of nets) {
      const maker = parseNetworkDescription(n.description);
      const halves = n.tags.filter((t) => t.startsWith(TAG_NET_LH)).map((t) => t.slice(TAG_NET_LH.length));
      const adopted = n.tags.some((t) => t.startsWith(TAG_NET_EXISTING));
      if (!maker) {
        if (KURYR_NETWORK_NAME.test(n.name) && !halves.some((h) => docker.networkHalves.has(h))) {
          r.see('networks made here', 1);
          this.#left(r, 'network', n.id, n.name, 'named as kuryr names its networks, but records no maker (made by Kuryr-libnetwork or an earlier kuryr-ts): which host may remove it cannot be told');
        }
        continue;
      }
      if (maker.hostId !== this.settings.hostId) continue; // its maker's to judge
      r.see('networks made here', 1);
      if (docker.networks.has(maker.networkId)) {
        r.used('network');
        continue;
      }
      const others = halves.filter((h) => h !== maker.networkId.slice(0, 32));
      if (others.length > 0 || adopted) {
        if (!adopted && others.every((h) => docker.networkHalves.has(h))) {
          r.used('network'); // this host's other Docker networks use it
          continue;
        }
        this.#left(r, 'network', n.id, n.name, `its Docker network ${short(maker.networkId)} is gone from this host, but other Docker networks reference it (${others.map((h) => h.slice(0, 12)).join(', ') || 'adopted'}): another host's, or leftovers that cannot be attributed`);
        continue;
      }
      const why =
        halves.length === 0
          ? `made on this host for Docker network ${short(maker.networkId)}, never tagged (its CreateNetwork did not finish)`
          : `made on this host for Docker network ${short(maker.networkId)}, which is gone`;
      if (this.ledger.holds(maker.networkId, n.id)) {
        this.#left(r, 'network', n.id, n.name, `${why}, but this daemon has it in hand (a request in flight, or handed out moments ago)`);
        continue;
      }
      const young = this.#young(n);
      if (young) {
        this.#left(r, 'network', n.id, n.name, `${why}, but ${young}`);
        continue;
      }
      const users = (await this.neutron.list('ports', { network_id: n.id })).filter((p) => !NETWORK_OWNED.has(p.device_owner) && !gone.ports.has(p.id));
      if (users.length > 0) {
        const owners = [...new Set(users.map((p) => p.device_owner || 'no owner'))].join(', ');
        this.#left(r, 'network', n.id, n.name, `${why}, but ${users.length} port(s) are on it (${owners})`);
        continue;
      }
      const done = await this.#act(r, { kind: 'network', id: n.id, what: n.name, reason: `${why}; no port on it (its subnets go with it)` }, 'remove', async () => {
        let now: NeutronNetwork;
        try {
          now = await this.neutron.show('networks', n.id);
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
        if (now.tags.some((t) => (t.startsWith(TAG_NET_LH) && !halves.includes(t.slice(TAG_NET_LH.length))) || t.startsWith(TAG_NET_EXISTING))) {
          return 'another Docker network took it meanwhile';
        }
        if (this.ledger.holds(maker.networkId, n.id)) return 'a request for it started meanwhile';
        try {
          await this.neutron.delete('networks', n.id);
        } catch (err) {
          if (err instanceof NeutronError && err.isConflict) return 'Neutron says ports use it';
          throw err;
        }
        return undefined;
      });
      if (done) {
        gone.networks.add(n.id);
        for (const s of subnets) if (s.network_id === n.id) gone.subnets.add(s.id);
      }
    }
  }

  // ---- kuryr's subnets on networks it adopted

  async #adoptedSubnets(r: ReportBuilder, nets: NeutronNetwork[], subnets: NeutronSubnet[], gone: Gone): Promise<void> {
    if (!this.index.tagging || this.settings.capabilityScope === 'global') return;
    const byId = new Map(nets.map((n) => [n.id, n]));
    for (const s of subnets) {
      if (!s.name.startsWith(SUBNET_NAME_PREFIX) || gone.networks.has(s.network_id)) continue;
      const n = byId.get(s.network_id);
      // Kuryr's own networks go whole (above); only the subnets it made on a user's network are judged here.
      if (!n || KURYR_NETWORK_NAME.test(n.name) || parseNetworkDescription(n.description)) continue;
      r.see('kuryr subnets on adopted networks', 1);
      const referenced = (net: NeutronNetwork): boolean => net.tags.some((t) => t.startsWith(TAG_NET_LH) || t.startsWith(TAG_NET_EXISTING));
      if (referenced(n)) {
        r.used('subnet');
        continue;
      }
      const what = `${s.name} on network ${n.name || n.id}`;
      const why = `kuryr's subnet on network ${n.id}, which no Docker network on any host uses any more (it carries no kuryr tag)`;
      const young = this.#young(s) ?? this.#young(n);
      if (young) {
        this.#left(r, 'subnet', s.id, what, `${why}, but ${young}`);
        continue;
      }
      const users = (await this.neutron.list('ports', { fixed_ips: [`subnet_id=${s.id}`] })).filter((p) => !NETWORK_OWNED.has(p.device_owner) && !gone.ports.has(p.id));
      if (users.length > 0) {
        this.#left(r, 'subnet', s.id, what, `${why}, but ${users.length} port(s) have addresses on it`);
        continue;
      }
      const done = await this.#act(r, { kind: 'subnet', id: s.id, what, reason: why }, 'remove', async () => {
        const now = await this.neutron.show('networks', n.id).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
        if (now && referenced(now)) return 'a Docker network took its network meanwhile';
        try {
          await this.neutron.delete('subnets', s.id);
        } catch (err) {
          if (err instanceof NeutronError && err.isConflict) return 'Neutron says ports use it';
          throw err;
        }
        return undefined;
      });
      if (done) gone.subnets.add(s.id);
    }
  }

  // ---- Kuryr subnet pools

  async #pools(r: ReportBuilder, subnets: NeutronSubnet[], gone: Gone): Promise<void> {
    const prefix = `${this.settings.subnetpoolNamePrefix}-`;
    const defaults = [this.settings.defaultSubnetpoolV4, this.settings.defaultSubnetpoolV6];
    const pools = (await this.neutron.list('subnetpools')).filter((p) => p.name.startsWith(prefix) && !defaults.includes(p.name) && !p.tags.includes(TAG_POOL_EXISTING));
    const users = (poolId: string, among: NeutronSubnet[]): NeutronSubnet[] => among.filter((s) => !gone.subnets.has(s.id) && (s.subnetpool_id === poolId || s.tags.includes(poolId)));
    for (const p of pools) {
      r.see('Kuryr subnet pools', 1);
      if (users(p.id, subnets).length > 0) {
        r.used('subnetpool');
        continue;
      }
      const what = `${p.name} (${p.prefixes.join(', ')})`;
      const why = 'a Kuryr subnet pool no subnet comes from or names: the Docker networks it served are gone';
      if (this.ledger.holds(p.id)) {
        this.#left(r, 'subnetpool', p.id, what, `${why}, but this daemon has it in hand (RequestPool handed it out moments ago)`);
        continue;
      }
      const young = this.#young(p);
      if (young) {
        this.#left(r, 'subnetpool', p.id, what, `${why}, but ${young}`);
        continue;
      }
      await this.#act(r, { kind: 'subnetpool', id: p.id, what, reason: why }, 'remove', () => this.#deletePool(p, users));
    }
  }

  async #deletePool(p: NeutronSubnetPool, users: (poolId: string, among: NeutronSubnet[]) => NeutronSubnet[]): Promise<string | undefined> {
    const fresh = [...(await this.neutron.list('subnets', { subnetpool_id: p.id })), ...(this.index.tagging ? await this.neutron.list('subnets', { tags: p.id }) : [])];
    if (users(p.id, fresh).length > 0) return 'a subnet uses it now';
    if (this.ledger.holds(p.id)) return 'RequestPool handed it out meanwhile';
    try {
      await this.neutron.delete('subnetpools', p.id);
    } catch (err) {
      if (err instanceof NeutronError && err.isConflict) return 'Neutron says it is in use';
      throw err;
    }
    return undefined;
  }

  // ---- `--expose` security groups

  async #groups(r: ReportBuilder, gone: Gone): Promise<void> {
    const groups = (await this.neutron.list('security-groups')).filter(
      (g) => portOfExposedPortsGroup(g.name) !== undefined && EXPOSE_GROUP_DESCRIPTION.test(g.description ?? ''),
    );
    if (groups.length === 0) return;
    const portIds = groups.map((g) => portOfExposedPortsGroup(g.name)!);
    const existing = new Set<string>();
    for (let i = 0; i < portIds.length; i += 50) {
      for (const p of await this.neutron.list('ports', { id: portIds.slice(i, i + 50) })) existing.add(p.id);
    }
    for (const g of groups) {
      r.see('--expose groups', 1);
      const portId = portOfExposedPortsGroup(g.name)!;
      if (existing.has(portId) && !gone.ports.has(portId)) {
        r.used('security-group');
        continue;
      }
      const why = `the --expose group of port ${portId}, which is gone`;
      if (this.ledger.holds(portId)) {
        this.#left(r, 'security-group', g.id, g.name, `${why}, but this daemon has it in hand (a request in flight, or handed out moments ago)`);
        continue;
      }
      const young = this.#young(g);
      if (young) {
        this.#left(r, 'security-group', g.id, g.name, `${why}, but ${young}`);
        continue;
      }
      await this.#act(r, { kind: 'security-group', id: g.id, what: g.name, reason: why }, 'remove', () => this.#deleteGroup(g));
    }
  }

  async #deleteGroup(g: NeutronSecurityGroup): Promise<string | undefined> {
    try {
      await this.neutron.delete('security-groups', g.id);
    } catch (err) {
      if (err instanceof NeutronError && err.isConflict) return 'Neutron says a port still uses it';
      throw err;
    }
    return undefined;
  }

  #count(report: ReconcileReport): void {
    const t = this.#totals;
    t.runs += 1;
    this.metrics.count('reconcile_runs', { mode: report.dryRun ? 'dry-run' : 'apply', result: report.complete ? 'complete' : 'incomplete' });
    for (const f of report.findings) this.metrics.count('reconcile_findings', { kind: f.kind, outcome: f.outcome });
    for (const f of report.findings) {
      if (f.outcome === 'removed') t.removed[f.kind] = (t.removed[f.kind] ?? 0) + 1;
      if (f.outcome === 'reset') t.reset += 1;
      if (f.outcome === 'failed') t.failed += 1;
    }
    t.last = {
      at: report.startedAt,
      dryRun: report.dryRun,
      complete: report.complete,
      removed: report.findings.filter((f) => ['removed', 'reset', 'would-remove', 'would-reset'].includes(f.outcome)).length,
      left: report.findings.filter((f) => f.outcome === 'left').length,
      failed: report.findings.filter((f) => f.outcome === 'failed').length,
      skipped: report.skipped,
    };
  }
}

/**
 * What Neutron changes on a port by itself when its data plane reports it up
 * or down (OVN's status, which can arrive many seconds after the veth went):
 * a change of only these claims nothing.
 */
const PORT_STATUS_FIELDS = new Set(['status', 'updated_at', 'revision_number']);

/**
 * Whether a port read again just before its removal is still the port the
 * pass judged: the same in everything but its status (a request that took it
 * meanwhile changes its device_id, host, tags, name, MAC or addresses).
 */
function unchangedSinceListed(listed: NeutronPort, now: NeutronPort): boolean {
  return canonical(listed, PORT_STATUS_FIELDS) === canonical(now, PORT_STATUS_FIELDS);
}

/** A stable text of a Neutron object: keys sorted, tags sorted (Neutron keeps no order for them), `skip` left out. */
function canonical(value: unknown, skip: ReadonlySet<string> = new Set()): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v)).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([k, v]) => !skip.has(k) && v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${JSON.stringify(k)}:${k === 'tags' && Array.isArray(v) ? canonical([...v].sort()) : canonical(v)}`);
  return `{${entries.join(',')}}`;
}
