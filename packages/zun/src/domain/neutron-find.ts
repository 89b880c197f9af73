/** A Neutron object by id, or undefined when Neutron answers 404 (any other failure is thrown). */
import { NeutronError } from '@kuryr-ts/openstack/errors';
import type { ResourceName, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import type { ZunNeutron } from '../ports/neutron.js';

export async function findNeutron<R extends ResourceName>(neutron: ZunNeutron, resource: R, id: string): Promise<ResourceTypes[R] | undefined> {
  try {
    return await neutron.show(resource, id);
  } catch (err) {
    if (err instanceof NeutronError && err.isNotFound) return undefined;
    throw err;
  }
}
