/** Domain records → Zun's JSON views. `host` is shown to admins only (container:get_one:host). */
import type { RequestContext } from '../domain/context.js';
import type { ContainerDetail } from '../domain/container-service.js';
import type { NetworkAttachment, ZunNetwork } from '../domain/model.js';

export function networkView(n: ZunNetwork, ctx: RequestContext, base: string): Record<string, unknown> {
  return {
    uuid: n.uuid,
    name: n.name,
    project_id: n.projectId,
    user_id: n.userId,
    network_id: n.dockerId,
    neutron_net_id: n.neutronNetId,
    neutron_subnet_id: n.neutronSubnetId,
    neutron_subnet_v6_id: n.neutronSubnetV6Id,
    neutron_pool_id: n.neutronPoolId,
    docker_network_name: n.dockerName,
    ...(ctx.isAdmin ? { host: n.host } : {}),
    created_at: n.createdAt,
    updated_at: n.updatedAt,
    links: [{ href: `${base}/v1/networks/${n.uuid}`, rel: 'self' }],
  };
}

/** Zun's `addresses`: Neutron net id → one record per fixed IP. */
export function addressesView(attachments: readonly NetworkAttachment[]): Record<string, unknown[]> | null {
  if (attachments.length === 0) return null;
  const out: Record<string, unknown[]> = {};
  for (const a of attachments) {
    out[a.neutronNetId] = a.addresses.map((r) => ({ addr: r.addr, version: r.version, port: a.portId, subnet_id: r.subnet_id, preserve_on_delete: a.preserveOnDelete }));
  }
  return out;
}

export function containerView(d: ContainerDetail, ctx: RequestContext, base: string): Record<string, unknown> {
  const c = d.container;
  return {
    uuid: c.uuid,
    name: c.name,
    project_id: c.projectId,
    user_id: c.userId,
    image: c.image,
    command: c.command,
    environment: c.environment,
    workdir: c.workdir,
    hostname: c.hostname,
    status: c.status,
    status_reason: c.statusReason,
    task_state: c.taskState,
    addresses: addressesView(d.attachments),
    security_groups: c.securityGroups,
    ports: Object.keys(c.exposedPorts).map((k) => Number(k.split('/')[0])),
    ...(ctx.isAdmin ? { host: c.host } : {}),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    links: [{ href: `${base}/v1/containers/${c.uuid}`, rel: 'self' }],
  };
}

/** network_list ≥ 1.18: one entry per port. */
export function networkListView(attachments: readonly NetworkAttachment[]): { networks: unknown[] } {
  return {
    networks: attachments.map((a) => ({
      net_id: a.neutronNetId,
      port_id: a.portId,
      fixed_ips: a.addresses.map((r) => ({ ip_address: r.addr, version: r.version, subnet_id: r.subnet_id })),
    })),
  };
}
