/**
 * ZunNeutron over the project's Neutron HTTP client (src/adapters/neutron:
 * one transport for the daemon and the service — timeouts, bounded retries of
 * safe calls, re-authentication on 401, NeutronError with Neutron's status),
 * authenticated by the shared NeutronAuth (noauth, or a Keystone token of the
 * service's own user). Authentication failures become a NeutronError without
 * status, i.e. "Neutron unavailable" (503) for the API's callers.
 */
import type { NeutronAuth } from '@kuryr-ts/openstack/keystone/auth';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { NeutronError } from '@kuryr-ts/openstack/errors';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import type { NQuery, NResource, NTypes, ZunNeutron } from '../ports/neutron.js';

export class NeutronRest implements ZunNeutron {
  readonly #client: NeutronClient;

  constructor(auth: NeutronAuth, timeoutMs = 30_000, attempts = 3) {
    this.#client = new NeutronClient(auth, { timeoutMs, attempts, stats: new OpStats() });
  }

  async #call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof NeutronError) throw err;
      throw new NeutronError(what, '/v2.0', undefined, undefined, `authentication failed: ${(err as Error).message}`, { cause: err });
    }
  }

  list<R extends NResource>(resource: R, query: NQuery = {}): Promise<Array<NTypes[R]>> {
    return this.#call('GET', () => this.#client.list(resource, query)) as unknown as Promise<Array<NTypes[R]>>;
  }

  async find<R extends NResource>(resource: R, id: string): Promise<NTypes[R] | undefined> {
    try {
      return (await this.#call('GET', () => this.#client.show(resource, id))) as unknown as NTypes[R];
    } catch (err) {
      if (err instanceof NeutronError && err.isNotFound) return undefined;
      throw err;
    }
  }

  create<R extends NResource>(resource: R, body: Record<string, unknown>): Promise<NTypes[R]> {
    return this.#call('POST', () => this.#client.create(resource, body)) as unknown as Promise<NTypes[R]>;
  }

  update<R extends NResource>(resource: R, id: string, body: Record<string, unknown>): Promise<NTypes[R]> {
    return this.#call('PUT', () => this.#client.update(resource, id, body)) as unknown as Promise<NTypes[R]>;
  }

  delete(resource: NResource, id: string): Promise<boolean> {
    return this.#call('DELETE', () => this.#client.delete(resource, id));
  }
}
