/**
 * ZunNeutron over Neutron's v2.0 REST API, authenticated by the shared
 * NeutronAuth (noauth, or a Keystone token of the service's own user), with a
 * timeout per call and bounded retries of idempotent calls on connection
 * errors and 502/503/504. Errors are the shared NeutronError.
 */
import type { NeutronAuth } from '../../adapters/neutron/auth.js';
import { NeutronError } from '../../domain/errors.js';
import type { NQuery, NResource, NTypes, ZunNeutron } from '../ports/neutron.js';

const SINGULAR: Record<NResource, string> = {
  networks: 'network',
  subnets: 'subnet',
  subnetpools: 'subnetpool',
  ports: 'port',
  'security-groups': 'security_group',
  'security-group-rules': 'security_group_rule',
};
const COLLECTION: Record<NResource, string> = {
  networks: 'networks',
  subnets: 'subnets',
  subnetpools: 'subnetpools',
  ports: 'ports',
  'security-groups': 'security_groups',
  'security-group-rules': 'security_group_rules',
};

export class NeutronRest implements ZunNeutron {
  constructor(
    readonly auth: NeutronAuth,
    readonly timeoutMs = 30_000,
    readonly attempts = 3,
  ) {}

  async list<R extends NResource>(resource: R, query: NQuery = {}): Promise<Array<NTypes[R]>> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (Array.isArray(v)) for (const item of v as readonly string[]) params.append(k, item);
      else params.append(k, String(v));
    }
    const qs = params.toString();
    const body = (await this.#request('GET', `/${resource}${qs ? `?${qs}` : ''}`)) as Record<string, unknown>;
    return (body[COLLECTION[resource]] ?? []) as Array<NTypes[R]>;
  }

  async find<R extends NResource>(resource: R, id: string): Promise<NTypes[R] | undefined> {
    try {
      const body = (await this.#request('GET', `/${resource}/${encodeURIComponent(id)}`)) as Record<string, unknown>;
      return body[SINGULAR[resource]] as NTypes[R];
    } catch (err) {
      if (err instanceof NeutronError && err.isNotFound) return undefined;
      throw err;
    }
  }

  async create<R extends NResource>(resource: R, body: Record<string, unknown>): Promise<NTypes[R]> {
    const res = (await this.#request('POST', `/${resource}`, { [SINGULAR[resource]]: body })) as Record<string, unknown>;
    return res[SINGULAR[resource]] as NTypes[R];
  }

  async update<R extends NResource>(resource: R, id: string, body: Record<string, unknown>): Promise<NTypes[R]> {
    const res = (await this.#request('PUT', `/${resource}/${encodeURIComponent(id)}`, { [SINGULAR[resource]]: body })) as Record<string, unknown>;
    return res[SINGULAR[resource]] as NTypes[R];
  }

  async delete(resource: NResource, id: string): Promise<boolean> {
    try {
      await this.#request('DELETE', `/${resource}/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if (err instanceof NeutronError && err.isNotFound) return false;
      throw err;
    }
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(method, path, body);
      } catch (err) {
        if (!(err instanceof NeutronError)) throw err;
        if (err.status === 401 && !reauthenticated) {
          reauthenticated = true;
          this.auth.invalidate();
          continue;
        }
        const transient = err.status === undefined || err.status === 502 || err.status === 503 || err.status === 504;
        if (attempt >= this.attempts || !transient || (method === 'POST' && err.status !== undefined)) throw err;
        await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
      }
    }
  }

  async #once(method: string, path: string, body?: unknown): Promise<unknown> {
    let base: string;
    let headers: Record<string, string>;
    try {
      base = (await this.auth.endpoint()).replace(/\/+$/, '').replace(/\/v2\.0$/, '');
      headers = { Accept: 'application/json', ...(await this.auth.headers()) };
    } catch (err) {
      throw new NeutronError(method, `/v2.0${path}`, undefined, undefined, `authentication failed: ${(err as Error).message}`, { cause: err });
    }
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await (this.auth.fetch ?? fetch)(`${base}/v2.0${path}`, {
        method,
        headers,
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new NeutronError(method, `/v2.0${path}`, undefined, undefined, `${cause?.code ?? cause?.message ?? (err as Error).message} (${base})`, { cause: err });
    }
    const text = await res.text();
    if (res.ok) return text ? (JSON.parse(text) as unknown) : {};
    let type: string | undefined;
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { NeutronError?: { type?: string; message?: string } };
      type = parsed.NeutronError?.type;
      message = parsed.NeutronError?.message ?? message;
    } catch {
      /* not JSON */
    }
    throw new NeutronError(method, `/v2.0${path}`, res.status, type, message || res.statusText);
  }
}
