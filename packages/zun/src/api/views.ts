/** Domain records → Zun's JSON views. `host` is shown to admins only (container:get_one:host). */
import type { RequestContext } from '../domain/context.js';
import type { ContainerDetail } from '../domain/container-service.js';
import type { HostReport } from '../domain/host-service.js';
import type { NetworkAttachment } from '../domain/model.js';
import type { NetworkDetail } from '../domain/network-service.js';
import { Redactor } from '../lib/redact.js';

/** status_reason holds an error's text: the generic secret shapes are hidden there too. */
const reasons = new Redactor();

/**
 * A network: `network_id` and (admin) `host` are those of the first host that
 * made its Docker network (null before any: they are made per host, lazily);
 * admins also see `hosts`, every host's Docker network id.
 */
export function networkView(d: NetworkDetail, ctx: RequestContext, base: string): Record<string, unknown> {
  const n = d.network;
  const first = d.hosts[0];
  return {
    uuid: n.uuid,
    name: n.name,
    project_id: n.projectId,
    user_id: n.userId,
    network_id: first?.dockerId ?? null,
    neutron_net_id: n.neutronNetId,
    neutron_subnet_id: n.neutronSubnetId,
    neutron_subnet_v6_id: n.neutronSubnetV6Id,
    neutron_pool_id: n.neutronPoolId,
    docker_network_name: n.dockerName,
    ...(ctx.isAdmin ? { host: first?.host ?? null, hosts: d.hosts.map((h) => ({ host: h.host, network_id: h.dockerId })) } : {}),
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
    status_reason: c.statusReason === null ? null : reasons.text(c.statusReason),
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

/** network_list 1.13–1.17: one flat entry per address. */
export function legacyNetworkListView(attachments: readonly NetworkAttachment[]): { networks: unknown[] } {
  return {
    networks: attachments.flatMap((a) => a.addresses.map((r) => ({ net_id: a.neutronNetId, subnet_id: r.subnet_id, port_id: a.portId, version: r.version, ip_address: r.addr }))),
  };
}

/** A compute host (Zun's host view: `hostname`; plus its health and load). */
export function hostView(h: HostReport, base: string): Record<string, unknown> {
  return {
    hostname: h.name,
    state: h.state,
    disabled: h.disabled,
    total_containers: h.containers,
    docker_endpoint: h.endpoint,
    last_checked_at: h.checkedAt,
    reason: h.reason,
    links: [{ href: `${base}/v1/hosts/${encodeURIComponent(h.name)}`, rel: 'self' }],
  };
}
