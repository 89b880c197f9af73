/**
 * Kuryr-libnetwork's Neutron footprint: names and tags, kept byte-for-byte
 * compatible so a host can switch daemons with networks in place.
 */

export const TAG_NET_LH = 'kuryr.net.uuid.lh:';
export const TAG_NET_UH = 'kuryr.net.uuid.uh:';
export const TAG_NET_EXISTING = 'kuryr.net.existing:';
export const TAG_PORT_OURS = 'compute:kuryr';
export const TAG_PORT_EXISTING = 'kuryr.port.existing';
export const TAG_POOL_EXISTING = 'kuryr.subnetpool.existing';
/**
 * kuryr-ts: the device_id of a port made ahead of time for a host's port pool
 * (`[vif_pool]`), not yet an endpoint's. Set in the POST itself (Neutron before
 * 2024.2 takes no port tags there), so a pool port is never unmarked.
 */
export const POOL_DEVICE_ID = 'kuryr-port-pool';
/**
 * kuryr-ts: the device_id of a port from the RequestAddress that made it (or
 * handed it out of a port pool) until CreateEndpoint gives it its endpoint.
 * Written in the POST (or the hand-out PUT) itself: after a timeout or a crash
 * the port is found by it, and a port no endpoint ever took is known as such.
 */
export const REQUEST_DEVICE_ID_PREFIX = 'kuryr-request:';

export function requestDeviceId(requestId: string): string {
  return `${REQUEST_DEVICE_ID_PREFIX}${requestId}`;
}

export function isRequestDeviceId(deviceId: string): boolean {
  return deviceId.startsWith(REQUEST_DEVICE_ID_PREFIX);
}

/** The device_id of a kuryr port no endpoint has taken yet: none (Kuryr's), a free pool port's, a request's. */
export function awaitsEndpoint(deviceId: string): boolean {
  return deviceId === '' || deviceId === POOL_DEVICE_ID || isRequestDeviceId(deviceId);
}

/** kuryr-ts: on a Neutron network, a security group its kuryr ports get (`-o neutron.security_groups`). */
export const TAG_NET_SG = 'kuryr.sg:';

export const DEVICE_OWNER = 'compute:kuryr';
export const UNBOUND_PORT_NAME = 'kuryr-unbound-port';
export const SUBNET_NAME_PREFIX = 'kuryr-subnet-';

/**
 * Docker ids are 64 hex chars; Neutron tags were limited to 60, so Kuryr
 * splits an id into a lower-half and an upper-half tag (the upper one only for
 * ids longer than 32 characters, e.g. not for 25-char swarm ids). The same
 * `kuryr.net.uuid.*` prefix is used for network ids and endpoint ids.
 */
export function idTags(dockerId: string): string[] {
  const tags = [`${TAG_NET_LH}${dockerId.slice(0, 32)}`];
  if (dockerId.length > 32) tags.push(`${TAG_NET_UH}${dockerId.slice(32, 64)}`);
  return tags;
}

export function existingNetworkTag(networkId: string): string {
  return `${TAG_NET_EXISTING}${networkId.slice(0, 12)}`;
}

export function networkName(networkId: string): string {
  return `kuryr-net-${networkId.slice(0, 8)}`;
}

/**
 * kuryr-ts: the description of a Neutron network kuryr makes, written in the
 * POST: which Docker network it was made for, and on which host. Found by it
 * after a timeout, and it tells the reconciler which host may remove it.
 */
export function networkDescription(networkId: string, hostId: string): string {
  return `kuryr-ts: Docker network ${networkId} on host ${hostId}`;
}

export function parseNetworkDescription(description: string | undefined): { networkId: string; hostId: string } | undefined {
  const m = /^kuryr-ts: Docker network ([0-9a-z]+) on host (\S+)$/.exec(description ?? '');
  return m ? { networkId: m[1]!, hostId: m[2]! } : undefined;
}

export function subnetName(cidr: string): string {
  return `${SUBNET_NAME_PREFIX}${cidr}`;
}

export function poolName(prefix: string, cidr: string): string {
  return `${prefix}-${cidr}`;
}

export function endpointPortName(endpointId: string): string {
  return `${endpointId}-port`;
}

/** Kuryr's name for the per-port security group of `--expose`d ports. */
export function exposedPortsGroupName(portId: string): string {
  return `${portId}-exposed_ports`;
}

/** The port an `--expose` group was made for (Kuryr's and kuryr-ts's name), or undefined. */
export function portOfExposedPortsGroup(name: string): string | undefined {
  return /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-exposed_ports$/.exec(name)?.[1];
}
