/**
 * The Neutron calls of the container service: a consumer-owned slice of the
 * shared NeutronApi (@kuryr-ts/openstack/neutron/types, whose resource types
 * the domain uses as they are; adapter: adapters/neutron-rest.ts). The
 * service talks to Neutron with its own (admin) credentials and enforces
 * project visibility itself (domain/neutron-lookup.ts), as Zun does with its
 * admin client for ports. Failures are NeutronError (@kuryr-ts/openstack/
 * errors) with Neutron's status, or without one when Neutron (or the
 * authentication in front of it) does not answer.
 */
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';

export type ZunNeutron = Pick<NeutronApi, 'list' | 'show' | 'create' | 'update' | 'delete'>;
