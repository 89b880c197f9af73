/**
 * The lab as the integration tests and the bench see it from this host: the
 * repository they run from, the lab's config files, this host's binding host
 * id, and the Neutron objects that carry a Docker id's kuryr tags.
 */
import { readFileSync } from 'node:fs';
import { idTags } from '@kuryr-ts/kuryr/domain/naming';
import { loadConfig } from '@kuryr-ts/kuryr/config/kuryr-config';
import type { NeutronApi, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';

/** The repository root (this file runs from dist/test/lab-support/). */
export const REPO = new URL('../../../', import.meta.url).pathname;
/** The lab's kuryr.conf: Neutron credentials of the lab's kuryr user, [binding] host_id. */
export const LAB_KURYR_CONF = '/etc/kuryr-lab/kuryr.conf';
export const LAB_NEUTRON_CONF = '/etc/kuryr-lab/neutron.conf';
const HOST_FILE = '/run/kuryr-lab/host';

/** The binding host id the lab's daemons use: lab/up.sh writes it down; else kuryr.conf's. */
export function hostId(): string {
  try {
    return readFileSync(HOST_FILE, 'utf8').trim();
  } catch {
    return loadConfig([LAB_KURYR_CONF]).binding.hostId;
  }
}

/** Neutron objects that carry a Docker id's kuryr tags (the network kuryr made or tagged for it, an endpoint's port). */
export async function taggedWith<R extends 'networks' | 'ports'>(neutron: NeutronApi, resource: R, dockerId: string): Promise<Array<ResourceTypes[R]>> {
  return neutron.list(resource, { tags: idTags(dockerId).join(',') });
}
