import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { ConflictError } from '@kuryr-ts/openstack/errors';
import { DEVICE_OWNER, TAG_NET_LH } from './naming.js';

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
