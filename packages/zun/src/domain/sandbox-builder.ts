/**
 * The Docker side of a container, on its compute host (`container.host`; runs
 * after the API's 202, in process):
 *   exposed-ports security group → ports (pre-created / claimed) → sandbox
 *   (pause image) on the first network with that port's IP and MAC → the other
 *   networks connected with their ports' IPs → sandbox started → app container
 *   in the sandbox's network and IPC namespaces → started (run).
 * Each network's Docker network is made on the host when it has none yet
 * (HostNetworks).
 * Every step records its undo; a failure anywhere undoes the earlier steps
 * (ports deleted or unbound, containers removed, SG deleted) and the caller
 * marks the container Error with the reason. Teardown is the same in reverse
 * and idempotent.
 *
 * Crash safety: nothing is made outside the database without an identity
 * known beforehand — the container row exists (Creating) before the build,
 * an attachment row (pending) before its port, ports carry device_id = the
 * container uuid, the exposed-ports group is named zun-<uuid>, Docker
 * containers zun-sandbox-<uuid> / zun-<uuid>. So teardown (delete, or the
 * recovery after a restart) finds and removes what a create made whatever
 * moment it died at. A `checkpoint` hook runs between the steps: a no-op in
 * service, the crash-injection seam of the tests.
 */
import { withUndo, type UndoStack } from '@kuryr-ts/openstack/lib/undo';
import type { ComputeHosts } from './compute-hosts.js';
import type { RequestContext } from './context.js';
import { badRequest, describeError, internal, notFound } from '@kuryr-ts/openstack/errors';
import { dockerFailure } from './docker-errors.js';
import type { NetworkAttachment, RequestedNet, ZunContainer, ZunNetwork } from './model.js';
import type { NetworkService } from './network-service.js';
import { ipVersion, PortPlumbing, sweepPorts } from './port-plumbing.js';
import type { Clock, Logger, ZunSettings } from './settings.js';
import { DockerUnavailable, type DockerApi, type EndpointRequest } from '../ports/docker.js';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import type { ZunNeutron } from '../ports/neutron.js';
import { findNeutron } from './neutron-find.js';
import { NO_PORT_YET, type Store } from '../ports/store.js';

export const sandboxName = (uuid: string): string => `zun-sandbox-${uuid}`;
export const appName = (uuid: string): string => `zun-${uuid}`;
/** The exposed-ports security group of a container (its name is its identity: found again after a crash). */
export const exposedGroupName = (uuid: string): string => `zun-${uuid}`;

/**
 * Runs between two steps of a create, attach or detach (`step` names the one
 * just done). Resolving continues; a hook that never resolves is a process
 * that died there. Per instance, no global state.
 */
export type Checkpoint = (step: string, containerUuid: string) => Promise<void>;
const noCheckpoint: Checkpoint = async () => undefined;

export interface SandboxBuilderOptions {
  checkpoint?: Checkpoint;
}

export class SandboxBuilder {
  readonly plumbing: PortPlumbing;
  readonly checkpoint: Checkpoint;

  constructor(
    readonly store: Store,
    readonly hosts: ComputeHosts,
    readonly neutron: ZunNeutron,
    readonly networks: NetworkService,
    readonly settings: ZunSettings,
    readonly clock: Clock,
    readonly log: Logger,
    opts: SandboxBuilderOptions = {},
  ) {
    this.plumbing = new PortPlumbing(neutron);
    this.checkpoint = opts.checkpoint ?? noCheckpoint;
  }

  #report = (step: string, err: unknown): void => this.log.error({ step, err: describeError(err) }, 'undo step failed');

  /** Builds the container; resolves the fields to save (never throws: failures become status Error). */
  async build(ctx: RequestContext, c: ZunContainer): Promise<Partial<ZunContainer>> {
    try {
      const docker = this.hosts.docker(c.host);
      const step = <T>(what: string, fn: () => Promise<T>): Promise<T> => this.#step(c.host, what, fn);
      const done = (what: string): Promise<void> => this.checkpoint(what, c.uuid);
      return await withUndo(this.#report, async (undo) => {
        await this.#checkImage(docker, c.host, c.image);
        await this.#checkImage(docker, c.host, this.settings.sandboxImage);
        await done('images checked');
        const sgs = await this.#exposedSecurityGroup(c, undo);
        const withSgs = sgs ? { ...c, securityGroups: [sgs], exposedSgId: sgs } : c;
        if (sgs) {
          await this.store.containers.update(c.uuid, { securityGroups: [sgs], exposedSgId: sgs });
          await done('security group recorded');
        }
        const attached: Array<{ net: ZunNetwork; port: NeutronPort }> = [];
        for (const [i, req] of c.requestedNets.entries()) {
          const a = await this.#attachPort(ctx, withSgs, req, i === 0, undo);
          await this.store.attachments.update(a.row.uuid, { pending: false });
          await done('attachment complete');
          attached.push(a);
        }
        const [first, ...rest] = attached;
        if (!first) throw internal('Unexpected missing of addresses', 'ZUN_ERR_NO_ADDRESS');
        const sandboxId = await step('creating the sandbox container', () =>
          docker.createContainer({
            name: sandboxName(c.uuid),
            image: this.settings.sandboxImage,
            ...(c.hostname ? { hostname: c.hostname } : { hostname: sandboxName(c.uuid).slice(0, 63) }),
            labels: { 'zun.container.uuid': c.uuid, 'zun.role': 'sandbox' },
            networkMode: first.net.dockerName,
            // the app container joins the sandbox's IPC namespace too (Docker's default is private)
            ipcMode: 'shareable',
            endpoint: endpointOf(first.net.dockerName, first.port),
            macAddress: first.port.mac_address,
            // exposed ports are not handed to Docker: the service's own group zun-<uuid> opens them, and
            // kuryr (process_external_connectivity) would add a second group for the same ports
          }),
        );
        undo.push('remove sandbox', () => docker.removeContainer(sandboxId, true));
        await done('sandbox created');
        await this.store.containers.update(c.uuid, { sandboxId });
        await done('sandbox recorded');
        for (const { net, port } of rest) {
          await step(`connecting the sandbox to ${net.dockerName}`, () => docker.connectNetwork(net.dockerName, sandboxId, endpointOf(net.dockerName, port)));
          await done('sandbox connected');
        }
        await step('starting the sandbox (network plumbing by kuryr)', () => docker.startContainer(sandboxId));
        await done('sandbox started');
        const containerId = await step('creating the container', () =>
          docker.createContainer({
            name: appName(c.uuid),
            image: c.image,
            ...(c.command.length > 0 ? { command: c.command } : {}),
            ...(Object.keys(c.environment).length > 0 ? { env: c.environment } : {}),
            ...(c.workdir ? { workdir: c.workdir } : {}),
            labels: { 'zun.container.uuid': c.uuid, 'zun.role': 'app' },
            networkMode: `container:${sandboxId}`,
            ipcMode: `container:${sandboxId}`,
          }),
        );
        undo.push('remove container', () => docker.removeContainer(containerId, true));
        await done('container created');
        if (c.autoStart) {
          await step('starting the container', () => docker.startContainer(containerId));
          await done('container started');
        }
        return { containerId, sandboxId, status: c.autoStart ? 'Running' : 'Created', statusReason: null, taskState: null, requestedNets: [] } as Partial<ZunContainer>;
      });
    } catch (err) {
      this.log.warn({ container: c.uuid, err: describeError(err) }, 'container create failed; undone');
      return { status: 'Error', statusReason: describeError(err), taskState: null, sandboxId: null, containerId: null, exposedSgId: null, securityGroups: c.securityGroups };
    }
  }

  /**
   * One requested network: its attachment row is written first (pending, the
   * intent; a user's port id is known then), then the port is claimed or
   * created (device_id = the container uuid), then the row gets the port. The
   * undo releases the port and drops the row. The caller clears `pending`.
   */
  async #attachPort(
    ctx: RequestContext,
    c: ZunContainer,
    req: RequestedNet,
    primary: boolean,
    undo: UndoStack,
  ): Promise<{ net: ZunNetwork; port: NeutronPort; row: NetworkAttachment }> {
    const def = (req.networkUuid ? await this.store.networks.get(req.networkUuid) : undefined) ?? (await this.#definitionOf(ctx, req.neutronNetId));
    // the network's Docker network on the container's host (made there on first use); the attachment refers to that row
    const zn = await this.networks.hostNetworks.ensure(def, c.host);
    const intent: NetworkAttachment = {
      uuid: this.clock.newId(),
      containerUuid: c.uuid,
      networkUuid: zn.uuid,
      neutronNetId: zn.neutronNetId,
      portId: req.portId ?? NO_PORT_YET,
      macAddress: '',
      addresses: [],
      preserveOnDelete: req.portId !== undefined,
      projectId: c.projectId,
      createdAt: this.clock.now(),
      pending: true,
    };
    await this.store.attachments.insert(intent);
    undo.push('delete attachment row', () => this.store.attachments.delete(intent.uuid));
    undo.push('sweep ports not recorded', () => sweepPorts(this.plumbing, c, new Set(req.portId ? [req.portId] : []), zn.neutronNetId));
    await this.checkpoint('attachment recorded', c.uuid);
    const { port, created } = await this.plumbing.claim(c, req, zn, primary);
    undo.push(`release port ${port.id}`, () => this.plumbing.release(port.id, !created, c.uuid));
    await this.checkpoint(created ? 'port created' : 'port claimed', c.uuid);
    const recorded = {
      portId: port.id,
      macAddress: port.mac_address ?? '',
      addresses: port.fixed_ips.map((f) => ({ addr: f.ip_address, version: ipVersion(f.ip_address), subnet_id: f.subnet_id })),
    };
    await this.store.attachments.update(intent.uuid, recorded);
    await this.checkpoint('port recorded', c.uuid);
    return { net: zn, port, row: { ...intent, ...recorded } };
  }

  /** exposed_ports → security group zun-<uuid>, one ingress rule per port and IP version (Zun's were IPv4 only). */
  async #exposedSecurityGroup(c: ZunContainer, undo: UndoStack): Promise<string | undefined> {
    const keys = Object.keys(c.exposedPorts);
    if (keys.length === 0) return undefined;
    const sg = await this.neutron.create('security-groups', { name: exposedGroupName(c.uuid), project_id: c.projectId, description: `exposed ports of container ${c.uuid}` });
    undo.push(`delete security group ${sg.id}`, () => this.neutron.delete('security-groups', sg.id));
    await this.checkpoint('security group created', c.uuid);
    for (const key of keys) {
      const [port, protocol] = key.split('/');
      for (const ethertype of ['IPv4', 'IPv6']) {
        await this.neutron.create('security-group-rules', {
          security_group_id: sg.id,
          direction: 'ingress',
          ethertype,
          protocol,
          port_range_min: Number(port),
          port_range_max: Number(port),
          remote_ip_prefix: ethertype === 'IPv4' ? '0.0.0.0/0' : '::/0',
        });
        await this.checkpoint('security group rule created', c.uuid);
      }
    }
    return sg.id;
  }

  /** The network of a Neutron network named only by id in `nets` (recorded lazily, as Zun). */
  async #definitionOf(ctx: RequestContext, neutronNetId: string): Promise<ZunNetwork> {
    const net = await findNeutron(this.neutron, 'networks', neutronNetId);
    if (!net) throw notFound(`Neutron network ${neutronNetId} could not be found`, 'ZUN_ERR_NETWORK_NOT_FOUND');
    return this.networks.ensureDefinition({ ...ctx, isAdmin: true }, net);
  }

  async #checkImage(docker: DockerApi, host: string, image: string): Promise<void> {
    const ok = await this.#step(host, `looking up image ${image}`, () => docker.imageExists(image));
    if (!ok) throw badRequest(`Image ${image} could not be found on host ${host}`, 'ZUN_ERR_IMAGE_NOT_FOUND');
  }

  /** A Docker step on `host`: failures become coded errors naming the host; an unreachable engine marks the host down. */
  async #step<T>(host: string, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DockerUnavailable) this.hosts.markDown(host, err);
      throw dockerFailure(`${what} on host ${host}`, err);
    }
  }

  /** Connects a container's sandbox to one more network (network_attach); undone on failure; the row stays pending until Docker connected it. */
  async attach(ctx: RequestContext, c: ZunContainer, req: RequestedNet): Promise<void> {
    const docker = this.hosts.docker(c.host);
    await withUndo(this.#report, async (undo) => {
      const { net, port, row } = await this.#attachPort(ctx, c, req, false, undo);
      if (c.sandboxId) {
        await this.#step(c.host, `connecting the sandbox to ${net.dockerName}`, () => docker.connectNetwork(net.dockerName, c.sandboxId!, endpointOf(net.dockerName, port)));
        undo.push(`disconnect from ${net.dockerName}`, () => docker.disconnectNetwork(net.dockerName, c.sandboxId!));
        await this.checkpoint('sandbox connected', c.uuid);
      }
      await this.store.attachments.update(row.uuid, { pending: false });
    });
  }

  /**
   * Removes one attachment (network_detach, or finishing one a dead process
   * left pending): the row is marked pending first, then Docker disconnects,
   * then its port is always released (Zun's finally) — with any port of that
   * network that still names the container — and the row dropped.
   */
  async detach(c: ZunContainer, a: NetworkAttachment): Promise<void> {
    if (!a.pending) await this.store.attachments.update(a.uuid, { pending: true });
    await this.checkpoint('detach recorded', c.uuid);
    const net = await this.store.networks.get(a.networkUuid);
    const docker = this.hosts.docker(c.host);
    try {
      if (net && c.sandboxId) await this.#step(c.host, `disconnecting from ${net.dockerName}`, () => docker.disconnectNetwork(net.dockerName, c.sandboxId!));
      await this.checkpoint('sandbox disconnected', c.uuid);
    } finally {
      await this.plumbing.release(a.portId, a.preserveOnDelete, c.uuid);
      const others = (await this.store.attachments.listByContainer(c.uuid)).filter((o) => o.uuid !== a.uuid);
      await sweepPorts(this.plumbing, c, new Set([a.portId, ...others.map((o) => o.portId)].filter(Boolean)), a.neutronNetId);
      await this.checkpoint('port released', c.uuid);
      await this.store.attachments.delete(a.uuid);
    }
  }

  /**
   * Removes everything a container has: the app container, the sandbox (Docker
   * and kuryr leave its networks; both found by name when their ids were
   * never recorded), its ports (deleted, or unbound when the user's; found by
   * the attachment rows and by device_id = the container uuid), the attachment
   * rows and the exposed-ports security group (by id and by its name).
   * Idempotent; keeps going past failures and throws the first at the end.
   * `withoutDocker`: the host is gone from the configuration (admin force
   * delete): only the Neutron side and the rows are cleaned.
   */
  async teardown(c: ZunContainer, opts: { withoutDocker?: boolean } = {}): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.log.error({ container: c.uuid, step: what, err: describeError(err) }, 'teardown step failed');
        errors.push(dockerFailure(what, err));
      }
    };
    if (!opts.withoutDocker) {
      const docker = this.hosts.docker(c.host);
      await attempt(`removing the container on host ${c.host}`, () => docker.removeContainer(c.containerId ?? appName(c.uuid), true));
      await attempt(`removing the sandbox on host ${c.host}`, () => docker.removeContainer(c.sandboxId ?? sandboxName(c.uuid), true));
    }
    if (errors.length > 0) throw errors[0];
    const rows = await this.store.attachments.listByContainer(c.uuid);
    for (const a of rows) await attempt(`releasing port ${a.portId || '(not recorded)'}`, () => this.plumbing.release(a.portId, a.preserveOnDelete, c.uuid));
    const users = new Set(rows.filter((a) => a.preserveOnDelete && a.portId).map((a) => a.portId));
    await attempt(`releasing the ports of container ${c.uuid}`, () => sweepPorts(this.plumbing, c, users));
    if (errors.length === 0) for (const a of rows) await attempt('deleting an attachment row', () => this.store.attachments.delete(a.uuid));
    await attempt(`deleting the exposed-ports security group of ${c.uuid}`, async () => {
      const named = await this.neutron.list('security-groups', { name: exposedGroupName(c.uuid), project_id: c.projectId });
      const ids = new Set([...(c.exposedSgId ? [c.exposedSgId] : []), ...named.filter((g) => g.name === exposedGroupName(c.uuid)).map((g) => g.id)]);
      for (const id of ids) await this.neutron.delete('security-groups', id);
    });
    if (errors.length > 0) throw errors[0];
  }
}

function endpointOf(network: string, port: NeutronPort): EndpointRequest {
  const v4 = port.fixed_ips.find((f) => ipVersion(f.ip_address) === 4)?.ip_address;
  const v6 = port.fixed_ips.find((f) => ipVersion(f.ip_address) === 6)?.ip_address;
  return { network, ...(v4 ? { ipv4: v4 } : {}), ...(v6 ? { ipv6: v6 } : {}) };
}
