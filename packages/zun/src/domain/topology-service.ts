/**
 * The topology the live view draws: Neutron networks → their Docker network
 * on each compute host → containers → ports (addresses, MAC, status, binding
 * host), with the health of the compute hosts (the last periodic Docker ping,
 * never a new one: the view polls) and of the ports (Neutron's status).
 *
 * Scoped like the listings: a member sees their project's networks and
 * containers; an admin sees every project's. Compute host names, endpoints and
 * ping errors are admin-only (host:get_all; container:get_one:host): members
 * see the hosts that carry their objects under stable aliases (`host-1` is the
 * first configured host), and binding hosts under the same aliases.
 *
 * Neutron is asked for the networks and the ports by id (IN-list requests of
 * at most 80 ids: two calls for a small project); when Neutron does not answer, the model is still built from the store, its
 * Neutron fields null and `neutron.reachable` false.
 */
import { describeError } from '@kuryr-ts/openstack/errors';
import type { NeutronNetwork, NeutronPort, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import type { ComputeHosts, HostState } from './compute-hosts.js';
import type { RequestContext } from './context.js';
import type { ContainerStatus, NetworkAttachment, ZunContainer, ZunNetwork } from './model.js';
import type { Clock } from './settings.js';
import type { ZunNeutron } from '../ports/neutron.js';
import { DEFINITION_HOST, type Store } from '../ports/store.js';

/** Ids per Neutron list request. */
const ID_CHUNK = 80;

export interface TopologyHost {
  /** The configured name (admins) or its alias (members). */
  name: string;
  state: HostState;
  checkedAt: string | null;
  /** Admins only: the Docker endpoint and why the host is down. */
  endpoint?: string;
  reason?: string | null;
}

export interface TopologyDockerNetwork {
  host: string;
  dockerName: string;
  dockerId: string | null;
}

export interface TopologyNetwork {
  uuid: string;
  name: string;
  projectId: string;
  neutronNetId: string;
  /** Null when Neutron did not answer or no longer has the network. */
  neutron: { name: string; status: string; shared: boolean } | null;
  dockerNetworks: TopologyDockerNetwork[];
}

export interface TopologyPort {
  portId: string;
  networkUuid: string;
  neutronNetId: string;
  macAddress: string;
  addresses: string[];
  /** Neutron's port status (ACTIVE, DOWN, BUILD, ERROR); UNKNOWN when Neutron did not answer or lost the port. */
  status: string;
  adminStateUp: boolean | null;
  /** The port's binding host (alias for members); null when unbound or unknown. */
  bindingHost: string | null;
}

export interface TopologyContainer {
  uuid: string;
  name: string;
  projectId: string;
  status: ContainerStatus;
  /** Its compute host (alias for members); null before placement. */
  host: string | null;
  ports: TopologyPort[];
}

export interface Topology {
  generatedAt: string;
  /** Whose objects: the caller's project, or every project (admins). */
  scope: { projectId: string; allProjects: boolean };
  neutron: { reachable: boolean; error: string | null };
  hosts: TopologyHost[];
  networks: TopologyNetwork[];
  containers: TopologyContainer[];
}

export class TopologyService {
  constructor(
    readonly store: Store,
    readonly hosts: ComputeHosts,
    readonly neutron: ZunNeutron,
    readonly clock: Clock,
  ) {}

  async build(ctx: RequestContext): Promise<Topology> {
    const projectId = ctx.isAdmin ? undefined : ctx.projectId;
    const [rows, containers] = await Promise.all([this.store.networks.list({ projectId }), this.store.containers.list({ projectId })]);
    const attachments = new Map<string, NetworkAttachment[]>();
    await Promise.all(containers.map(async (c) => attachments.set(c.uuid, await this.store.attachments.listByContainer(c.uuid))));

    const defs = rows.filter((r) => r.host === DEFINITION_HOST);
    const portIds = [...attachments.values()].flat().map((a) => a.portId);
    const neutron = await this.#neutron(
      defs.map((d) => d.neutronNetId),
      portIds,
    );

    const names = this.hosts.names();
    const alias = (host: string | null | undefined): string | null => {
      if (!host) return null;
      if (ctx.isAdmin) return host;
      const i = names.indexOf(host);
      return i < 0 ? 'other host' : `host-${i + 1}`;
    };

    const networks = defs.map((d) => this.#network(d, rows, neutron.networks.get(d.neutronNetId), alias));
    const topoContainers = containers.map((c) => this.#container(c, attachments.get(c.uuid) ?? [], neutron.ports, alias));

    // Admins see every compute host; members the hosts that carry their networks or containers
    const used = new Set<string>([...rows.map((r) => r.host), ...containers.map((c) => c.host)].filter(Boolean));
    const hosts = this.hosts
      .health()
      .filter((h) => ctx.isAdmin || used.has(h.name))
      .map((h): TopologyHost => (ctx.isAdmin ? { name: h.name, state: h.state, checkedAt: h.checkedAt, endpoint: h.endpoint, reason: h.reason } : { name: alias(h.name)!, state: h.state, checkedAt: h.checkedAt }));

    return {
      generatedAt: this.clock.now(),
      scope: { projectId: ctx.projectId, allProjects: ctx.isAdmin },
      neutron: { reachable: neutron.error === null, error: neutron.error },
      hosts,
      networks,
      containers: topoContainers,
    };
  }

  async #neutron(netIds: string[], portIds: string[]) {
    const networks = new Map<string, NeutronNetwork>();
    const ports = new Map<string, NeutronPort>();
    try {
      const [nets, prts] = await Promise.all([this.#byIds('networks', netIds), this.#byIds('ports', portIds)]);
      for (const n of nets) networks.set(n.id, n);
      for (const p of prts) ports.set(p.id, p);
      return { networks, ports, error: null };
    } catch (err) {
      return { networks, ports, error: describeError(err) };
    }
  }

  /** Neutron objects by id, in IN-list requests of at most ID_CHUNK ids (a URL stays well under server limits). */
  async #byIds<R extends 'networks' | 'ports'>(resource: R, ids: string[]): Promise<Array<ResourceTypes[R]>> {
    const unique = [...new Set(ids)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += ID_CHUNK) chunks.push(unique.slice(i, i + ID_CHUNK));
    return (await Promise.all(chunks.map((id) => this.neutron.list(resource, { id })))).flat();
  }

  #network(def: ZunNetwork, rows: ZunNetwork[], net: NeutronNetwork | undefined, alias: (h: string) => string | null): TopologyNetwork {
    return {
      uuid: def.uuid,
      name: def.name,
      projectId: def.projectId,
      neutronNetId: def.neutronNetId,
      neutron: net ? { name: net.name, status: net.status ?? 'UNKNOWN', shared: net.shared === true } : null,
      dockerNetworks: rows
        .filter((r) => r.host !== DEFINITION_HOST && r.neutronNetId === def.neutronNetId && r.projectId === def.projectId)
        .map((r) => ({ host: alias(r.host)!, dockerName: r.dockerName, dockerId: r.dockerId })),
    };
  }

  #container(c: ZunContainer, atts: NetworkAttachment[], ports: Map<string, NeutronPort>, alias: (h: string | null | undefined) => string | null): TopologyContainer {
    return {
      uuid: c.uuid,
      name: c.name,
      projectId: c.projectId,
      status: c.status,
      host: alias(c.host),
      ports: atts.map((a) => {
        const p = ports.get(a.portId);
        return {
          portId: a.portId,
          networkUuid: a.networkUuid,
          neutronNetId: a.neutronNetId,
          macAddress: p?.mac_address ?? a.macAddress,
          addresses: p ? p.fixed_ips.map((f) => f.ip_address) : a.addresses.map((r) => r.addr),
          status: p?.status ?? 'UNKNOWN',
          adminStateUp: p ? p.admin_state_up : null,
          bindingHost: alias(p?.['binding:host_id']),
        };
      }),
    };
  }
}
