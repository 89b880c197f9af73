/**
 * Keystone v3 authentication for the Neutron client (what keystoneauth1 does
 * for Kuryr-libnetwork): POST /v3/auth/tokens with a password, an application
 * credential or a token; the token is the X-Subject-Token header, the Neutron
 * URL comes from the token's catalog (service type `network`, chosen by
 * interface and region) unless an endpoint override is given.
 *
 * The token is cached until shortly before its expires_at; invalidate() (the
 * Neutron client calls it on a 401) forces a new one; concurrent callers share
 * one in-flight authentication. Secrets (password, application credential
 * secret, tokens) never appear in an error message or a log line.
 */
import { readFileSync } from 'node:fs';
import { AppError, ConfigError, type ErrorKind } from '../errors.js';
import type { NeutronAuth } from './auth.js';
import { httpFetch, type FetchAnswer, type FetchLike } from '../lib/http-fetch.js';
import { REQUEST_ID_HEADER } from '../lib/request-id.js';

export type DomainRef = { id: string } | { name: string };
export type UserRef = { id: string } | { name: string; domain: DomainRef };

export type KeystoneMethod =
  | { kind: 'password'; user: UserRef; password: string }
  | { kind: 'application_credential'; id: string; secret: string }
  | { kind: 'application_credential'; name: string; user: UserRef; secret: string }
  | { kind: 'token'; token: string };

export type KeystoneScope =
  | { project: { id: string } | { name: string; domain: DomainRef } }
  | { domain: DomainRef }
  | { system: { all: true } }
  | { 'OS-TRUST:trust': { id: string } };

export type EndpointInterface = 'public' | 'internal' | 'admin';

export interface TlsOptions {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  insecure?: boolean | undefined;
}

export interface KeystoneAuthOptions {
  /** Keystone URL; `/v3` is appended unless it already ends with it. */
  authUrl: string;
  method: KeystoneMethod;
  /** Absent: unscoped (application credentials carry their own scope). */
  scope?: KeystoneScope | undefined;
  /** Catalog interface of the Neutron endpoint (default public). */
  interface?: EndpointInterface | undefined;
  regionName?: string | undefined;
  /** Neutron URL: wins over the catalog. */
  endpointOverride?: string | undefined;
  /** Catalog service type (default `network`). */
  serviceType?: string | undefined;
  timeoutMs?: number | undefined;
  /** Re-authenticate this long before expires_at (default 120 s, at most half the token's life). */
  refreshMarginMs?: number | undefined;
  /** The transport to Keystone and Neutron (e.g. tlsFetch()); default httpFetch(). */
  fetch?: FetchLike | undefined;
  /** Clock (tests). */
  now?: (() => number) | undefined;
  /** The current request's id, sent as X-OpenStack-Request-ID (Keystone logs it as the global request id). */
  requestId?: (() => string | undefined) | undefined;
}

/** A Keystone call failed. The message names Keystone, the URL, the status and Keystone's reason; never a secret. */
export class KeystoneError extends AppError {
  override readonly name = 'KeystoneError';
  constructor(
    readonly status: number | undefined,
    message: string,
    opts: { code?: string; kind?: ErrorKind; cause?: unknown } = {},
  ) {
    super(
      opts.code ?? (status === undefined ? 'KURYR_ERR_KEYSTONE_UNREACHABLE' : `KURYR_ERR_KEYSTONE_${status}`),
      opts.kind ?? (status === undefined || status >= 500 ? 'unavailable' : 'internal'),
      message,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
  }
}

interface CatalogEndpoint {
  interface?: string;
  region_id?: string | null;
  region?: string | null;
  url?: string;
}
interface CatalogService {
  type?: string;
  name?: string;
  endpoints?: CatalogEndpoint[];
}
interface TokenState {
  token: string;
  endpoint: string;
  obtainedAt: number;
  expiresAt: number;
}

/** `publicURL` / `internalURL` / `adminURL` (Keystone v2 names) are accepted too. */
export function normalizeInterface(value: string): EndpointInterface | undefined {
  const v = value.toLowerCase().replace(/url$/, '');
  return v === 'public' || v === 'internal' || v === 'admin' ? v : undefined;
}

export function v3Url(authUrl: string): string {
  const base = authUrl.trim().replace(/\/+$/, '');
  return /\/v3$/.test(base) ? base : `${base}/v3`;
}

/**
 * A transport whose connections use these TLS settings (the https agent's
 * `ca`, `cert`, `key`, `rejectUnauthorized`). The files are read now, so a
 * wrong path fails at start.
 */
export function tlsFetch(tls: TlsOptions, describe: (key: 'cafile' | 'certfile' | 'keyfile') => string = (k) => k): FetchLike {
  const read = (key: 'cafile' | 'certfile' | 'keyfile', path: string | undefined): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`cannot read ${describe(key)} ${path}: ${(err as Error).message}`);
    }
  };
  return httpFetch({ ca: read('cafile', tls.caFile), cert: read('certfile', tls.certFile), key: read('keyfile', tls.keyFile), insecure: tls.insecure });
}

function domainText(d: DomainRef): string {
  return 'id' in d ? `domain id ${d.id}` : `domain ${d.name}`;
}
function userText(u: UserRef): string {
  return 'id' in u ? `user id ${u.id}` : `user ${u.name} (${domainText(u.domain)})`;
}

export class KeystoneAuth implements NeutronAuth {
  readonly authUrl: string;
  readonly fetch: FetchLike;
  readonly #opts: KeystoneAuthOptions;
  readonly #iface: EndpointInterface;
  readonly #now: () => number;
  readonly #secrets: string[];
  #state: TokenState | undefined;
  #inflight: Promise<TokenState> | undefined;
  #authCount = 0;

  constructor(opts: KeystoneAuthOptions) {
    this.#opts = opts;
    this.authUrl = v3Url(opts.authUrl);
    this.fetch = opts.fetch ?? httpFetch();
    this.#iface = opts.interface ?? 'public';
    this.#now = opts.now ?? Date.now;
    const m = opts.method;
    this.#secrets = [m.kind === 'password' ? m.password : m.kind === 'token' ? m.token : m.secret].filter((s) => s.length > 0);
  }

  /** How many times a token was requested (tests, stats). */
  get authCount(): number {
    return this.#authCount;
  }

  async endpoint(): Promise<string> {
    return (await this.#current()).endpoint;
  }

  async headers(): Promise<Record<string, string>> {
    return { 'X-Auth-Token': (await this.#current()).token };
  }

  invalidate(): void {
    this.#state = undefined;
  }

  /** Resolves when Keystone answers GET /v3 (readiness: no token is asked for); a KeystoneError when it does not. */
  async reachable(timeoutMs = 5000): Promise<void> {
    const requestId = this.#opts.requestId?.();
    let res: FetchAnswer;
    try {
      res = await this.fetch(this.authUrl, {
        method: 'GET',
        headers: { Accept: 'application/json', ...(requestId ? { [REQUEST_ID_HEADER]: requestId } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.text();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new KeystoneError(undefined, `Keystone (GET ${this.authUrl}) is unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    if (!res.ok) throw new KeystoneError(res.status, `Keystone (GET ${this.authUrl}) answered ${res.status} ${res.statusText}`);
  }

  /** One line for the start-up log: method, identity, scope, endpoint choice. No secret. */
  describe(): string {
    const m = this.#opts.method;
    const who =
      m.kind === 'password'
        ? `password of ${userText(m.user)}`
        : m.kind === 'token'
          ? 'token'
          : 'id' in m
            ? `application credential ${m.id}`
            : `application credential ${m.name} of ${userText(m.user)}`;
    const s = this.#opts.scope;
    const scope = !s
      ? m.kind === 'application_credential'
        ? ''
        : ', unscoped'
      : 'project' in s
        ? `, project ${'id' in s.project ? `id ${s.project.id}` : `${s.project.name} (${domainText(s.project.domain)})`}`
        : 'domain' in s
          ? `, ${domainText(s.domain)}`
          : 'system' in s
            ? ', system scope'
            : `, trust ${s['OS-TRUST:trust'].id}`;
    const where = this.#opts.endpointOverride
      ? `endpoint_override ${this.#opts.endpointOverride}`
      : `catalog ${this.#opts.serviceType ?? 'network'} endpoint, interface ${this.#iface}${this.#opts.regionName ? `, region ${this.#opts.regionName}` : ''}`;
    return `Keystone v3 ${this.authUrl}: ${who}${scope}; Neutron: ${where}`;
  }

  async #current(): Promise<TokenState> {
    const s = this.#state;
    if (s) {
      const margin = Math.min(this.#opts.refreshMarginMs ?? 120_000, (s.expiresAt - s.obtainedAt) / 2);
      if (this.#now() < s.expiresAt - margin) return s;
      this.#state = undefined;
    }
    this.#inflight ??= this.#authenticate()
      .then((st) => (this.#state = st))
      .finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  #redact(text: string): string {
    let out = text;
    const token = this.#state?.token;
    for (const secret of token ? [...this.#secrets, token] : this.#secrets) out = out.split(secret).join('***');
    return out;
  }

  #body(): unknown {
    const m = this.#opts.method;
    const identity =
      m.kind === 'password'
        ? { methods: ['password'], password: { user: { ...m.user, password: m.password } } }
        : m.kind === 'token'
          ? { methods: ['token'], token: { id: m.token } }
          : {
              methods: ['application_credential'],
              application_credential: 'id' in m ? { id: m.id, secret: m.secret } : { name: m.name, user: m.user, secret: m.secret },
            };
    const scope = m.kind === 'application_credential' ? undefined : this.#opts.scope;
    return { auth: { identity, ...(scope ? { scope } : {}) } };
  }

  async #authenticate(): Promise<TokenState> {
    this.#authCount++;
    const url = `${this.authUrl}/auth/tokens`;
    const what = `Keystone authentication (POST ${url})`;
    const started = this.#now();
    const requestId = this.#opts.requestId?.();
    let res: FetchAnswer;
    try {
      res = await this.fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(requestId ? { [REQUEST_ID_HEADER]: requestId } : {}) },
        body: JSON.stringify(this.#body()),
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new KeystoneError(undefined, this.#redact(`${what} failed: unreachable: ${detail}`));
    }
    const text = await res.text();
    if (!res.ok) {
      let reason = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { error?: { message?: string; title?: string } };
        reason = parsed.error?.message ?? parsed.error?.title ?? reason;
      } catch {
        /* not JSON: keep the raw text */
      }
      const hint = res.status === 401 ? ' (wrong credentials, or the user has no role on the requested scope)' : '';
      throw new KeystoneError(res.status, this.#redact(`${what} failed: ${res.status} ${res.statusText}: ${reason}${hint}`));
    }
    const token = res.headers.get('x-subject-token');
    if (!token) throw new KeystoneError(res.status, `${what}: the answer has no X-Subject-Token header`, { code: 'KURYR_ERR_KEYSTONE_RESPONSE' });
    let body: { token?: { expires_at?: string; catalog?: CatalogService[] } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new KeystoneError(res.status, `${what}: the answer is not JSON`, { code: 'KURYR_ERR_KEYSTONE_RESPONSE' });
    }
    const expires = Date.parse(body.token?.expires_at ?? '');
    const endpoint = this.#opts.endpointOverride ?? this.#pick(body.token?.catalog);
    return { token, endpoint, obtainedAt: started, expiresAt: Number.isNaN(expires) ? Number.POSITIVE_INFINITY : expires };
  }

  #pick(catalog: CatalogService[] | undefined): string {
    const type = this.#opts.serviceType ?? 'network';
    const region = this.#opts.regionName;
    const fail = (why: string): never => {
      throw new KeystoneError(undefined, `Keystone catalog (${this.authUrl}): ${why}`, { code: 'KURYR_ERR_KEYSTONE_CATALOG', kind: 'internal' });
    };
    if (!catalog || catalog.length === 0) {
      fail('the token has no service catalog (an unscoped token? set a project) and no endpoint_override is given');
    }
    const endpoints = catalog!.filter((s) => s.type === type).flatMap((s) => s.endpoints ?? []);
    if (endpoints.length === 0) fail(`no "${type}" service (set endpoint_override to the ${type === 'network' ? 'Neutron' : `${type} service's`} URL)`);
    const match = endpoints.find(
      (e) => e.url && normalizeInterface(e.interface ?? '') === this.#iface && (!region || e.region_id === region || e.region === region),
    );
    if (!match?.url) {
      const have = endpoints.map((e) => `${e.interface ?? '?'}/${e.region_id ?? e.region ?? '?'}`).join(', ');
      fail(`no "${type}" endpoint for interface ${this.#iface}${region ? ` in region ${region}` : ''} (catalog has: ${have})`);
    }
    return match!.url!;
  }
}
