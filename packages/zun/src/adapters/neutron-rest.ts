/**
 * ZunNeutron over the shared Neutron HTTP client (@kuryr-ts/openstack/
 * neutron/client: one transport for the driver and the service — timeouts,
 * bounded retries of safe calls, re-authentication on 401, NeutronError with
 * Neutron's status), authenticated by the shared NeutronAuth (noauth, or a
 * Keystone token of the service's own user). Authentication failures become a
 * NeutronError without status, i.e. "Neutron unavailable" (503) for the API's
 * callers.
 */
import type { NeutronAuth } from '@kuryr-ts/openstack/keystone/auth';
import { NeutronClient, type NeutronCallObserver } from '@kuryr-ts/openstack/neutron/client';
import type { CreateBody, Query, ResourceName, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import { AppError, describeError, NeutronError } from '@kuryr-ts/openstack/errors';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import type { ZunNeutron } from '../ports/neutron.js';

export class NeutronRest implements ZunNeutron {
  readonly #client: NeutronClient;

  /** `stats`: the request scopes (the request id sent to Neutron); `observer`: metrics of every call. */
  constructor(auth: NeutronAuth, timeoutMs = 30_000, attempts = 3, opts: { stats?: OpStats; observer?: NeutronCallObserver } = {}) {
    this.#client = new NeutronClient(auth, { timeoutMs, attempts, stats: opts.stats ?? new OpStats(), observer: opts.observer });
  }

  /** Resolves when Neutron answers (readiness): one GET of an extension, whether Neutron has it or not. */
  async reachable(): Promise<void> {
    await this.#call('GET', () => this.#client.hasExtension('subnet_allocation'));
  }

  async #call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof NeutronError) throw err;
      // the client throws NeutronError for everything Neutron answers; what else fails is the authentication in front of it (Keystone)
      const why = err instanceof AppError ? 'authentication failed' : 'unexpected failure';
      throw new NeutronError(what, '/v2.0', undefined, undefined, `${why}: ${describeError(err)}`, { cause: err });
    }
  }

  list<R extends ResourceName>(resource: R, query: Query = {}): Promise<Array<ResourceTypes[R]>> {
    return this.#call('GET', () => this.#client.list(resource, query));
  }

  show<R extends ResourceName>(resource: R, id: string): Promise<ResourceTypes[R]> {
    return this.#call('GET', () => this.#client.show(resource, id));
  }

  create<R extends ResourceName>(resource: R, body: CreateBody<R>): Promise<ResourceTypes[R]> {
    return this.#call('POST', () => this.#client.create(resource, body));
  }

  update<R extends ResourceName>(resource: R, id: string, body: CreateBody<R>): Promise<ResourceTypes[R]> {
    return this.#call('PUT', () => this.#client.update(resource, id, body));
  }

  delete(resource: ResourceName, id: string): Promise<boolean> {
    return this.#call('DELETE', () => this.#client.delete(resource, id));
  }
}
