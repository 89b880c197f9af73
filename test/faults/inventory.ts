/**
 * Everything on this host and in Neutron that carries kuryr's marks, as sets
 * of ids: Neutron ports (device_owner compute:kuryr), networks (kuryr-net-*
 * or described as kuryr-ts's), subnets (kuryr-subnet-*), subnet pools
 * (kuryrPool-…), `--expose` security groups (…-exposed_ports), veths
 * (tap…, t_c…) and OVS interfaces (external_ids:owner=kuryr).
 *
 * A leak is what a scenario leaves that was not there before it
 * (`added(before, after)`). While containers run, `liveMismatch` says what
 * is there that no Docker endpoint explains, or what an endpoint lacks.
 */
import { docker, hostId, kuryrOvsInterfaces, neutron, sh } from '../integration/support.js';

export const KINDS = ['ports', 'networks', 'subnets', 'subnetpools', 'exposeGroups', 'veths', 'ovs'] as const;
export type Kind = (typeof KINDS)[number];
export type Inventory = Record<Kind, Map<string, string>>;

interface LinkInfo {
  ifname: string;
  ifalias?: string;
}

export async function vethLinks(): Promise<LinkInfo[]> {
  const links = JSON.parse(await sh('ip', ['-json', 'link', 'show', 'type', 'veth'])) as LinkInfo[];
  return links.filter((l) => l.ifname.startsWith('tap') || l.ifname.startsWith('t_c'));
}

export async function inventory(): Promise<Inventory> {
  const [ports, networks, subnets, pools, groups, veths, ovs] = await Promise.all([
    neutron.list('ports', { device_owner: 'compute:kuryr' }),
    neutron.list('networks', {}),
    neutron.list('subnets', {}),
    neutron.list('subnetpools', {}),
    neutron.list('security-groups', {}),
    vethLinks(),
    kuryrOvsInterfaces(),
  ]);
  const map = <T>(items: T[], id: (t: T) => string, what: (t: T) => string): Map<string, string> => new Map(items.map((t) => [id(t), what(t)]));
  return {
    ports: map(ports, (p) => p.id, (p) => `port ${p.name || '-'} ${p.fixed_ips.map((f) => f.ip_address).join(',')} device_id ${p.device_id || '-'} host ${p['binding:host_id'] || '-'}`),
    networks: map(
      networks.filter((n) => n.name.startsWith('kuryr-net-') || ((n as { description?: string }).description ?? '').startsWith('kuryr-ts:')),
      (n) => n.id,
      (n) => `network ${n.name}`,
    ),
    subnets: map(
      subnets.filter((s) => s.name.startsWith('kuryr-subnet-')),
      (s) => s.id,
      (s) => `subnet ${s.name}`,
    ),
    subnetpools: map(
      pools.filter((p) => p.name.startsWith('kuryrPool-')),
      (p) => p.id,
      (p) => `subnet pool ${p.name}`,
    ),
    exposeGroups: map(
      groups.filter((g) => g.name.endsWith('-exposed_ports')),
      (g) => g.id,
      (g) => `security group ${g.name}`,
    ),
    veths: map(veths, (l) => l.ifname, (l) => `veth ${l.ifname}${l.ifalias ? ` (${l.ifalias})` : ''}`),
    ovs: map(ovs, (i) => i.name, (i) => `OVS interface ${i.name} iface-id ${i.externalIds['iface-id'] ?? '-'}`),
  };
}

/** What `after` has that `before` had not, per kind (each a list of descriptions). */
export function added(before: Inventory, after: Inventory): Record<Kind, string[]> {
  const out = {} as Record<Kind, string[]>;
  for (const k of KINDS) out[k] = [...after[k]].filter(([id]) => !before[k].has(id)).map(([id, what]) => `${what} (${id})`);
  return out;
}

export function countOf(leaks: Record<Kind, string[]>): number {
  return KINDS.reduce((n, k) => n + leaks[k].length, 0);
}

/** The Docker endpoints on some networks: container name → endpoint id and IPv4 address. */
export async function endpointsOf(networks: string[]): Promise<Map<string, { container: string; endpointId: string; ip: string; network: string }>> {
  const out = new Map<string, { container: string; endpointId: string; ip: string; network: string }>();
  for (const network of networks) {
    const raw = await docker('network', 'inspect', '-f', '{{json .Containers}}', network);
    const containers = JSON.parse(raw || '{}') as Record<string, { Name: string; EndpointID: string; IPv4Address: string }>;
    for (const c of Object.values(containers ?? {})) out.set(c.EndpointID, { container: c.Name, endpointId: c.EndpointID, ip: c.IPv4Address.split('/')[0]!, network });
  }
  return out;
}

/**
 * With containers running on `networks` (whose Neutron networks are `neutronNets`):
 * every endpoint has its port (bound here), its veth (alias kuryr:<endpoint>) and its
 * OVS interface; and there is no port on those networks, and no kuryr veth or OVS
 * interface on this host beyond `baseline`, that no endpoint explains.
 */
export async function liveMismatch(networks: string[], neutronNets: string[], baseline: Inventory): Promise<string[]> {
  const eps = await endpointsOf(networks);
  const problems: string[] = [];
  const host = hostId();
  const ports = (await Promise.all(neutronNets.map((id) => neutron.list('ports', { network_id: id, device_owner: 'compute:kuryr' })))).flat();
  const portByEndpoint = new Map(ports.map((p) => [p.device_id, p]));
  for (const p of ports) {
    if (!eps.has(p.device_id)) problems.push(`port ${p.id} (${p.fixed_ips.map((f) => f.ip_address).join(',')}, device_id ${p.device_id || '-'}): no Docker endpoint has it`);
    else if (p['binding:host_id'] !== host) problems.push(`port ${p.id} of endpoint ${p.device_id.slice(0, 12)} is bound to ${p['binding:host_id'] || 'no host'}, not ${host}`);
  }
  const veths = await vethLinks();
  const vethByEndpoint = new Map(veths.filter((l) => l.ifalias?.startsWith('kuryr:')).map((l) => [l.ifalias!.slice('kuryr:'.length), l.ifname]));
  const ovs = await kuryrOvsInterfaces();
  const ovsByEndpoint = new Map(ovs.map((i) => [i.externalIds['vm-uuid'] ?? i.externalIds['vm-id'] ?? '', i.name]));
  for (const ep of eps.values()) {
    if (!portByEndpoint.has(ep.endpointId)) problems.push(`${ep.container}: endpoint ${ep.endpointId.slice(0, 12)} has no Neutron port`);
    if (!vethByEndpoint.has(ep.endpointId)) problems.push(`${ep.container}: endpoint ${ep.endpointId.slice(0, 12)} has no veth`);
    if (!ovsByEndpoint.has(ep.endpointId)) problems.push(`${ep.container}: endpoint ${ep.endpointId.slice(0, 12)} has no OVS interface`);
  }
  for (const l of veths) {
    if (baseline.veths.has(l.ifname)) continue;
    const ep = l.ifalias?.startsWith('kuryr:') ? l.ifalias.slice('kuryr:'.length) : undefined;
    if (ep === undefined || !eps.has(ep)) problems.push(`veth ${l.ifname} (${l.ifalias ?? 'no alias'}): no Docker endpoint explains it`);
  }
  for (const i of ovs) {
    if (baseline.ovs.has(i.name)) continue;
    const ep = i.externalIds['vm-uuid'] ?? i.externalIds['vm-id'];
    if (ep === undefined || !eps.has(ep)) problems.push(`OVS interface ${i.name} (endpoint ${ep?.slice(0, 12) ?? '-'}): no Docker endpoint explains it`);
  }
  return problems;
}
