/**
 * Security groups by name or id (kuryr-ts's `neutron.security_groups`
 * option), resolved once per name and cached for the daemon's life (ids do
 * not change; a deleted group makes the port update fail with a clear error).
 */
import { BoundedMap } from '@kuryr-ts/openstack/lib/bounded-map';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';
import { ConflictError, NotFoundError } from '@kuryr-ts/openstack/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class SecurityGroupResolver {
  readonly #ids = new BoundedMap<string, string>(1024);

  constructor(readonly neutron: NeutronApi) {}

  async resolve(refs: readonly string[], flag: string): Promise<string[]> {
    return Promise.all(refs.map((ref) => this.#one(ref, flag)));
  }

  async #one(ref: string, flag: string): Promise<string> {
    const hit = this.#ids.get(ref);
    if (hit) return hit;
    const found = await this.neutron.list('security-groups', UUID.test(ref) ? { id: ref } : { name: ref });
    if (found.length === 0) throw new NotFoundError(`option ${flag} neutron.security_groups: no security group ${ref}`);
    if (found.length > 1) {
      throw new ConflictError(`option ${flag} neutron.security_groups: ${found.length} security groups are named ${ref}; use the id`);
    }
    this.#ids.set(ref, found[0]!.id);
    return found[0]!.id;
  }
}
