/**
 * The container service over fakes: the project's in-memory Neutron
 * (@kuryr-ts/openstack/testing/fake-neutron, shared with the driver's tests)
 * and an in-memory DockerApi recording calls, with failure injection by
 * operation name; plus a harness that builds the services exactly as the
 * composition root does over them (one FakeDocker per compute host) and a
 * SQLite :memory: store, and drives the API through fastify inject().
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { buildApi, type AuthMode } from '../src/api/server.js';
import { openStore, type KyselyStore } from '../src/db/kysely-store.js';
import { ComputeHosts } from '../src/domain/compute-hosts.js';
import { ContainerService } from '../src/domain/container-service.js';
import { HostNetworks } from '../src/domain/host-networks.js';
import { HostService } from '../src/domain/host-service.js';
import { NetsResolver } from '../src/domain/nets-resolver.js';
import { NetworkService } from '../src/domain/network-service.js';
import { NeutronLookup } from '../src/domain/neutron-lookup.js';
import { Placement } from '../src/domain/placement.js';
import { SandboxBuilder, type Checkpoint } from '../src/domain/sandbox-builder.js';
import { TopologyService } from '../src/domain/topology-service.js';
import type { Clock, Logger, ZunSettings } from '../src/domain/settings.js';
import {
  DockerRequestError,
  DockerUnavailable,
  type ContainerState,
  type DockerApi,
  type DockerContainerSpec,
  type DockerNetworkInfo,
  type DockerNetworkSpec,
  type EndpointRequest,
} from '../src/ports/docker.js';
import type { Store } from '../src/ports/store.js';

export const silent: Logger = { info() {}, warn() {}, error() {} };

interface FakeContainer {
  id: string;
  spec: DockerContainerSpec;
  running: boolean;
  networks: Map<string, EndpointRequest>;
}

export class FakeDocker implements DockerApi {
  readonly networks = new Map<string, { id: string; spec: DockerNetworkSpec }>();
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Set(['kuryr/busybox:latest', 'kuryr/pause:latest']);
  readonly calls: string[] = [];
  readonly failures = new Map<string, Error>();
  /** op → a promise the op waits for before it acts (to interleave concurrent callers). */
  readonly gates = new Map<string, Promise<void>>();
  down = false;

  #op(op: string): void {
    this.calls.push(op);
    if (this.down) throw new DockerUnavailable('connect ENOENT /var/run/docker.sock');
    const err = this.failures.get(op);
    if (err) {
      this.failures.delete(op);
      throw err;
    }
  }

  async ping(): Promise<void> {
    this.#op('ping');
    await this.gates.get('ping');
  }

  #container(id: string): FakeContainer {
    const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.spec.name === id);
    if (!c) throw new DockerRequestError(404, `No such container: ${id}`);
    return c;
  }

  async createNetwork(spec: DockerNetworkSpec): Promise<string> {
    this.#op('createNetwork');
    await this.gates.get('createNetwork');
    if (this.networks.has(spec.name)) throw new DockerRequestError(409, `network with name ${spec.name} already exists`);
    const id = randomUUID().replace(/-/g, '');
    this.networks.set(spec.name, { id, spec });
    return id;
  }

  async findNetwork(name: string): Promise<DockerNetworkInfo | undefined> {
    this.#op('findNetwork');
    const n = this.networks.get(name);
    if (!n) return undefined;
    const containers = [...this.containers.values()].filter((c) => c.networks.has(name)).length;
    return { id: n.id, name, containers, labels: n.spec.labels };
  }

  async removeNetwork(name: string): Promise<void> {
    this.#op('removeNetwork');
    if ([...this.containers.values()].some((c) => c.networks.has(name))) throw new DockerRequestError(403, `network ${name} has active endpoints`);
    this.networks.delete(name);
  }

  async imageExists(image: string): Promise<boolean> {
    this.#op('imageExists');
    return this.images.has(image.includes(':') ? image : `${image}:latest`);
  }

  async createContainer(spec: DockerContainerSpec): Promise<string> {
    this.#op('createContainer');
    const id = randomUUID().replace(/-/g, '');
    const networks = new Map<string, EndpointRequest>();
    if (spec.endpoint) networks.set(spec.endpoint.network, spec.endpoint);
    this.containers.set(id, { id, spec, running: false, networks });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    this.#op('startContainer');
    this.#container(id).running = true;
  }

  async stopContainer(id: string): Promise<void> {
    this.#op('stopContainer');
    this.#container(id).running = false;
  }

  async removeContainer(id: string, force: boolean): Promise<void> {
    this.#op('removeContainer');
    await this.gates.get('removeContainer');
    const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.spec.name === id);
    if (!c) return;
    if (c.running && !force) throw new DockerRequestError(409, 'container is running');
    this.containers.delete(c.id);
  }

  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    this.#op('inspectContainer');
    const c = this.containers.get(id);
    if (!c) return undefined;
    return { id, running: c.running, status: c.running ? 'running' : 'created', exitCode: 0, networks: Object.fromEntries([...c.networks].map(([n, e]) => [n, { ipv4: e.ipv4 ?? '', ipv6: e.ipv6 ?? '', mac: '' }])) };
  }

  async connectNetwork(network: string, containerId: string, endpoint: EndpointRequest): Promise<void> {
    this.#op('connectNetwork');
    if (!this.networks.has(network)) throw new DockerRequestError(404, `network ${network} not found`);
    this.#container(containerId).networks.set(network, endpoint);
  }

  async disconnectNetwork(network: string, containerId: string): Promise<void> {
    this.#op('disconnectNetwork');
    this.containers.get(containerId)?.networks.delete(network);
  }

  /** Text the next logs/exec answer with (else a line naming the container / the command). */
  output: string | undefined;

  async logs(id: string): Promise<string> {
    this.#op('logs');
    return this.output ?? `logs of ${this.#container(id).spec.name}\n`;
  }

  async exec(id: string, command: string[]): Promise<{ exitCode: number; output: string }> {
    this.#op('exec');
    this.#container(id);
    return { exitCode: 0, output: this.output ?? `ran ${command.join(' ')}\n` };
  }
}

export const settings: ZunSettings = { driverName: 'kuryr', sandboxImage: 'kuryr/pause:latest', stopTimeoutS: 1 };

/** A clock whose time moves 1 ms per reading and whose sleep only yields (it records the waits). */
export function testClock(): Clock & { sleeps: number[] } {
  let n = 0;
  const sleeps: number[] = [];
  return {
    now: () => new Date(Date.UTC(2026, 0, 2, 0, 0, 0, n++)).toISOString(),
    newId: () => randomUUID(),
    sleep: async (ms) => {
      sleeps.push(ms);
      await new Promise((r) => setImmediate(r));
    },
    sleeps,
  };
}

export interface Harness {
  app: FastifyInstance;
  neutron: FakeNeutron;
  /** The first host's Docker. */
  docker: FakeDocker;
  /** Every host's Docker, by host name. */
  dockers: Map<string, FakeDocker>;
  hosts: ComputeHosts;
  store: Store & KyselyStore;
  containers: ContainerService;
  networks: NetworkService;
  hostNetworks: HostNetworks;
  hostService: HostService;
  topology: TopologyService;
  clock: ReturnType<typeof testClock>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Compute host names (default: one, `testhost`). */
  hosts?: string[];
  /** [scheduler] disabled_hosts. */
  disabled?: string[];
  /** Another harness whose store and Neutron this one shares (a second zun-api process on one database). */
  shareWith?: Harness;
  /** The API's authentication (default: noauth, project p1, member). */
  auth?: AuthMode;
  /** The builder's crash-injection seam. */
  checkpoint?: Checkpoint;
  /** Settings over the defaults (limits). */
  settings?: Partial<ZunSettings>;
  /** The API's request body limit. */
  maxBodyBytes?: number;
}

export async function harness(dbUrl = 'sqlite::memory:', opts: HarnessOptions = {}): Promise<Harness> {
  // ports the service makes without a binding host carry none (the service reads them as "not bound by Zun")
  const neutron = opts.shareWith?.neutron ?? new FakeNeutron({ bindingDefaults: false });
  const names = opts.hosts ?? ['testhost'];
  const dockers = new Map(names.map((name) => [name, opts.shareWith?.dockers.get(name) ?? new FakeDocker()]));
  const store = opts.shareWith?.store ?? (await openStore(dbUrl));
  const clock = testClock();
  const hosts = new ComputeHosts(
    names.map((name) => ({ name, endpoint: `unix:///fake/${name}.sock`, docker: dockers.get(name)! })),
    clock,
    silent,
  );
  const lookup = new NeutronLookup(neutron);
  const placement = new Placement(hosts, store, opts.disabled ?? []);
  const s: ZunSettings = { ...settings, ...opts.settings };
  const hostNetworks = new HostNetworks(store, hosts, neutron, s, clock, silent);
  const networks = new NetworkService(store, hostNetworks, hosts, lookup, clock, silent);
  const builder = new SandboxBuilder(store, hosts, neutron, networks, s, clock, silent, opts.checkpoint ? { checkpoint: opts.checkpoint } : {});
  const containers = new ContainerService(store, hosts, placement, lookup, new NetsResolver(store, lookup), builder, s, clock, silent);
  const hostService = new HostService(hosts, placement);
  const topology = new TopologyService(store, hosts, neutron, clock);
  const app = buildApi({
    networks,
    containers,
    hosts: hostService,
    topology,
    auth: opts.auth ?? { kind: 'noauth', projectId: 'p1', userId: 'u1' },
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  });
  return {
    app,
    neutron,
    docker: dockers.get(names[0]!)!,
    dockers,
    hosts,
    store,
    containers,
    networks,
    hostNetworks,
    hostService,
    topology,
    clock,
    close: async () => {
      await app.close();
      if (!opts.shareWith) await store.close();
    },
  };
}

/** Headers of a caller: project and roles (noauth mode reads them). */
export const as = (project: string, roles = 'member'): Record<string, string> => ({
  'x-project-id': project,
  'x-user-id': `user-of-${project}`,
  'x-roles': roles,
  'openstack-api-version': 'container 1.40',
});

/** A cloud admin: the admin role in the admin project (whose id is `project`, its name `admin`). */
export const asAdmin = (project = 'p1'): Record<string, string> => ({ ...as(project, 'admin,member'), 'x-project-name': 'admin' });

/** The user workflow's Neutron resources: testnet / testpool / testsubnet 10.2.0.0/24 in project p1. */
export function seedWorkflow(neutron: FakeNeutron, project = 'p1') {
  const net = neutron.add('networks', { name: 'testnet', project_id: project, shared: false });
  const pool = neutron.add('subnetpools', { name: 'testpool', project_id: project, shared: false, prefixes: ['10.2.0.0/16'] });
  const subnet = neutron.add('subnets', { name: 'testsubnet', network_id: net.id, project_id: project, ip_version: 4, cidr: '10.2.0.0/24', gateway_ip: '10.2.0.1', subnetpool_id: pool.id });
  return { net, pool, subnet };
}
