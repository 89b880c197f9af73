/**
 * The compute hosts zun-api places containers on: one Docker engine each
 * (`[compute_hosts]` in zun.conf, or the single `[DEFAULT] host` + `[docker]
 * socket`), named by its binding host id (kuryr's [binding] host_id = the OVN
 * chassis), with a health state from Docker's `/_ping`.
 *
 * `check()` pings (all hosts in parallel, or one); the composition root calls
 * it at start and on a timer, the API on demand (`GET /v1/hosts?refresh`).
 * `ensureUp()` is the gate of operations that must reach a host: a host known
 * up passes at once, any other is pinged first (so a host that came back is
 * usable before the next periodic check). Holds no global state; transitions
 * are logged once.
 */
import { conflict, describeError, notFound, type AppError } from '@kuryr-ts/openstack/errors';
import type { Clock, Logger } from './settings.js';
import type { DockerApi } from '../ports/docker.js';

export interface ComputeHost {
  /** Binding host id of the host's ports (kuryr's [binding] host_id, the OVN chassis name). */
  name: string;
  /** Where its Docker engine listens (for the operator's eyes: unix:///path). */
  endpoint: string;
  docker: DockerApi;
}

export type HostState = 'up' | 'down' | 'unknown';

export interface HostHealth {
  name: string;
  endpoint: string;
  state: HostState;
  /** When the last ping finished (ISO), null before the first. */
  checkedAt: string | null;
  /** Why the host is down (the ping's error), null when up. */
  reason: string | null;
}

export const hostNotFound = (name: string): AppError => notFound(`Compute host ${name} could not be found (not in [compute_hosts] of zun.conf)`, 'ZUN_ERR_HOST_NOT_FOUND');

export const hostDown = (h: HostHealth, what?: string): AppError =>
  conflict(`Compute host ${h.name} is down${h.reason ? ` (${h.reason})` : ''}${what ? `: cannot ${what}` : ''}; retry when it is up (zun host-list)`, 'ZUN_ERR_HOST_DOWN');

export class ComputeHosts {
  readonly #hosts: ReadonlyMap<string, ComputeHost>;
  readonly #health = new Map<string, HostHealth>();

  constructor(
    hosts: readonly ComputeHost[],
    readonly clock: Clock,
    readonly log: Logger,
  ) {
    if (hosts.length === 0) throw new Error('at least one compute host is needed');
    this.#hosts = new Map(hosts.map((h) => [h.name, h]));
    if (this.#hosts.size !== hosts.length) throw new Error('compute host names must be unique');
    for (const h of hosts) this.#health.set(h.name, { name: h.name, endpoint: h.endpoint, state: 'unknown', checkedAt: null, reason: null });
  }

  /** Host names in configuration order. */
  names(): string[] {
    return [...this.#hosts.keys()];
  }

  has(name: string): boolean {
    return this.#hosts.has(name);
  }

  /** The Docker engine of a configured host (no health gate). Unknown host → 404 ZUN_ERR_HOST_NOT_FOUND. */
  docker(name: string): DockerApi {
    const h = this.#hosts.get(name);
    if (!h) throw hostNotFound(name);
    return h.docker;
  }

  /** The last known health of every host (configuration order), or of one. */
  health(): HostHealth[];
  health(name: string): HostHealth;
  health(name?: string): HostHealth | HostHealth[] {
    if (name === undefined) return this.names().map((n) => ({ ...this.#health.get(n)! }));
    const h = this.#health.get(name);
    if (!h) throw hostNotFound(name);
    return { ...h };
  }

  /** Pings every host (in parallel), or the named ones; resolves their new health. Never throws for a down host. */
  async check(names: readonly string[] = this.names()): Promise<HostHealth[]> {
    return Promise.all(names.map((n) => this.#ping(n)));
  }

  /** Records a failure seen by a regular Docker call (the engine stopped answering between pings). */
  markDown(name: string, err: unknown): void {
    this.#set(name, 'down', `Docker is unavailable: ${describeError(err)}`);
  }

  /**
   * The Docker engine of a host that answers: known up → at once; otherwise
   * pinged now. Unknown host → 404; down → 409 ZUN_ERR_HOST_DOWN naming `what`.
   */
  async ensureUp(name: string, what?: string): Promise<DockerApi> {
    const docker = this.docker(name);
    if (this.#health.get(name)!.state === 'up') return docker;
    const h = await this.#ping(name);
    if (h.state !== 'up') throw hostDown(h, what);
    return docker;
  }

  async #ping(name: string): Promise<HostHealth> {
    const docker = this.docker(name);
    try {
      await docker.ping();
      this.#set(name, 'up', null);
    } catch (err) {
      this.#set(name, 'down', `Docker is unavailable: ${describeError(err)}`);
    }
    return { ...this.#health.get(name)! };
  }

  #set(name: string, state: HostState, reason: string | null): void {
    const h = this.#health.get(name);
    if (!h) return;
    if (h.state !== state) {
      if (state === 'up') this.log.info({ host: name, was: h.state }, 'compute host up');
      else this.log.warn({ host: name, was: h.state, reason }, 'compute host down');
    }
    this.#health.set(name, { ...h, state, reason, checkedAt: this.clock.now() });
  }
}
