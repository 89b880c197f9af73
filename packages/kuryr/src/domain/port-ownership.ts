import type { NeutronApi, NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { ConflictError, NeutronError } from '@kuryr-ts/openstack/errors';
import { DEVICE_OWNER, TAG_NET_LH, TAG_NET_UH, TAG_PORT_EXISTING } from './naming.js';

/** A Docker network or endpoint id: 64 hex characters, or a 25-character swarm id. */
const DOCKER_ID = /^([0-9a-f]{64}|[0-9a-z]{25})$/;

/**
 * Never hijack a port that is bound to another host, owned by another kind of
 * device, or already attached to another Docker endpoint (Kuryr bug C10).
 * Ports prepared for kuryr (device_owner compute:kuryr, e.g. by Zun with the
 * container's uuid as device_id) and plain unowned ports are free.
 */
export function refuseForeignPort(port: NeutronPort, hostId: string, endpointId: string | undefined, op: string): void {
  const host = port['binding:host_id'] ?? '';
  const owner = port.device_owner ?? '';
  const foreignHost = host !== '' && host !== hostId;
  const foreignOwner = owner !== '' && owner !== DEVICE_OWNER;
  const foreignDevice = owner === '' && port.device_id !== '';
  const lh = port.tags.find((t) => t.startsWith(TAG_NET_LH));
  // Tagged with another endpoint, or (tag-less Neutron) named for another endpoint.
  const namedFor = /^([0-9a-f]{64}|[0-9a-z]{25})-port$/.exec(port.name)?.[1];
  const otherEndpoint =
    (lh !== undefined && (endpointId === undefined || lh !== `${TAG_NET_LH}${endpointId.slice(0, 32)}`)) ||
    (namedFor !== undefined && namedFor !== endpointId && owner === DEVICE_OWNER);
  if (foreignHost || foreignOwner || foreignDevice || otherEndpoint) {
    throw new ConflictError(
      `${op}: Neutron port ${port.id} is already in use (device_owner=${owner || '-'}, binding:host_id=${host || '-'}, device_id=${port.device_id || '-'}${otherEndpoint ? ', attached to another Docker endpoint' : ''}); refusing to rebind it`,
      'KURYR_ERR_PORT_IN_USE',
    );
  }
}

/** The Docker endpoint a port was given (its endpoint tags, its device_id, or — tag-less — its name), if any. */
export function endpointOfPort(port: NeutronPort): string | undefined {
  const lh = port.tags.find((t) => t.startsWith(TAG_NET_LH))?.slice(TAG_NET_LH.length);
  if (lh !== undefined) return `${lh}${port.tags.find((t) => t.startsWith(TAG_NET_UH))?.slice(TAG_NET_UH.length) ?? ''}`;
  if (DOCKER_ID.test(port.device_id)) return port.device_id;
  const named = /^(.+)-port$/.exec(port.name)?.[1];
  return named !== undefined && DOCKER_ID.test(named) ? named : undefined;
}

/**
 * A user's pre-created port goes back to how the user made it: unbound,
 * untagged, kept (ReleaseAddress, and the reconciler for a port whose
 * endpoint is gone). Idempotent: a port already gone is fine.
 */
export async function resetPrecreatedPort(neutron: NeutronApi, port: NeutronPort): Promise<void> {
  const update: Record<string, unknown> = { device_owner: '', 'binding:host_id': '' };
  if (port.device_id && port.tags.some((t) => t.startsWith(TAG_NET_LH) && port.device_id.startsWith(t.slice(TAG_NET_LH.length)))) {
    update.device_id = '';
  }
  const tags = port.tags.filter((t) => t !== TAG_PORT_EXISTING && !t.startsWith(TAG_NET_LH) && !t.startsWith(TAG_NET_UH));
  try {
    await Promise.all([neutron.update('ports', port.id, update), neutron.replaceTags('ports', port.id, tags)]);
  } catch (err) {
    if (!(err instanceof NeutronError && err.isNotFound)) throw err;
  }
}
