/**
 * The HTTP transport of the Keystone and Neutron clients: node:http/https
 * with keep-alive agents, behind the small `fetch` subset the clients use
 * (FetchLike). Node's global fetch would do the same work, but it loads
 * undici and its WASM HTTP parser (3-6 MB of resident memory in a daemon
 * that makes one kind of request), while node:http's parser is already in
 * the process for the plugin server. TLS options (CA bundle, client
 * certificate, no verification) go into the https agent.
 *
 * Failures look like fetch's, so callers keep one error path: a connection
 * error rejects with `TypeError('fetch failed', { cause })` (cause: the
 * socket error, with its code), an aborted request with the signal's reason
 * (a `TimeoutError` for AbortSignal.timeout). The answer's body is read
 * before the promise resolves, under the same signal. Redirects are
 * followed (at most 5), as fetch does.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What a request carries: fetch's RequestInit, narrowed to what the clients send. */
export interface FetchInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

/** What the clients read from an answer: a subset of fetch's Response, which satisfies it. */
export interface FetchAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The subset of `fetch` the Neutron and Keystone clients use. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchAnswer>;

export interface HttpFetchOptions {
  /** PEM CA bundle (https). */
  readonly ca?: Buffer | undefined;
  /** PEM client certificate and key (https). */
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  /** Skip certificate verification (https). */
  readonly insecure?: boolean | undefined;
  /** An idle pooled connection is closed after this long (default 4 s, as undici). */
  readonly idleMs?: number | undefined;
}

const MAX_REDIRECTS = 5;
/** Not sent to another origin after a redirect. */
const CREDENTIAL_HEADERS = ['x-auth-token', 'x-subject-token', 'authorization', 'x-service-token'];

/** A FetchLike with its own keep-alive connection pools (one per scheme); `close()` ends idle connections. */
export interface HttpFetch extends FetchLike {
  close(): void;
}

export function httpFetch(opts: HttpFetchOptions = {}): HttpFetch {
  const idleMs = opts.idleMs ?? 4000;
  const http = new HttpAgent({ keepAlive: true, timeout: idleMs });
  const https = new HttpsAgent({
    keepAlive: true,
    timeout: idleMs,
    rejectUnauthorized: !opts.insecure,
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.cert ? { cert: opts.cert } : {}),
    ...(opts.key ? { key: opts.key } : {}),
  });
  const send = (url: string, init: FetchInit): Promise<FetchAnswer> =>
    new Promise<FetchAnswer>((resolve, reject) => {
      const signal = init.signal;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${target.protocol}`) }));
        return;
      }
      const body = init.body === undefined ? undefined : Buffer.from(init.body);
      const headers: Record<string, string | number> = { ...init.headers };
      if (body) headers['Content-Length'] = body.length;
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      const onAbort = (): void => {
        fail(signal?.reason);
        req.destroy();
      };
      const req = (secure ? httpsRequest : httpRequest)(target, { method: init.method ?? 'GET', headers, agent: secure ? https : http }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => fail(new TypeError('fetch failed', { cause: err })));
        res.on('close', () => {
          if (!res.complete) fail(new TypeError('fetch failed', { cause: new Error('the connection closed before the answer ended') }));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(answer(res, Buffer.concat(chunks).toString('utf8')));
        });
      });
      req.on('error', (err) => fail(new TypeError('fetch failed', { cause: err })));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    });
  // Redirects are followed as fetch (and python-requests, keystoneauth's HTTP client) do: 303, and 301/302
  // of a POST, become a GET without a body; 307/308 keep the method and body. Credentials stay on the origin.
  const follow = async (url: string, init: FetchInit, hops = 0): Promise<FetchAnswer> => {
    const res = await send(url, init);
    const location = res.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(res.status) || !location || hops >= MAX_REDIRECTS) return res;
    const next = new URL(location, url);
    const toGet = res.status === 303 || ((res.status === 301 || res.status === 302) && init.method === 'POST');
    const headers = Object.fromEntries(
      Object.entries(init.headers ?? {}).filter(
        ([k]) => !(toGet && k.toLowerCase() === 'content-type') && (next.origin === new URL(url).origin || !CREDENTIAL_HEADERS.includes(k.toLowerCase())),
      ),
    );
    const { body, ...rest } = init;
    return follow(next.href, { ...rest, headers, ...(toGet ? { method: 'GET' } : body !== undefined ? { body } : {}) }, hops + 1);
  };
  return Object.assign(follow, {
    close: () => {
      http.destroy();
      https.destroy();
    },
  });
}

function answer(res: IncomingMessage, text: string): FetchAnswer {
  const status = res.statusCode ?? 0;
  return {
    status,
    statusText: res.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    headers: {
      get: (name) => {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    text: async () => text,
  };
}
