/**
 * Turns the API's `nets`, `security_groups` and `exposed_ports` into resolved
 * requests before the container row exists (Zun's build_requested_networks):
 * every error here fails the request synchronously with nothing made.
 *
 * The service makes ports with its own (admin) credentials, so it applies the
 * caller's Neutron rights itself: the network must be the caller's project's
 * or shared with it (also behind a Zun network: the Neutron network is looked
 * up as the caller), a fixed IP only on a network of the caller's own project
 * (Neutron's create_port:fixed_ips:ip_address = network owner), a port only of
 * the caller's project. Admins may do all three anywhere.
 */
import type { RequestContext } from './context.js';
import { badRequest, forbidden } from '@kuryr-ts/openstack/errors';
import type { NeutronNetwork } from '@kuryr-ts/openstack/neutron/types';
import type { RequestedNet } from './model.js';
import { isUuidLike, type NeutronLookup } from './neutron-lookup.js';
import { DEFINITION_HOST, type Store } from '../ports/store.js';

export interface NetRequest {
  network?: string | undefined;
  port?: string | undefined;
  'v4-fixed-ip'?: string | undefined;
  'v6-fixed-ip'?: string | undefined;
}

export class NetsResolver {
  constructor(
    readonly store: Store,
    readonly lookup: NeutronLookup,
  ) {}

  async resolve(ctx: RequestContext, nets: readonly NetRequest[] | undefined): Promise<RequestedNet[]> {
    const out: RequestedNet[] = [];
    const entries = nets && nets.length > 0 ? nets : [{}];
    for (const entry of entries) {
      const r = await this.resolveOne(ctx, entry);
      if (out.some((o) => o.neutronNetId === r.neutronNetId)) {
        throw badRequest(`Neutron network ${r.neutronNetId} is requested more than once (one port per network)`, 'ZUN_ERR_DUPLICATE_NETWORK');
      }
      out.push(r);
    }
    return out;
  }

  /** One entry: a user's port, a Zun network, a Neutron network, or (empty) the default network. */
  async resolveOne(ctx: RequestContext, entry: NetRequest): Promise<RequestedNet> {
    if (entry.port) {
      // by id, any project's port is found and then refused with 400 (not usable); by name only visible ones
      const port = await this.lookup.port(isUuidLike(entry.port) ? { ...ctx, isAdmin: true } : ctx, entry.port);
      this.lookup.checkPortUsable(ctx, port);
      const net = await this.lookup.network({ ...ctx, isAdmin: true }, port.network_id);
      this.lookup.checkExternal(ctx, net);
      return { neutronNetId: net.id, portId: port.id, preserveOnDelete: true, ...(await this.#zunNet(net.id)) };
    }
    const fixedIp = entry['v4-fixed-ip'] || entry['v6-fixed-ip'] || undefined;
    if (entry.network) {
      const zun = await this.#zunNetByRef(ctx, entry.network);
      if (zun) {
        // the Zun network is the caller's, its Neutron network must still be usable by them
        const net = await this.lookup.network(ctx, zun.neutronNetId);
        this.lookup.checkExternal(ctx, net);
        if (fixedIp) checkFixedIp(ctx, net, fixedIp);
        return { neutronNetId: zun.neutronNetId, networkUuid: zun.uuid, preserveOnDelete: false, ...(fixedIp ? { fixedIp } : {}) };
      }
      const net = await this.lookup.network(ctx, entry.network);
      this.lookup.checkExternal(ctx, net);
      if (fixedIp) checkFixedIp(ctx, net, fixedIp);
      return { neutronNetId: net.id, preserveOnDelete: false, ...(fixedIp ? { fixedIp } : {}), ...(await this.#zunNet(net.id)) };
    }
    const net = await this.lookup.defaultNetwork(ctx);
    this.lookup.checkExternal(ctx, net);
    return { neutronNetId: net.id, preserveOnDelete: false, ...(await this.#zunNet(net.id)) };
  }

  /** A Zun network (its definition) of the caller's project named (or with the uuid) `ref`. */
  async #zunNetByRef(ctx: RequestContext, ref: string) {
    const byUuid = await this.store.networks.get(ref);
    if (byUuid && byUuid.projectId === ctx.projectId && byUuid.host === DEFINITION_HOST) return byUuid;
    const byName = await this.store.networks.list({ projectId: ctx.projectId, name: ref, host: DEFINITION_HOST });
    return byName.length === 1 ? byName[0] : undefined;
  }

  /** The existing Zun network (any project: one per Neutron net) of a Neutron network. */
  async #zunNet(neutronNetId: string): Promise<{ networkUuid?: string }> {
    const found = await this.store.networks.list({ neutronNetId, host: DEFINITION_HOST });
    return found[0] ? { networkUuid: found[0].uuid } : {};
  }
}

/** A chosen address only on the caller's own network (Neutron's create_port:fixed_ips:ip_address: the network owner or an admin). */
function checkFixedIp(ctx: RequestContext, net: NeutronNetwork, ip: string): void {
  if (ctx.isAdmin || net.project_id === ctx.projectId) return;
  throw forbidden(`A fixed IP (${ip}) can only be chosen on a network of your own project; network ${net.id} is shared with it`, 'ZUN_ERR_FIXED_IP_NOT_ALLOWED');
}

/** Zun's exposed_ports: keys "<port>" or "<port>/<tcp|udp>" → {"80/tcp": {}}; 400 naming the bad value. */
export function normaliseExposedPorts(input: Record<string, unknown> | undefined): Record<string, Record<string, never>> {
  const out: Record<string, Record<string, never>> = {};
  for (const key of Object.keys(input ?? {})) {
    const [port, proto = 'tcp', ...rest] = key.split('/');
    if (rest.length > 0 || !['tcp', 'udp'].includes(proto.toLowerCase())) {
      throw badRequest(`exposed_ports: value ${proto} is an invalid protocol`, 'ZUN_ERR_INVALID_EXPOSED_PORT');
    }
    const n = Number(port);
    if (!/^\d+$/.test(port ?? '') || n < 1 || n > 65535) {
      throw badRequest(`exposed_ports: value ${port} is invalid as publish port`, 'ZUN_ERR_INVALID_EXPOSED_PORT');
    }
    out[`${n}/${proto.toLowerCase()}`] = {};
  }
  return out;
}
