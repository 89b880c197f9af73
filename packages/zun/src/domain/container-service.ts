/**
 * Containers: create (placed on a compute host, 202, then built in the
 * background by SandboxBuilder on that host), list/show in the caller's
 * project, start/stop/delete with Zun's state rules, logs and exec, and the
 * network actions (attach, detach, list). Every Docker operation goes to the
 * container's host (`container.host`), which must answer (409
 * ZUN_ERR_HOST_DOWN otherwise, nothing changed). Lookups are by uuid or name,
 * scoped to the project (another project's container is 404).
 */
import { KeyedMutex } from '@kuryr-ts/openstack/lib/keyed-mutex';
import { hostDown, type ComputeHosts } from './compute-hosts.js';
import type { RequestContext } from './context.js';
import { scopeOf } from './context.js';
import { badRequest, conflict, describeError, forbidden, notFound } from '@kuryr-ts/openstack/errors';
import { dockerFailure } from './docker-errors.js';
import type { NetworkAttachment, ZunContainer } from './model.js';
import { normaliseExposedPorts, type NetRequest, type NetsResolver } from './nets-resolver.js';
import type { NeutronLookup } from './neutron-lookup.js';
import type { Placement } from './placement.js';
import type { SandboxBuilder } from './sandbox-builder.js';
import { DEFAULT_OUTPUT_BYTES, type Clock, type Logger, type ZunSettings } from './settings.js';
import { DockerUnavailable, type DockerApi } from '../ports/docker.js';
import type { Store } from '../ports/store.js';

export interface ContainerCreateInput {
  name?: string | undefined;
  image: string;
  command?: string[] | undefined;
  environment?: Record<string, string> | undefined;
  workdir?: string | undefined;
  hostname?: string | undefined;
  nets?: NetRequest[] | undefined;
  securityGroups?: string[] | undefined;
  exposedPorts?: Record<string, unknown> | undefined;
  /** Requested compute host (admin only, Zun's `host` ≥1.39); else the least-loaded healthy host. */
  host?: string | undefined;
  run: boolean;
}

export interface ContainerDetail {
  container: ZunContainer;
  attachments: NetworkAttachment[];
}

export class ContainerService {
  readonly #jobs = new Set<Promise<void>>();
  /** Placement and the row's insert are one step, so concurrent creates see each other's load. */
  readonly #placing = new KeyedMutex();

  constructor(
    readonly store: Store,
    readonly hosts: ComputeHosts,
    readonly placement: Placement,
    readonly lookup: NeutronLookup,
    readonly nets: NetsResolver,
    readonly builder: SandboxBuilder,
    readonly settings: ZunSettings,
    readonly clock: Clock,
    readonly log: Logger,
  ) {}

  /** Validates and resolves everything against Neutron, stores the row (Creating) and builds in the background. */
  async create(ctx: RequestContext, input: ContainerCreateInput): Promise<ContainerDetail> {
    if (input.securityGroups?.length && input.exposedPorts && Object.keys(input.exposedPorts).length > 0) {
      throw badRequest('security_groups and exposed_ports cannot be used together', 'ZUN_ERR_SG_WITH_EXPOSED_PORTS');
    }
    const exposedPorts = normaliseExposedPorts(input.exposedPorts);
    if (input.host !== undefined && !ctx.isAdmin) throw forbidden('Policy doesn\'t allow container:create:requested_destination to be performed.', 'ZUN_ERR_POLICY');
    const requestedNets = await this.nets.resolve(ctx, input.nets);
    const securityGroups = await this.lookup.securityGroups(ctx, input.securityGroups ?? []);
    const alive = await this.#answering(input);
    // the lock covers the load read and the row's insert only (database work): concurrent creates see each other's rows
    return this.#placing.run('placement', async () => {
      const host = (await this.placement.best(alive))!;
      return this.#insert(ctx, input, host, requestedNets, securityGroups, exposedPorts);
    });
  }

  /**
   * The candidate hosts whose Docker engine answers now: the requested one, or
   * every enabled host that is up, pinged in parallel, each ping bounded by
   * [docker] ping_timeout (a candidate that stopped answering since the last
   * round is marked down). None → 503 (409 for a requested host) with nothing
   * made; a missing image is the build's Error, as Zun's pull failure.
   */
  async #answering(input: ContainerCreateInput): Promise<string[]> {
    const candidates = await this.placement.candidates(input.host);
    let lastErr: unknown;
    const answers = await Promise.all(
      candidates.map(async (host) => {
        try {
          await this.hosts.docker(host).ping();
          return host;
        } catch (err) {
          this.hosts.markDown(host, err);
          lastErr = err;
          return undefined;
        }
      }),
    );
    const alive = answers.filter((h): h is string => h !== undefined);
    if (alive.length > 0) return alive;
    if (input.host !== undefined) throw hostDown(this.hosts.health(input.host), 'place a container there');
    throw dockerFailure(`checking the Docker engine of host ${candidates.join(', ')}`, lastErr instanceof DockerUnavailable ? lastErr : new DockerUnavailable(describeError(lastErr)));
  }

  async #insert(
    ctx: RequestContext,
    input: ContainerCreateInput,
    host: string,
    requestedNets: ZunContainer['requestedNets'],
    securityGroups: string[],
    exposedPorts: ZunContainer['exposedPorts'],
  ): Promise<ContainerDetail> {
    const uuid = this.clock.newId();
    const now = this.clock.now();
    const c: ZunContainer = {
      uuid,
      name: input.name ?? `zun-${uuid.slice(0, 8)}`,
      projectId: ctx.projectId,
      userId: ctx.userId,
      image: input.image,
      command: input.command ?? [],
      environment: input.environment ?? {},
      workdir: input.workdir ?? null,
      hostname: input.hostname ?? null,
      status: 'Creating',
      statusReason: null,
      taskState: 'container_creating',
      host,
      containerId: null,
      sandboxId: null,
      securityGroups,
      exposedPorts,
      exposedSgId: null,
      autoStart: input.run,
      requestedNets,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.containers.insert(c);
    this.#background(c.uuid, async () => {
      await this.builder.checkpoint('container recorded', c.uuid);
      const result = await this.builder.build(ctx, c);
      // only a row still Creating takes the result (a recovery elsewhere may have ended it)
      const taken = await this.store.containers.transition(c.uuid, { status: ['Creating'] }, { ...result, updatedAt: this.clock.now() });
      this.log.info({ container: c.uuid, status: result.status, reason: result.statusReason, recorded: taken }, 'container create finished');
    });
    return { container: c, attachments: [] };
  }

  /**
   * After a restart, what a dead process left half-done is finished:
   * - containers left Creating or Deleting are torn down (Docker containers by
   *   name, ports by the attachment rows and by device_id, the exposed-ports
   *   group by name) and marked Error; on a host that is down they are only
   *   marked Error (`zun delete` cleans them once it is back);
   * - attachments left pending (an attach or detach that died) are removed,
   *   port included, when their host answers;
   * - a task_state left behind (network_attaching, …) is cleared.
   * It assumes the interrupted work's process is gone: run one zun-api per
   * database, or restart them one at a time when they are idle.
   * Returns how many containers and attachments it repaired.
   */
  async recover(): Promise<number> {
    let repaired = 0;
    const up = async (host: string): Promise<boolean> => (await this.hosts.check([host]))[0]?.state === 'up';
    const stuck = (await this.store.containers.list({})).filter((c) => this.hosts.has(c.host) && (c.status === 'Creating' || c.status === 'Deleting'));
    for (const c of stuck) {
      repaired++;
      const reason = `zun-api restarted while the container was ${c.status}`;
      if (!(await up(c.host))) {
        await this.store.containers.update(c.uuid, { status: 'Error', statusReason: `${reason}; host ${c.host} is down: delete the container once it is back`, taskState: null, updatedAt: this.clock.now() });
        this.log.warn({ container: c.uuid, was: c.status, host: c.host }, 'interrupted container on a host that is down: marked Error');
        continue;
      }
      try {
        await this.builder.teardown(c);
        await this.store.containers.update(c.uuid, { status: 'Error', statusReason: reason, taskState: null, sandboxId: null, containerId: null, exposedSgId: null, updatedAt: this.clock.now() });
      } catch (err) {
        await this.store.containers.update(c.uuid, { status: 'Error', statusReason: `${reason}; cleanup failed: ${describeError(err)}`, taskState: null, updatedAt: this.clock.now() });
      }
      this.log.warn({ container: c.uuid, was: c.status }, 'recovered an interrupted container');
    }
    for (const a of await this.store.attachments.listPending()) {
      const c = await this.store.containers.get(a.containerUuid);
      if (!c || !this.hosts.has(c.host) || c.status === 'Creating' || c.status === 'Deleting') continue;
      if (!(await up(c.host))) {
        this.log.warn({ container: c.uuid, attachment: a.uuid, host: c.host }, 'interrupted network attach/detach on a host that is down: left for the next start');
        continue;
      }
      repaired++;
      try {
        await this.builder.detach(c, a);
        this.log.warn({ container: c.uuid, network: a.neutronNetId, port: a.portId || null }, 'removed an interrupted network attach/detach');
      } catch (err) {
        this.log.error({ container: c.uuid, attachment: a.uuid, err: describeError(err) }, 'removing an interrupted network attach/detach failed');
      }
    }
    for (const c of await this.store.containers.list({})) {
      if (c.taskState === null || c.status === 'Creating' || c.status === 'Deleting' || !this.hosts.has(c.host)) continue;
      await this.store.containers.transition(c.uuid, { status: [c.status], taskState: c.taskState }, { taskState: null, updatedAt: this.clock.now() });
    }
    return repaired;
  }

  /** Resolves when every background job has finished (tests, graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }

  #background(uuid: string, work: () => Promise<void>): void {
    const job = work()
      .catch((err: unknown) => this.log.error({ container: uuid, err: describeError(err) }, 'background job failed'))
      .finally(() => this.#jobs.delete(job));
    this.#jobs.add(job);
  }

  async list(ctx: RequestContext, allProjects = false): Promise<ContainerDetail[]> {
    const rows = await this.store.containers.list({ projectId: scopeOf(ctx, allProjects) });
    return Promise.all(rows.map(async (container) => ({ container, attachments: await this.#complete(container.uuid) })));
  }

  /** `allProjects` (admins): the uuid or name is looked up in every project. */
  async get(ctx: RequestContext, ident: string, allProjects = false): Promise<ContainerDetail> {
    const container = await this.#find(ctx, ident, allProjects);
    return { container, attachments: await this.#complete(container.uuid) };
  }

  /** The attachments users see: those whose attach is complete. */
  async #complete(containerUuid: string): Promise<NetworkAttachment[]> {
    return (await this.store.attachments.listByContainer(containerUuid)).filter((a) => !a.pending);
  }

  /**
   * Takes the container for one action (compare-and-set on status and
   * task_state): exactly one concurrent caller wins, the others answer 409
   * ZUN_ERR_CONTAINER_BUSY (or ZUN_ERR_INVALID_STATE when the status moved).
   */
  async #claim(c: ZunContainer, action: string, allowed: readonly ZunContainer['status'][], patch: Partial<ZunContainer>): Promise<void> {
    const won = await this.store.containers.transition(c.uuid, { status: allowed, taskState: null }, { ...patch, updatedAt: this.clock.now() });
    if (won) return;
    const now = await this.store.containers.get(c.uuid);
    if (!now) throw notFound(`Container ${c.uuid} could not be found`, 'ZUN_ERR_CONTAINER_NOT_FOUND');
    if (!allowed.includes(now.status)) throw conflict(`Cannot ${action} container ${c.uuid} in ${now.status} state.`, 'ZUN_ERR_INVALID_STATE');
    throw conflict(`Container ${c.uuid} is busy (${now.taskState ?? 'another request'}): cannot ${action} it now; retry`, 'ZUN_ERR_CONTAINER_BUSY');
  }

  /** Ends an action taken by #claim (clears its task_state; the status only when still the one it left). */
  async #release(c: ZunContainer, task: string, patch: Partial<ZunContainer> = {}): Promise<void> {
    await this.store.containers.transition(c.uuid, { status: [c.status], taskState: task }, { ...patch, taskState: null, updatedAt: this.clock.now() });
  }

  async #find(ctx: RequestContext, ident: string, allProjects = false): Promise<ZunContainer> {
    const projectId = scopeOf(ctx, allProjects);
    const byUuid = await this.store.containers.get(ident);
    if (byUuid && (projectId === undefined || byUuid.projectId === projectId)) return byUuid;
    const byName = await this.store.containers.list({ projectId, name: ident });
    if (byName.length === 0) throw notFound(`Container ${ident} could not be found`, 'ZUN_ERR_CONTAINER_NOT_FOUND');
    if (byName.length > 1) throw conflict(`Multiple containers exist with same name ${ident}. Please use the container uuid instead.`, 'ZUN_ERR_AMBIGUOUS_NAME');
    return byName[0]!;
  }

  /** The Docker engine of the container's host, when it answers (409 ZUN_ERR_HOST_DOWN / ZUN_ERR_HOST_NOT_CONFIGURED otherwise). */
  async #dockerOf(c: ZunContainer, action: string): Promise<DockerApi> {
    if (!this.hosts.has(c.host)) {
      throw conflict(`Container ${c.uuid} is on host ${c.host}, which is not in [compute_hosts]: cannot ${action} it`, 'ZUN_ERR_HOST_NOT_CONFIGURED');
    }
    return this.hosts.ensureUp(c.host, `${action} container ${c.uuid}`);
  }

  /** A Docker call for a container: an unreachable engine marks its host down; errors name the host. */
  async #onHost<T>(c: ZunContainer, step: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DockerUnavailable) this.hosts.markDown(c.host, err);
      throw dockerFailure(`${step} on host ${c.host}`, err);
    }
  }

  #requireState(c: ZunContainer, action: string, allowed: readonly ZunContainer['status'][]): void {
    if (!allowed.includes(c.status)) {
      throw conflict(`Cannot ${action} container ${c.uuid} in ${c.status} state.`, 'ZUN_ERR_INVALID_STATE');
    }
  }

  async start(ctx: RequestContext, ident: string): Promise<ContainerDetail> {
    const c = await this.#find(ctx, ident);
    this.#requireState(c, 'start', ['Created', 'Stopped']);
    const docker = await this.#dockerOf(c, 'start');
    await this.#claim(c, 'start', ['Created', 'Stopped'], { taskState: 'container_starting' });
    const taken = { ...c, taskState: 'container_starting' };
    try {
      await this.#onHost(c, `starting container ${c.uuid}`, async () => {
        const sandbox = await docker.inspectContainer(c.sandboxId!);
        if (!sandbox?.running) await docker.startContainer(c.sandboxId!);
        await docker.startContainer(c.containerId!);
      });
    } catch (err) {
      await this.#release(taken, 'container_starting');
      throw err;
    }
    await this.#release(taken, 'container_starting', { status: 'Running' });
    return this.get(ctx, c.uuid);
  }

  async stop(ctx: RequestContext, ident: string, timeoutS?: number): Promise<ContainerDetail> {
    const c = await this.#find(ctx, ident);
    this.#requireState(c, 'stop', ['Running']);
    const docker = await this.#dockerOf(c, 'stop');
    await this.#claim(c, 'stop', ['Running'], { taskState: 'container_stopping' });
    const taken = { ...c, taskState: 'container_stopping' };
    try {
      await this.#onHost(c, `stopping container ${c.uuid}`, () => docker.stopContainer(c.containerId!, timeoutS ?? this.settings.stopTimeoutS));
    } catch (err) {
      await this.#release(taken, 'container_stopping');
      throw err;
    }
    await this.#release(taken, 'container_stopping', { status: 'Stopped' });
    return this.get(ctx, c.uuid);
  }

  /** Zun: `force` is admin-only (container:delete_force); a running container needs stop or force. */
  async delete(ctx: RequestContext, ident: string, opts: { force?: boolean; stop?: boolean; allProjects?: boolean } = {}): Promise<void> {
    if (opts.force && !ctx.isAdmin) throw forbidden('Policy doesn\'t allow container:delete_force to be performed.', 'ZUN_ERR_POLICY');
    const c = await this.#find(ctx, ident, opts.allProjects);
    if (c.status === 'Creating' || c.status === 'Deleting') {
      throw conflict(`Cannot delete container ${c.uuid} in ${c.status} state.`, 'ZUN_ERR_INVALID_STATE');
    }
    if (c.status === 'Running' && !opts.force && !opts.stop) {
      throw conflict(`Cannot delete container ${c.uuid} in Running state: stop it first, or delete with stop (--stop) or force.`, 'ZUN_ERR_INVALID_STATE');
    }
    // a host removed from the configuration: an admin's force delete cleans the Neutron side and the rows (its Docker is gone)
    const withoutDocker = !this.hosts.has(c.host) && opts.force === true;
    const docker = withoutDocker ? undefined : await this.#dockerOf(c, 'delete');
    // one winner: the status moves to Deleting only from the state this caller saw, with no other action running
    const from: ZunContainer['status'][] = c.status === 'Running' ? ['Running'] : ['Created', 'Stopped', 'Error'];
    await this.#claim(c, 'delete', from, { status: 'Deleting', taskState: 'container_deleting' });
    if (docker && c.status === 'Running' && opts.stop && c.containerId) {
      // a graceful stop first; teardown removes it with force anyway
      await this.#onHost(c, `stopping container ${c.uuid}`, () => docker.stopContainer(c.containerId!, this.settings.stopTimeoutS)).catch((err: unknown) =>
        this.log.warn({ container: c.uuid, err: describeError(err) }, 'stop before delete failed; removing with force'),
      );
    }
    try {
      await this.builder.teardown(c, { withoutDocker });
    } catch (err) {
      await this.store.containers.update(c.uuid, { status: 'Error', statusReason: `delete failed: ${describeError(err)}`, taskState: null, updatedAt: this.clock.now() });
      throw err;
    }
    await this.store.containers.delete(c.uuid);
  }

  async logs(ctx: RequestContext, ident: string, opts: { stdout: boolean; stderr: boolean; tail?: number }): Promise<string> {
    const c = await this.#find(ctx, ident);
    if (!c.containerId) throw conflict(`Container ${c.uuid} has no Docker container (status ${c.status})`, 'ZUN_ERR_INVALID_STATE');
    const docker = await this.#dockerOf(c, 'read the logs of');
    const max = this.settings.maxLogBytes ?? DEFAULT_OUTPUT_BYTES;
    const text = await this.#onHost(c, `reading logs of ${c.uuid}`, () => docker.logs(c.containerId!, { ...opts, maxBytes: max }));
    return capOutput(text, max, 'tail', '[api] max_log_bytes');
  }

  async execute(ctx: RequestContext, ident: string, command: string[]): Promise<{ output: string; exit_code: number }> {
    const c = await this.#find(ctx, ident);
    this.#requireState(c, 'execute on', ['Running']);
    const docker = await this.#dockerOf(c, 'execute in');
    const max = this.settings.maxExecOutputBytes ?? DEFAULT_OUTPUT_BYTES;
    const timeoutS = this.settings.execTimeoutS ?? 300;
    const r = await this.#onHost(c, `executing in ${c.uuid}`, () => docker.exec(c.containerId!, command, { maxBytes: max, timeoutMs: timeoutS * 1000 }));
    const output = capOutput(r.output, max, 'head', '[api] max_exec_output_bytes');
    return { output: r.timedOut ? `${output}\n[zun-api stopped waiting after ${timeoutS} s ([docker] exec_timeout); the command may still run]\n` : output, exit_code: r.exitCode };
  }

  /** network_attach: `network` (Zun or Neutron, name or id) or `port`, optional fixed_ip; the default network when neither. */
  async networkAttach(ctx: RequestContext, ident: string, q: { network?: string; port?: string; fixedIp?: string }): Promise<void> {
    if (q.network && q.port) throw badRequest('network and port cannot be given together', 'ZUN_ERR_INVALID');
    const c = await this.#find(ctx, ident);
    this.#requireState(c, 'attach a network to', ['Created', 'Running', 'Stopped']);
    const ip = q.network ? q.fixedIp : undefined;
    const entry = { network: q.network, port: q.port, ...(ip ? (ip.includes(':') ? { 'v6-fixed-ip': ip } : { 'v4-fixed-ip': ip }) : {}) };
    const req = await this.nets.resolveOne(ctx, entry);
    const attached = await this.store.attachments.listByContainer(c.uuid);
    if (attached.some((a) => a.neutronNetId === req.neutronNetId)) {
      throw badRequest(`Network ${req.neutronNetId} is already connected to container ${c.uuid}`, 'ZUN_ERR_ALREADY_ATTACHED');
    }
    await this.#dockerOf(c, 'attach a network to');
    // one attach, detach or delete at a time per container (the unique (container, network) key backs it across processes)
    await this.#claim(c, 'attach a network to', [c.status], { taskState: 'network_attaching' });
    try {
      await this.builder.attach(ctx, c, req);
    } finally {
      await this.#release({ ...c, taskState: 'network_attaching' }, 'network_attaching');
    }
  }

  /** network_detach: exactly one of `network` or `port`; detaches the whole network. */
  async networkDetach(ctx: RequestContext, ident: string, q: { network?: string; port?: string }): Promise<void> {
    if (!q.network === !q.port) throw badRequest('exactly one of network or port is required', 'ZUN_ERR_INVALID');
    const c = await this.#find(ctx, ident);
    const attached = await this.#complete(c.uuid);
    let target: NetworkAttachment | undefined;
    if (q.port) {
      const port = await this.lookup.port(ctx, q.port);
      target = attached.find((a) => a.portId === port.id);
      if (!target) throw badRequest(`Port ${q.port} is not attached to container ${c.uuid}`, 'ZUN_ERR_NOT_ATTACHED');
    } else {
      const ref = q.network!;
      target = attached.find((a) => a.networkUuid === ref || a.neutronNetId === ref);
      if (!target) {
        const zun = await this.builder.networks.find(ctx, ref);
        const netId = zun?.neutronNetId ?? (await this.lookup.network(ctx, ref)).id;
        target = attached.find((a) => a.neutronNetId === netId);
      }
      if (!target) throw badRequest(`Network ${ref} is not attached to container ${c.uuid}`, 'ZUN_ERR_NOT_ATTACHED');
    }
    await this.#dockerOf(c, 'detach a network from');
    await this.#claim(c, 'detach a network from', [c.status], { taskState: 'network_detaching' });
    try {
      // a concurrent detach of the same attachment that won first has removed the row: nothing left to do
      if (!(await this.store.attachments.listByContainer(c.uuid)).some((a) => a.uuid === target.uuid)) {
        throw badRequest(`Network ${target.neutronNetId} is not attached to container ${c.uuid}`, 'ZUN_ERR_NOT_ATTACHED');
      }
      await this.builder.detach(c, target);
    } finally {
      await this.#release({ ...c, taskState: 'network_detaching' }, 'network_detaching');
    }
  }

  async networkList(ctx: RequestContext, ident: string): Promise<NetworkAttachment[]> {
    const c = await this.#find(ctx, ident);
    return this.#complete(c.uuid);
  }
}

/**
 * Output over `max` bytes (UTF-8): logs keep their end, exec output its start,
 * and a marker line says what was cut and which option sets the limit.
 */
export function capOutput(text: string, max: number, keep: 'head' | 'tail', option: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  const marker = `[output truncated by zun-api: only the ${keep === 'tail' ? 'last' : 'first'} ${max} bytes are shown (${option})]`;
  return keep === 'tail' ? `${marker}\n${bytes.subarray(bytes.length - max).toString('utf8')}` : `${bytes.subarray(0, max).toString('utf8')}\n${marker}\n`;
}
