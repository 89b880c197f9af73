/**
 * A counting HTTP proxy in front of Neutron: the bench's own kuryr daemon is
 * pointed at it ([neutron] endpoint_override), so every Neutron call the
 * daemon makes is seen, timed and classified here, outside the daemon.
 * Keystone traffic does not pass through it (the daemon talks to Keystone
 * directly), so the counts are Neutron API calls only.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedCall {
  /** ms since the proxy started, when the request arrived */
  start: number;
  /** ms until the last byte of Neutron's answer was sent back */
  ms: number;
  method: string;
  /** path with ids and query values elided: "GET /v2.0/ports?fixed_ips" */
  shape: string;
  status: number;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** "GET /v2.0/ports/<uuid>/tags/kuryr.net.uuid.lh:abc?x=1&y=2" → "GET ports/{id}/tags/{tag}?x&y" */
export function shapeOf(method: string, url: string): string {
  const [rawPath, query] = url.split('?', 2) as [string, string | undefined];
  let path = rawPath.replace(/^\/v2\.0\//, '').replace(UUID, '{id}');
  path = path.replace(/\/tags\/[^/]+$/, '/tags/{tag}');
  const keys = query ? [...new Set([...new URLSearchParams(query).keys()])].sort() : [];
  return `${method} ${path}${keys.length > 0 ? `?${keys.join('&')}` : ''}`;
}

export class CountingProxy {
  readonly calls: ProxiedCall[] = [];
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #t0 = performance.now();
  #server: Server | undefined;
  #inFlight = 0;

  constructor(readonly upstream: URL) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  now(): number {
    return performance.now() - this.#t0;
  }

  async start(): Promise<number> {
    this.#server = createServer((req, res) => this.#forward(req, res));
    this.#server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => this.#server!.once('error', reject).listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#agent.destroy();
  }

  /** Waits until no call has been in flight or started for `quietMs` (late background calls land in the right window). */
  async quiesce(quietMs = 150, maxMs = 5_000): Promise<void> {
    const deadline = Date.now() + maxMs;
    let seen = this.calls.length;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      if (this.#inFlight > 0 || this.calls.length !== seen) {
        seen = this.calls.length;
        quietSince = Date.now();
      } else if (Date.now() - quietSince >= quietMs) {
        return;
      }
    }
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const start = this.now();
    this.#inFlight += 1;
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      this.#inFlight -= 1;
      this.calls.push({ start, ms: this.now() - start, method, shape: shapeOf(method, url), status });
    };
    const headers = { ...req.headers, host: this.upstream.host };
    const up = request(
      { host: this.upstream.hostname, port: this.upstream.port, method, path: url, headers, agent: this.#agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on('end', () => finish(upRes.statusCode ?? 502));
        upRes.on('error', () => finish(502));
      },
    );
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`bench proxy: ${err.message}`);
      finish(502);
    });
    req.pipe(up);
  }
}

/** Wall time during which at least one of the calls was in flight (overlapping calls counted once). */
/** The most calls in flight at one moment among these. */
export function maxInFlight(calls: readonly ProxiedCall[]): number {
  const edges = calls.flatMap((c) => [[c.start, 1], [c.start + c.ms, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (now += step));
  return most;
}

/** The most calls of each shape in flight at one moment. */
export function inFlightByShape(calls: readonly ProxiedCall[]): Record<string, number> {
  const shapes = new Map<string, ProxiedCall[]>();
  for (const c of calls) {
    const same = shapes.get(c.shape);
    if (same) same.push(c);
    else shapes.set(c.shape, [c]);
  }
  return Object.fromEntries([...shapes].map(([shape, cs]) => [shape, maxInFlight(cs)]));
}

export function busyMs(calls: readonly ProxiedCall[]): number {
  const spans = calls.map((c) => [c.start, c.start + c.ms] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [s, e] of spans) {
    if (s > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) {
      curEnd = e;
    }
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}
