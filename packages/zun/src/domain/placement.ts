/**
 * Where a new container goes. An admin may name the host (Zun's `host`,
 * policy container:create:requested_destination, checked by the caller): it
 * must be configured (404)
 * and answer (409 ZUN_ERR_HOST_DOWN); a disabled host may be requested.
 * Otherwise the least-loaded host among those that are up and not disabled
 * ([scheduler] disabled_hosts), load = the host's containers in the database
 * (any status but Error); ties go to the host listed first. Hosts whose state
 * is not yet known are pinged first; none up → 503 ZUN_ERR_NO_VALID_HOST with
 * each host's reason. The caller pings the candidates (in parallel, each
 * bounded by [docker] ping_timeout, outside any lock) and then, under its
 * placement lock, takes the least loaded of those that answered (`best`) and
 * stores the row: the lock covers database work only, so a hung Docker host
 * never stalls placement on the others.
 */
import type { ComputeHosts, HostHealth } from './compute-hosts.js';
import { unavailable, type AppError } from '@kuryr-ts/openstack/errors';
import type { Store } from '../ports/store.js';

export interface HostLoad {
  name: string;
  state: HostHealth['state'];
  disabled: boolean;
  containers: number;
}

/** Candidate hosts, best first: up and enabled, fewest containers, then configuration order. Pure. */
export function leastLoaded(hosts: readonly HostLoad[]): string[] {
  return hosts
    .map((h, order) => ({ ...h, order }))
    .filter((h) => h.state === 'up' && !h.disabled)
    .sort((a, b) => a.containers - b.containers || a.order - b.order)
    .map((h) => h.name);
}

export class Placement {
  readonly disabled: ReadonlySet<string>;

  constructor(
    readonly hosts: ComputeHosts,
    readonly store: Store,
    disabled: Iterable<string> = [],
  ) {
    this.disabled = new Set(disabled);
  }

  /** Every host with its health, placement flag and load (configuration order). */
  async loads(): Promise<HostLoad[]> {
    const counts = await this.store.containers.countByHost();
    return this.hosts.health().map((h) => ({ name: h.name, state: h.state, disabled: this.disabled.has(h.name), containers: counts[h.name] ?? 0 }));
  }

  /** The hosts to try for a new container, best first (one entry when `requested`; the caller checked the policy). */
  async candidates(requested?: string): Promise<string[]> {
    if (requested !== undefined) {
      await this.hosts.ensureUp(requested, 'place a container there');
      return [requested];
    }
    const unknown = this.hosts.health().filter((h) => h.state === 'unknown' && !this.disabled.has(h.name));
    if (unknown.length > 0) await this.hosts.check(unknown.map((h) => h.name));
    let loads = await this.loads();
    let best = leastLoaded(loads);
    if (best.length === 0) {
      // every enabled host looked down: ask again now, they may be back before the next periodic check
      await this.hosts.check(loads.filter((h) => !h.disabled).map((h) => h.name));
      loads = await this.loads();
      best = leastLoaded(loads);
    }
    if (best.length === 0) throw noValidHost(this.hosts.health(), this.disabled);
    return best;
  }

  /** The least-loaded of `names` (already chosen as candidates that answer), ties to configuration order; undefined when empty. */
  async best(names: readonly string[]): Promise<string | undefined> {
    const counts = await this.store.containers.countByHost();
    const order = this.hosts.names();
    return [...names].sort((a, b) => (counts[a] ?? 0) - (counts[b] ?? 0) || order.indexOf(a) - order.indexOf(b))[0];
  }
}

export function noValidHost(health: readonly HostHealth[], disabled: ReadonlySet<string>): AppError {
  const why = health.map((h) => (disabled.has(h.name) ? `${h.name} is disabled` : `${h.name} is ${h.state}${h.reason ? ` (${h.reason})` : ''}`));
  return unavailable(`No valid host was found to place the container: ${why.join('; ')}`, 'ZUN_ERR_NO_VALID_HOST');
}
