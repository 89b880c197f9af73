/**
 * Validates callers' tokens against Keystone as keystonemiddleware does:
 * GET /v3/auth/tokens?nocatalog with X-Subject-Token (the caller's) and X-Auth-Token
 * (the service's own, from the shared KeystoneAuth). Valid answers are cached
 * (bounded, at most `cacheMs` — [keystone_authtoken] token_cache_time, 5 s
 * by default — and never past the token's expiry), for reads only: a write
 * (`fresh`) always asks Keystone, so a revoked token changes nothing once
 * Keystone knows, and reads with it stop within `cacheMs`. A 404/401 from
 * Keystone is an invalid token (401; it also leaves the cache); Keystone down
 * is 503. The caller is an admin only with the admin role in the admin
 * project (isCloudAdmin).
 */
import { createHash } from 'node:crypto';
import { BoundedMap } from '@kuryr-ts/openstack/lib/bounded-map';
import type { FetchAnswer, FetchLike } from '@kuryr-ts/openstack/lib/http-fetch';
import { REQUEST_ID_HEADER } from '@kuryr-ts/openstack/lib/request-id';
import { DEFAULT_ADMIN_PROJECT, isCloudAdmin, type AdminProject, type RequestContext } from '../domain/context.js';
import { unauthorized, unavailable } from '@kuryr-ts/openstack/errors';
import type { TokenValidator } from '../ports/identity.js';

export interface KeystoneTokensOptions {
  authUrl: string;
  /** Headers carrying the service's token (`X-Auth-Token`). */
  serviceHeaders: () => Promise<Record<string, string>>;
  invalidateService: () => void;
  fetch?: FetchLike | undefined;
  /** How long a validation is reused for reads (ms; default 5000; 0 = never). */
  cacheMs?: number;
  adminProject?: AdminProject;
  now?: () => number;
  /** The current request's id, sent as X-OpenStack-Request-ID. */
  requestId?: (() => string | undefined) | undefined;
}

export const DEFAULT_TOKEN_CACHE_MS = 5_000;

interface TokenBody {
  token?: {
    expires_at?: string;
    user?: { id?: string };
    project?: { id?: string; name?: string; domain?: { id?: string; name?: string } };
    roles?: Array<{ name?: string }>;
  };
}

const requestIdHeader = (id: string | undefined): Record<string, string> => (id ? { [REQUEST_ID_HEADER]: id } : {});

export class KeystoneTokens implements TokenValidator {
  readonly #cache = new BoundedMap<string, { ctx: RequestContext; until: number }>(1000);
  readonly #now: () => number;

  constructor(readonly opts: KeystoneTokensOptions) {
    this.#now = opts.now ?? Date.now;
  }

  async validate(token: string, opts: { fresh?: boolean } = {}): Promise<RequestContext> {
    const key = createHash('sha256').update(token).digest('hex');
    const hit = this.#cache.get(key);
    if (!opts.fresh && hit && hit.until > this.#now()) return hit.ctx;
    let answer: { ctx: RequestContext; expires: number };
    try {
      answer = await this.#fetch(token, false);
    } catch (err) {
      this.#cache.delete(key);
      throw err;
    }
    const cacheMs = this.opts.cacheMs ?? DEFAULT_TOKEN_CACHE_MS;
    if (cacheMs > 0) this.#cache.set(key, { ctx: answer.ctx, until: Math.min(this.#now() + cacheMs, answer.expires) });
    return answer.ctx;
  }

  async #fetch(token: string, retried: boolean): Promise<{ ctx: RequestContext; expires: number }> {
    const url = `${this.opts.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '')}/v3/auth/tokens?nocatalog`; // the catalog of a caller's token is never used here, and costs Keystone most of the answer
    let res: FetchAnswer;
    try {
      res = await (this.opts.fetch ?? fetch)(url, {
        method: 'GET',
        headers: { Accept: 'application/json', 'X-Subject-Token': token, ...(await this.opts.serviceHeaders()), ...requestIdHeader(this.opts.requestId?.()) },
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw unavailable(`Keystone (${url}) is unreachable: ${(err as Error).message}`, 'ZUN_ERR_KEYSTONE_UNAVAILABLE', { cause: err });
    }
    if (res.status === 401 && !retried) {
      // our own service token expired or was revoked
      this.opts.invalidateService();
      return this.#fetch(token, true);
    }
    if (res.status === 404 || res.status === 401) throw unauthorized('The request you have made requires authentication.', 'ZUN_ERR_UNAUTHORIZED');
    if (!res.ok) throw unavailable(`Keystone token validation failed: ${res.status} ${res.statusText}`, 'ZUN_ERR_KEYSTONE_UNAVAILABLE');
    const body = JSON.parse(await res.text()) as TokenBody;
    const t = body.token;
    if (!t?.project?.id || !t.user?.id) throw unauthorized('The token is not scoped to a project.', 'ZUN_ERR_UNAUTHORIZED');
    const roles = (t.roles ?? []).map((r) => r.name ?? '').filter(Boolean);
    const expires = Date.parse(t.expires_at ?? '');
    const isAdmin = isCloudAdmin(roles, { name: t.project.name, domainName: t.project.domain?.name }, this.opts.adminProject ?? DEFAULT_ADMIN_PROJECT);
    return {
      ctx: { projectId: t.project.id, userId: t.user.id, roles, isAdmin },
      expires: Number.isNaN(expires) ? Number.POSITIVE_INFINITY : expires,
    };
  }
}
