/**
 * Validates callers' tokens against Keystone as keystonemiddleware does:
 * GET /v3/auth/tokens with X-Subject-Token (the caller's) and X-Auth-Token
 * (the service's own, from the shared KeystoneAuth). Valid answers are cached
 * (bounded, at most `cacheMs` and never past the token's expiry); a 404/401
 * from Keystone is an invalid token (401); Keystone down is 503.
 */
import { createHash } from 'node:crypto';
import { BoundedMap } from '@kuryr-ts/openstack/lib/bounded-map';
import type { FetchLike } from '@kuryr-ts/openstack/keystone/auth';
import { REQUEST_ID_HEADER } from '@kuryr-ts/openstack/lib/request-id';
import type { RequestContext } from '../domain/context.js';
import { unauthorized, unavailable } from '@kuryr-ts/openstack/errors';
import type { TokenValidator } from '../ports/identity.js';

export interface KeystoneTokensOptions {
  authUrl: string;
  /** Headers carrying the service's token (`X-Auth-Token`). */
  serviceHeaders: () => Promise<Record<string, string>>;
  invalidateService: () => void;
  fetch?: FetchLike | undefined;
  cacheMs?: number;
  now?: () => number;
  /** The current request's id, sent as X-OpenStack-Request-ID. */
  requestId?: (() => string | undefined) | undefined;
}

interface TokenBody {
  token?: {
    expires_at?: string;
    user?: { id?: string };
    project?: { id?: string };
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

  async validate(token: string): Promise<RequestContext> {
    const key = createHash('sha256').update(token).digest('hex');
    const hit = this.#cache.get(key);
    if (hit && hit.until > this.#now()) return hit.ctx;
    const { ctx, expires } = await this.#fetch(token, false);
    this.#cache.set(key, { ctx, until: Math.min(this.#now() + (this.opts.cacheMs ?? 60_000), expires) });
    return ctx;
  }

  async #fetch(token: string, retried: boolean): Promise<{ ctx: RequestContext; expires: number }> {
    const url = `${this.opts.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '')}/v3/auth/tokens`;
    let res: Response;
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
    const body = (await res.json()) as TokenBody;
    const t = body.token;
    if (!t?.project?.id || !t.user?.id) throw unauthorized('The token is not scoped to a project.', 'ZUN_ERR_UNAUTHORIZED');
    const roles = (t.roles ?? []).map((r) => r.name ?? '').filter(Boolean);
    const expires = Date.parse(t.expires_at ?? '');
    return {
      ctx: { projectId: t.project.id, userId: t.user.id, roles, isAdmin: roles.includes('admin') },
      expires: Number.isNaN(expires) ? Number.POSITIVE_INFINITY : expires,
    };
  }
}
