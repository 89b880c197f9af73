/**
 * Name-or-id resolution of Neutron resources in the caller's project, with
 * Zun's rules: a uuid-like reference is looked up by id, anything else by
 * name; another project's (non-shared) object is invisible (404, not 403);
 * 0 matches → 404, more than one → 409 "use the id". Also the checks Zun makes
 * on a user's pre-created port and on external networks.
 */
import type { RequestContext } from './context.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '@kuryr-ts/openstack/errors';
import type { NeutronNetwork, NeutronPort, NeutronSubnet, NeutronSubnetPool, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import type { ZunNeutron } from '../ports/neutron.js';
import { findNeutron } from './neutron-find.js';

const UUID_LIKE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
export const isUuidLike = (s: string): boolean => UUID_LIKE.test(s);

/** The resources a caller names by name or id. */
type Named = 'networks' | 'subnets' | 'subnetpools' | 'ports' | 'security-groups';

const LABEL: Record<Named, string> = {
  networks: 'Neutron network',
  subnets: 'Neutron subnet',
  subnetpools: 'Neutron subnet pool',
  ports: 'Neutron port',
  'security-groups': 'security group',
};
/** Not found → 404 with these codes; a security group is 400 ZUN_ERR_SG_NOT_FOUND (securityGroups). */
const CODE: Record<Named, string> = {
  networks: 'ZUN_ERR_NETWORK_NOT_FOUND',
  subnets: 'ZUN_ERR_SUBNET_NOT_FOUND',
  subnetpools: 'ZUN_ERR_POOL_NOT_FOUND',
  ports: 'ZUN_ERR_PORT_NOT_FOUND',
  'security-groups': 'ZUN_ERR_SG_NOT_FOUND',
};

/** Port statuses Zun refuses for a user's port (it is in use by something). */
const BUSY_STATUSES = ['ACTIVE', 'BUILD', 'ERROR'];

export class NeutronLookup {
  constructor(readonly neutron: ZunNeutron) {}

  visible(ctx: RequestContext, res: { project_id?: string; shared?: boolean }): boolean {
    return ctx.isAdmin || res.project_id === ctx.projectId || res.shared === true;
  }

  async #resolve<R extends Named>(
    ctx: RequestContext,
    resource: R,
    ref: string,
    extra: Record<string, string> = {},
  ): Promise<ResourceTypes[R]> {
    const label = LABEL[resource];
    let matches: Array<ResourceTypes[R]>;
    if (isUuidLike(ref)) {
      const one = await findNeutron(this.neutron, resource, ref);
      matches = one && Object.entries(extra).every(([k, v]) => Reflect.get(one, k) === v) ? [one] : [];
    } else {
      matches = await this.neutron.list(resource, { name: ref, ...extra });
    }
    matches = matches.filter((m) => this.visible(ctx, m));
    if (matches.length === 0) throw notFound(`${label} ${ref} could not be found`, CODE[resource]);
    if (matches.length > 1) throw conflict(`Multiple ${label}s named ${ref} exist; use the id`, 'ZUN_ERR_AMBIGUOUS_NAME');
    return matches[0]!;
  }

  network(ctx: RequestContext, ref: string): Promise<NeutronNetwork> {
    return this.#resolve(ctx, 'networks', ref);
  }

  subnet(ctx: RequestContext, ref: string, networkId: string): Promise<NeutronSubnet> {
    return this.#resolve(ctx, 'subnets', ref, { network_id: networkId });
  }

  pool(ctx: RequestContext, ref: string): Promise<NeutronSubnetPool> {
    return this.#resolve(ctx, 'subnetpools', ref);
  }

  port(ctx: RequestContext, ref: string): Promise<NeutronPort> {
    return this.#resolve(ctx, 'ports', ref);
  }

  /** Zun's checks on a user's pre-created port (→ 400). */
  checkPortUsable(ctx: RequestContext, port: NeutronPort): void {
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
  checkExternal(ctx: RequestContext, net: NeutronNetwork): void {
    if (net['router:external'] && !net.shared && !ctx.isAdmin) {
      throw forbidden(`It is not allowed to create an interface on external network ${net.id}`, 'ZUN_ERR_EXTERNAL_NETWORK');
    }
  }

  /** Zun's default network: the project's non-shared networks first, then shared ones, oldest first; none → 409. */
  async defaultNetwork(ctx: RequestContext): Promise<NeutronNetwork> {
    const byAge = (a: NeutronNetwork, b: NeutronNetwork): number => (a.created_at ?? '').localeCompare(b.created_at ?? '');
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
        if (err instanceof AppError && err.kind === 'not-found') throw badRequest(`Security group ${ref} not found`, 'ZUN_ERR_SG_NOT_FOUND');
        throw err;
      }
      if (!ids.includes(sg.id)) ids.push(sg.id);
    }
    return ids;
  }
}
