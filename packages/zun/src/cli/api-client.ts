/**
 * The CLI's client of zun-api: the connection (URL and identity, see
 * connection.ts), the microversion header (`latest` / `1.latest` are sent as
 * `container latest`), Zun's error body turned into ApiError(status, detail),
 * and a server that cannot be reached reported as such (UnreachableError),
 * never as an HTTP status it did not send.
 */
import type { Connection } from './connection.js';

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

/** No HTTP answer at all: refused, unknown host, reset, timed out. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

export interface ClientOptions {
  connection: Connection;
  /** `1.N`, `latest`, `1.latest` or `1` (python-zunclient's spellings of the newest). */
  apiVersion: string;
  timeoutMs?: number;
}

/** The OpenStack-API-Version header value for a `--zun-api-version`, or undefined when malformed. */
export function versionHeader(version: string): string | undefined {
  const v = version.trim();
  if (/^(1(\.latest)?|latest)$/i.test(v)) return 'container latest';
  return /^\d+\.\d+$/.test(v) ? `container ${v}` : undefined;
}

function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

export class ZunClient {
  constructor(readonly opts: ClientOptions) {}

  async request<T = unknown>(method: string, path: string, opts: { query?: Record<string, string | undefined>; body?: unknown } = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) params.append(k, v);
    const qs = params.toString();
    const version = versionHeader(this.opts.apiVersion) ?? `container ${this.opts.apiVersion}`;
    const base = await this.opts.connection.baseUrl();
    const headers: Record<string, string> = { Accept: 'application/json', 'OpenStack-API-Version': version, ...(await this.opts.connection.headers()) };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${base}${path}${qs ? `?${qs}` : ''}`, {
        method,
        headers,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 120_000),
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      });
    } catch (err) {
      const via = this.opts.connection.via;
      throw new UnreachableError(`cannot reach zun-api at ${base}: ${reasonOf(err)}${via ? ` (${via})` : ''}`, { cause: err });
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
