/**
 * The CLI's client of zun-api: base URL, microversion header, the caller's
 * Keystone token (from --os-cloud / OS_CLOUD / OS_* through the shared
 * auth-sources, or none in noauth mode), and Zun's error body turned into
 * ApiError(status, detail).
 */
import { buildNeutronAuth, resolveAuthSource } from '@kuryr-ts/openstack/keystone/auth-sources';
import type { NeutronAuth } from '@kuryr-ts/openstack/keystone/auth';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  url: string;
  apiVersion: string;
  cloud?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** noauth development mode: sent as X-Project-Id instead of a token. */
  projectId?: string | undefined;
}

export class ZunClient {
  readonly #auth: NeutronAuth | undefined;
  readonly #url: string;

  constructor(readonly opts: ClientOptions) {
    this.#url = opts.url.replace(/\/+$/, '').replace(/\/v1$/, '');
    const env = { ...(opts.env ?? process.env), ...(opts.cloud ? { OS_CLOUD: opts.cloud } : {}) };
    const source = resolveAuthSource({}, { env });
    const hasCredentials = source.values.auth_url || source.values.token;
    if (hasCredentials) {
      // the token is what we want; the endpoint override stops the catalog lookup of a Neutron endpoint
      source.values.endpoint_override ??= this.#url;
      this.#auth = buildNeutronAuth(source).auth;
    }
  }

  async request<T = unknown>(method: string, path: string, opts: { query?: Record<string, string | undefined>; body?: unknown } = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) params.append(k, v);
    const qs = params.toString();
    const headers: Record<string, string> = { Accept: 'application/json', 'OpenStack-API-Version': `container ${this.opts.apiVersion}` };
    if (this.#auth) Object.assign(headers, await this.#auth.headers());
    else if (this.opts.projectId) headers['X-Project-Id'] = this.opts.projectId;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.#url}${path}${qs ? `?${qs}` : ''}`, {
        method,
        headers,
        signal: AbortSignal.timeout(120_000),
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      throw new ApiError(503, `cannot reach zun-api at ${this.#url}: ${cause?.code ?? (err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = text || res.statusText;
      let requestId: string | undefined;
      try {
        const e = (JSON.parse(text) as { errors?: Array<{ detail?: string; request_id?: string }> }).errors?.[0];
        detail = e?.detail ?? detail;
        requestId = e?.request_id;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, detail, requestId);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
