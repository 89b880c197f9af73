/**
 * Name-or-id resolution of Neutron resources in the caller's project, with
 * Zun's rules: a uuid-like reference is looked up by id, anything else by
 * name; another project's (non-shared) object is invisible (404, not 403);
 * 0 matches → 404, more than one → 409 "use the id". Also the checks Zun makes
 * on a user's pre-created port and on external networks.
 */
import type { RequestContext } from './context.js';
import { badRequest, conflict, forbidden, notFound } from './errors.js';
import type { NNetwork, NPort, NResource, NSubnet, NSubnetPool, NTypes, ZunNeutron } from '../ports/neutron.js';

const UUID_LIKE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
export const isUuidLike = (s: string): boolean => UUID_LIKE.test(s);

const LABEL: Record<NResource, string> = {
  networks: 'Neutron network',
  subnets: 'Neutron subnet',
  subnetpools: 'Neutron subnet pool',
  ports: 'Neutron port',
  'security-groups': 'security group',
  'security-group-rules': 'security group rule',
};
const CODE: Partial<Record<NResource, string>> = {
  networks: 'ZUN_ERR_NETWORK_NOT_FOUND',
  subnets: 'ZUN_ERR_SUBNET_NOT_FOUND',
  subnetpools: 'ZUN_ERR_POOL_NOT_FOUND',
  ports: 'ZUN_ERR_PORT_NOT_FOUND',
};

/** Port statuses Zun refuses for a user's port (it is in use by something). */
const BUSY_STATUSES = ['ACTIVE', 'BUILD', 'ERROR'];

export class NeutronLookup {
  constructor(readonly neutron: ZunNeutron) {}

  visible(ctx: RequestContext, res: { project_id?: string; shared?: boolean }): boolean {
    return ctx.isAdmin || res.project_id === ctx.projectId || res.shared === true;
  }

  async #resolve<R extends 'networks' | 'subnets' | 'subnetpools' | 'ports' | 'security-groups'>(
    ctx: RequestContext,
    resource: R,
    ref: string,
    extra: Record<string, string> = {},
  ): Promise<NTypes[R]> {
    const label = LABEL[resource];
    let matches: Array<NTypes[R]>;
    if (isUuidLike(ref)) {
      const one = await this.neutron.find(resource, ref);
      matches = one && Object.entries(extra).every(([k, v]) => (one as unknown as Record<string, unknown>)[k] === v) ? [one] : [];
    } else {
      matches = await this.neutron.list(resource, { name: ref, ...extra });
    }
    matches = matches.filter((m) => this.visible(ctx, m as { project_id?: string; shared?: boolean }));
    if (matches.length === 0) throw notFound(`${label} ${ref} could not be found`, CODE[resource]);
    if (matches.length > 1) throw conflict(`Multiple ${label}s named ${ref} exist; use the id`, 'ZUN_ERR_AMBIGUOUS_NAME');
    return matches[0]!;
  }

  network(ctx: RequestContext, ref: string): Promise<NNetwork> {
    return this.#resolve(ctx, 'networks', ref);
  }

  subnet(ctx: RequestContext, ref: string, networkId: string): Promise<NSubnet> {
    return this.#resolve(ctx, 'subnets', ref, { network_id: networkId });
  }

  pool(ctx: RequestContext, ref: string): Promise<NSubnetPool> {
    return this.#resolve(ctx, 'subnetpools', ref);
  }

  port(ctx: RequestContext, ref: string): Promise<NPort> {
    return this.#resolve(ctx, 'ports', ref);
  }

  /** Zun's checks on a user's pre-created port (→ 400). */
  checkPortUsable(ctx: RequestContext, port: NPort): void {
    if (port.project_id !== ctx.projectId) {
      throw badRequest(`Port ${port.id} belongs to another project and cannot be used`, 'ZUN_ERR_PORT_NOT_USABLE');
    }
    if (port.device_id) throw badRequest(`Port ${port.id} is still in use (device_id ${port.device_id})`, 'ZUN_ERR_PORT_IN_USE');
    if (BUSY_STATUSES.includes(port.status) || port['binding:host_id']) {
      throw badRequest(`Port ${port.id} is bound (status ${port.status}) and cannot be used`, 'ZUN_ERR_PORT_NOT_USABLE');
    }
    if (port['binding:vif_type'] === 'binding_failed') {
      throw badRequest(`Binding failed for port ${port.id}`, 'ZUN_ERR_PORT_BINDING_FAILED');
    }
  }

  /** router:external and not shared → 403 unless admin (network:attach_external_network). */
  checkExternal(ctx: RequestContext, net: NNetwork): void {
    if (net['router:external'] && !net.shared && !ctx.isAdmin) {
      throw forbidden(`It is not allowed to create an interface on external network ${net.id}`, 'ZUN_ERR_EXTERNAL_NETWORK');
    }
  }

  /** Zun's default network: the project's non-shared networks first, then shared ones, oldest first; none → 409. */
  async defaultNetwork(ctx: RequestContext): Promise<NNetwork> {
    const byAge = (a: NNetwork, b: NNetwork): number => (a.created_at ?? '').localeCompare(b.created_at ?? '');
    const own = (await this.neutron.list('networks', { project_id: ctx.projectId, shared: false })).sort(byAge);
    const pick = own[0] ?? (await this.neutron.list('networks', { shared: true })).sort(byAge)[0];
    if (!pick) throw conflict('There is no neutron network available', 'ZUN_ERR_NO_NETWORK');
    return pick;
  }

  /** Names or ids → ids, de-duplicated; ambiguous → 409, missing → 400 (Zun). */
  async securityGroups(ctx: RequestContext, refs: readonly string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const ref of [...new Set(refs)]) {
      let sg;
      try {
        sg = await this.#resolve(ctx, 'security-groups', ref, isUuidLike(ref) ? {} : { project_id: ctx.projectId });
      } catch (err) {
        if ((err as { status?: number }).status === 404) throw badRequest(`Security group ${ref} not found`, 'ZUN_ERR_SG_NOT_FOUND');
        throw err;
      }
      if (!ids.includes(sg.id)) ids.push(sg.id);
    }
    return ids;
  }
}
