/**
 * The compute hosts as the API shows them (Zun's `GET /v1/hosts`, admin only:
 * host:get_all / host:get): name, health from the last Docker ping (or a fresh
 * one with `refresh`), whether placement skips it, and its container count.
 */
import { hostNotFound, type ComputeHosts, type HostHealth } from './compute-hosts.js';
import type { RequestContext } from './context.js';
import { forbidden } from '@kuryr-ts/openstack/errors';
import type { Placement } from './placement.js';

export interface HostReport extends HostHealth {
  /** Not chosen by least-loaded placement ([scheduler] disabled_hosts). */
  disabled: boolean;
  /** Containers on the host (every status but Error). */
  containers: number;
}

export class HostService {
  constructor(
    readonly hosts: ComputeHosts,
    readonly placement: Placement,
  ) {}

  async list(ctx: RequestContext, refresh = false): Promise<HostReport[]> {
    if (!ctx.isAdmin) throw forbidden('Policy doesn\'t allow host:get_all to be performed.', 'ZUN_ERR_POLICY');
    if (refresh) await this.hosts.check();
    return this.#reports();
  }

  async get(ctx: RequestContext, name: string, refresh = false): Promise<HostReport> {
    if (!ctx.isAdmin) throw forbidden('Policy doesn\'t allow host:get to be performed.', 'ZUN_ERR_POLICY');
    if (!this.hosts.has(name)) throw hostNotFound(name);
    if (refresh) await this.hosts.check([name]);
    return (await this.#reports()).find((r) => r.name === name)!;
  }

  async #reports(): Promise<HostReport[]> {
    const loads = new Map((await this.placement.loads()).map((l) => [l.name, l]));
    return this.hosts.health().map((h) => ({ ...h, disabled: loads.get(h.name)?.disabled ?? false, containers: loads.get(h.name)?.containers ?? 0 }));
  }
}
