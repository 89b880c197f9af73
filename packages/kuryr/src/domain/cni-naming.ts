/**
 * The Neutron and host footprint of CNI attachments (`kuryr-cni`): one Neutron
 * port per (container, interface), told apart from libnetwork's ports by its
 * device_owner, found by its tags (or, on a tag-less Neutron, by its
 * device_id and name).
 */

/** device_owner of a CNI attachment's port (libnetwork's ports are `compute:kuryr`). */
export const CNI_DEVICE_OWNER = 'kuryr:cni';
export const TAG_CNI_CONTAINER = 'kuryr.cni.container:';
export const TAG_CNI_IFNAME = 'kuryr.cni.ifname:';
/** The host the attachment was made on (its binding:host_id, kept when the binding is cleared). */
export const TAG_CNI_HOST = 'kuryr.cni.host:';
/** The prefix of the identity a CNI attachment's host plumbing records (link alias, OVS vm-uuid). */
export const CNI_ENDPOINT_PREFIX = 'cni:';

export function cniPortName(containerId: string, ifname: string): string {
  return `kuryr-cni-${containerId.slice(0, 12)}-${ifname}`;
}

export function cniTags(containerId: string, ifname: string, hostId: string): string[] {
  return [`${TAG_CNI_CONTAINER}${containerId}`, `${TAG_CNI_IFNAME}${ifname}`, `${TAG_CNI_HOST}${hostId}`];
}

/**
 * What binding records on the host for an attachment in place of a Docker
 * endpoint id: `cni:<container id>:<ifname>`. Docker endpoint ids are hex
 * (or 25-character swarm ids), so the two never meet.
 */
export function cniEndpointId(containerId: string, ifname: string): string {
  return `${CNI_ENDPOINT_PREFIX}${containerId}:${ifname}`;
}

export function isCniEndpointId(id: string): boolean {
  return id.startsWith(CNI_ENDPOINT_PREFIX);
}

/** The attachment a CNI port serves, from its tags (or, tag-less, its device_id and name). */
export function attachmentOfPort(port: { device_id: string; name: string; tags: string[] }): { containerId: string; ifname: string } | undefined {
  const tagged = port.tags.find((t) => t.startsWith(TAG_CNI_CONTAINER))?.slice(TAG_CNI_CONTAINER.length);
  const containerId = tagged ?? port.device_id;
  if (!containerId) return undefined;
  const ifname =
    port.tags.find((t) => t.startsWith(TAG_CNI_IFNAME))?.slice(TAG_CNI_IFNAME.length) ??
    (port.name.startsWith(`kuryr-cni-${containerId.slice(0, 12)}-`) ? port.name.slice(`kuryr-cni-${containerId.slice(0, 12)}-`.length) : undefined);
  return ifname ? { containerId, ifname } : undefined;
}
