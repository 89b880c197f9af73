/**
 * A minimal Keystone and Neutron on 127.0.0.1 for tests of what goes over
 * the wire (headers such as X-OpenStack-Request-ID): it records every
 * request and answers just enough — Keystone's version document, tokens and
 * token validation; Neutron's extensions (all present) and empty lists of
 * any resource. `down` makes it answer 503 to everything.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

const SINGULAR: Record<string, string> = { 'security-groups': 'security_group', 'security-group-rules': 'security_group_rule', subnetpools: 'subnetpool' };

export class LoopbackOpenStack {
  readonly requests: RecordedRequest[] = [];
  /** Answer 503 to every request. */
  down = false;
  readonly #server: Server;
  #base = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.requests.push({ method: req.method ?? 'GET', path, headers: req.headers });
      req.resume();
      req.on('end', () => {
        const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
          res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
        };
        if (this.down) return send(503, { error: 'down' });
        const url = new URL(path, 'http://x');
        const p = url.pathname.replace(/\/+$/, '');
        if (p === '/identity/v3' && req.method === 'GET') return send(200, { version: { id: 'v3.14', status: 'stable' } });
        if (p === '/identity/v3/auth/tokens' && req.method === 'POST') {
          const expires = new Date(Date.now() + 3600_000).toISOString();
          return send(201, { token: { expires_at: expires, catalog: [{ type: 'network', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: `${this.#base}/neutron` }] }] } }, { 'X-Subject-Token': 'tok-service' });
        }
        if (p === '/identity/v3/auth/tokens' && req.method === 'GET') {
          const expires = new Date(Date.now() + 3600_000).toISOString();
          return send(200, { token: { expires_at: expires, user: { id: 'u1' }, project: { id: 'p1' }, roles: [{ name: 'member' }] } });
        }
        const neutron = /^\/neutron\/v2\.0\/([^/]+)(?:\/([^/]+))?$/.exec(p);
        if (neutron && req.method === 'GET') {
          const [, resource, id] = neutron;
          if (resource === 'extensions' && id) return send(200, { extension: { alias: id } });
          if (!id) return send(200, { [`${SINGULAR[resource!] ?? resource!.replace(/s$/, '')}s`]: [] });
        }
        return send(404, { NeutronError: { type: 'NotFound', message: `no ${req.method} ${p} here` } });
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Keystone's auth_url. */
  get authUrl(): string {
    return `${this.#base}/identity/v3`;
  }

  /** Neutron's endpoint (an endpoint_override). */
  get neutronUrl(): string {
    return `${this.#base}/neutron`;
  }

  /** The requests whose path starts with `prefix`. */
  to(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  stop(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
