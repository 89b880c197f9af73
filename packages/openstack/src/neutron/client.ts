/**
 * NeutronApi over HTTP (lib/http-fetch.ts: node:http, pooled keep-alive connections).
 * Every request is counted in OpStats, bounded by a timeout, and retried only
 * when it is safe: idempotent methods on connection errors and 502/503/504,
 * POST only when the connection was refused (nothing was sent). It carries
 * the request id of the current scope as X-OpenStack-Request-ID (Neutron logs
 * it as the global request id), and is reported to an optional observer
 * (metrics) with its operation, status and duration.
 */
import { NeutronError } from '../errors.js';
import type { CreateBody, NeutronApi, Query, ResourceName, ResourceTypes } from './types.js';
import type { OpStats } from '../lib/op-stats.js';
import { REQUEST_ID_HEADER } from '../lib/request-id.js';
import type { NeutronAuth } from '../keystone/auth.js';
import { httpFetch, type FetchAnswer, type FetchLike } from '../lib/http-fetch.js';

const SINGULAR: Record<ResourceName, string> = {
  agents: 'agent',
  networks: 'network',
  subnets: 'subnet',
  subnetpools: 'subnetpool',
  ports: 'port',
  'security-groups': 'security_group',
  'security-group-rules': 'security_group_rule',
};

export interface NeutronClientOptions {
  timeoutMs: number;
  /** Attempts for retryable failures (>= 1). */
  attempts: number;
  stats: OpStats;
  /** Sleep used between retries (injectable for tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Told of every HTTP request sent (each retry too), when it is answered or fails. */
  observer?: NeutronCallObserver | undefined;
}

/** One HTTP request to Neutron: what it did, how it ended (Neutron's status, or `error` without an answer), how long it took. */
export interface NeutronCall {
  /** The URL's resource: ports, networks, subnets, subnetpools, security-groups, extensions, trunks, … */
  resource: string;
  /** list, show, create, update, delete, add_tag, remove_tag, replace_tags, add_subports, remove_subports, … */
  operation: string;
  status: string;
  seconds: number;
}

export type NeutronCallObserver = (call: NeutronCall) => void;

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

const VERBS: Record<Method, [collection: string, item: string]> = {
  GET: ['list', 'show'],
  POST: ['create', 'create'],
  PUT: ['update', 'update'],
  DELETE: ['delete', 'delete'],
};

/** The resource and operation of a Neutron request path (without /v2.0 and the query), for metrics. */
export function neutronOperation(method: Method, path: string): { resource: string; operation: string } {
  const [resource = '', id, sub, tag] = path.split('?')[0]!.replace(/^\/+/, '').split('/');
  if (sub === 'tags') {
    if (tag !== undefined) return { resource, operation: method === 'DELETE' ? 'remove_tag' : 'add_tag' };
    return { resource, operation: method === 'PUT' ? 'replace_tags' : method === 'DELETE' ? 'remove_tags' : 'list_tags' };
  }
  if (sub !== undefined) return { resource, operation: sub };
  return { resource, operation: VERBS[method][id === undefined ? 0 : 1] };
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) for (const item of v as readonly string[]) params.append(k, item);
    else params.append(k, String(v));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A Neutron without the tag extension returns no `tags`: the domain always sees an array. */
function withTags<T>(v: T): T {
  if (v && typeof v === 'object' && !Array.isArray(v) && !('tags' in (v as object))) (v as Record<string, unknown>).tags = [];
  return v;
}

export class NeutronClient implements NeutronApi {
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #fetch: FetchLike;

  constructor(
    readonly auth: NeutronAuth,
    readonly opts: NeutronClientOptions,
  ) {
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#fetch = auth.fetch ?? httpFetch();
  }

  async list<R extends ResourceName>(resource: R, query?: Query): Promise<Array<ResourceTypes[R]>> {
    const body = (await this.#request('GET', `/${resource}${buildQuery(query)}`)) as Record<string, unknown>;
    return ((body[`${SINGULAR[resource]}s`] ?? []) as Array<ResourceTypes[R]>).map(withTags);
  }

  async show<R extends ResourceName>(resource: R, id: string): Promise<ResourceTypes[R]> {
    const body = (await this.#request('GET', `/${resource}/${encodeURIComponent(id)}`)) as Record<string, unknown>;
    return withTags(body[SINGULAR[resource]] as ResourceTypes[R]);
  }

  async create<R extends ResourceName>(resource: R, body: CreateBody<R>): Promise<ResourceTypes[R]> {
    const res = (await this.#request('POST', `/${resource}`, { [SINGULAR[resource]]: body })) as Record<string, unknown>;
    return withTags(res[SINGULAR[resource]] as ResourceTypes[R]);
  }

  async createBulk<R extends ResourceName>(resource: R, bodies: Array<CreateBody<R>>): Promise<Array<ResourceTypes[R]>> {
    const plural = `${SINGULAR[resource]}s`; // security-group-rules → security_group_rules
    const res = (await this.#request('POST', `/${resource}`, { [plural]: bodies })) as Record<string, unknown>;
    return (res[plural] as Array<ResourceTypes[R]>).map(withTags);
  }

  async update<R extends ResourceName>(resource: R, id: string, body: CreateBody<R>, opts: { ifRevision?: number } = {}): Promise<ResourceTypes[R]> {
    const headers = opts.ifRevision !== undefined ? { 'If-Match': `revision_number=${opts.ifRevision}` } : undefined;
    const res = (await this.#request('PUT', `/${resource}/${encodeURIComponent(id)}`, { [SINGULAR[resource]]: body }, headers)) as Record<string, unknown>;
    return withTags(res[SINGULAR[resource]] as ResourceTypes[R]);
  }

  async delete(resource: ResourceName, id: string): Promise<boolean> {
    try {
      await this.#request('DELETE', `/${resource}/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if (err instanceof NeutronError && err.isNotFound) return false;
      throw err;
    }
  }

  async replaceTags(resource: ResourceName, id: string, tags: readonly string[]): Promise<void> {
    await this.#request('PUT', `/${resource}/${encodeURIComponent(id)}/tags`, { tags });
  }

  async addTag(resource: ResourceName, id: string, tag: string): Promise<void> {
    await this.#request('PUT', `/${resource}/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`);
  }

  async removeTag(resource: ResourceName, id: string, tag: string): Promise<void> {
    try {
      await this.#request('DELETE', `/${resource}/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`);
    } catch (err) {
      if (!(err instanceof NeutronError && err.isNotFound)) throw err;
    }
  }

  async trunkSubports(trunkId: string, action: 'add_subports' | 'remove_subports', subPorts: Array<Record<string, unknown>>): Promise<void> {
    await this.#request('PUT', `/trunks/${encodeURIComponent(trunkId)}/${action}`, { sub_ports: subPorts });
  }

  async hasExtension(alias: string): Promise<boolean> {
    try {
      await this.#request('GET', `/extensions/${encodeURIComponent(alias)}`);
      return true;
    } catch (err) {
      if (err instanceof NeutronError && err.isNotFound) return false;
      throw err;
    }
  }

  async #request(method: Method, path: string, body?: unknown, extraHeaders?: Record<string, string>): Promise<unknown> {
    const attempts = Math.max(1, this.opts.attempts);
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(method, path, body, extraHeaders);
      } catch (err) {
        if (!(err instanceof NeutronError)) throw err;
        if (err.status === 401 && !reauthenticated) {
          reauthenticated = true;
          this.auth.invalidate();
          continue;
        }
        const retryable =
          attempt < attempts &&
          (method === 'POST'
            ? err.status === undefined && /ECONNREFUSED/.test(String((err.cause as Error | undefined)?.message ?? err.message))
            : err.status === undefined || err.status === 502 || err.status === 503 || err.status === 504);
        if (!retryable) throw err;
        await this.#sleep(Math.min(2000, 200 * 2 ** (attempt - 1)));
      }
    }
  }

  /** Why Neutron may not answer: Keystone away (Neutron cannot validate a token without it), or nothing known. */
  async #keystoneHint(): Promise<string> {
    if (!this.auth.reachable) return '';
    try {
      await this.auth.reachable(2000);
      return '';
    } catch (err) {
      return `; ${(err as Error).message}: Neutron cannot validate tokens without it`;
    }
  }

  async #once(method: Method, path: string, body?: unknown, extraHeaders?: Record<string, string>): Promise<unknown> {
    const base = (await this.auth.endpoint()).replace(/\/+$/, '').replace(/\/v2\.0$/, '');
    const url = `${base}/v2.0${path}`;
    const headers: Record<string, string> = { Accept: 'application/json', ...(await this.auth.headers()), ...extraHeaders };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const requestId = this.opts.stats.requestId();
    if (requestId) headers[REQUEST_ID_HEADER] = requestId;
    this.opts.stats.countNeutronCall();
    const observer = this.opts.observer;
    const started = performance.now();
    const report = (status: string): void => observer?.({ ...neutronOperation(method, path), status, seconds: (performance.now() - started) / 1000 });
    // Halfway to the timeout Keystone is asked too: Neutron hangs while it cannot validate the token,
    // and Keystone may be back by the time the call gives up.
    let keystoneHalfway: Promise<string> | undefined;
    const halfway = this.auth.reachable ? setTimeout(() => (keystoneHalfway = this.#keystoneHint()), Math.max(1000, this.opts.timeoutMs / 2)) : undefined;
    let res: FetchAnswer;
    try {
      // the auth's transport carries the TLS settings (CA file, insecure) when there are any
      res = await this.#fetch(url, {
        method,
        headers,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      clearTimeout(halfway);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      report('error');
      const hint = (await keystoneHalfway) || (await this.#keystoneHint());
      throw new NeutronError(method, `/v2.0${path}`, undefined, undefined, `${detail} (${base})${hint}`, { cause: cause ?? err });
    }
    clearTimeout(halfway);
    const text = await res.text();
    report(String(res.status));
    if (res.ok) {
      if (!text) return {};
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // a proxy's page, or a wrong endpoint: say so, never "authentication failed"
        const type = res.headers.get('content-type') ?? 'no Content-Type';
        const start = text.slice(0, 80).replace(/\s+/g, ' ');
        throw new NeutronError(method, `/v2.0${path}`, res.status, 'InvalidResponse', `the answer is not JSON (${type}; it starts with "${start}"): is ${base} Neutron's endpoint?`);
      }
    }
    let type: string | undefined;
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { NeutronError?: { type?: string; message?: string } };
      if (parsed.NeutronError) {
        type = parsed.NeutronError.type;
        message = parsed.NeutronError.message ?? message;
      }
    } catch {
      /* not JSON: keep the raw text */
    }
    throw new NeutronError(method, `/v2.0${path}`, res.status, type, message || res.statusText);
  }
}
