/**
 * DockerEngine over the Engine API of the local Docker (`[DEFAULT]
 * docker_host`, by default its unix socket): two read-only GETs with
 * node:http, no client library — the driver needs no more of Docker than
 * this, and its plugin image stays small.
 */
import { request, type RequestOptions } from 'node:http';
import { AppError, ConfigError } from '@kuryr-ts/openstack/errors';
import type { DockerEngine, DockerNetworkInfo } from '../../ports/docker-engine.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** `unix:///path` (or a bare path) → a unix socket; `tcp://host:port` → plain HTTP. */
export function parseDockerHost(value: string): { socketPath: string } | { host: string; port: number } {
  if (value.startsWith('unix://')) return { socketPath: value.slice('unix://'.length) };
  if (value.startsWith('/')) return { socketPath: value };
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(value);
  if (m) return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new ConfigError(`invalid value for [DEFAULT] docker_host: "${value}" (unix:///path/to/docker.sock or tcp://host:port)`);
}

export interface EngineApiOptions {
  /** `[DEFAULT] docker_host`. */
  dockerHost: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

interface Reply {
  status: number;
  body: string;
}

export class EngineApi implements DockerEngine {
  readonly #target: { socketPath: string } | { host: string; port: number };
  readonly #timeoutMs: number;
  readonly #where: string;

  constructor(opts: EngineApiOptions) {
    this.#target = parseDockerHost(opts.dockerHost);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#where = opts.dockerHost;
  }

  #get(path: string): Promise<Reply> {
    const options: RequestOptions = { ...this.#target, path, method: 'GET', timeout: this.#timeoutMs, headers: { Accept: 'application/json' } };
    return new Promise((resolve, reject) => {
      const req = request(options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => reject(this.#error(`GET ${path}`, err.message)));
      req.end();
    });
  }

  #error(call: string, detail: string): AppError {
    return new AppError('KURYR_ERR_DOCKER', 'unavailable', `Docker Engine ${this.#where}: ${call} failed: ${detail}`);
  }

  #json<T>(call: string, reply: Reply): T {
    if (reply.status !== 200) throw this.#error(call, `${reply.status} ${reply.body.trim().slice(0, 300)}`);
    try {
      return JSON.parse(reply.body) as T;
    } catch (err) {
      throw this.#error(call, `not JSON: ${(err as Error).message}`);
    }
  }

  async networks(): Promise<DockerNetworkInfo[]> {
    const list = this.#json<Array<{ Id?: string; Name?: string; Driver?: string }>>('GET /networks', await this.#get('/networks'));
    if (!Array.isArray(list)) throw this.#error('GET /networks', 'not a list');
    return list.filter((n) => typeof n.Id === 'string').map((n) => ({ id: n.Id!, name: n.Name ?? '', driver: n.Driver ?? '' }));
  }

  async endpoints(networkId: string): Promise<string[] | undefined> {
    const path = `/networks/${encodeURIComponent(networkId)}`;
    const reply = await this.#get(path);
    if (reply.status === 404) return undefined;
    const net = this.#json<{ Containers?: Record<string, { EndpointID?: string }> | null }>(`GET ${path}`, reply);
    return Object.values(net.Containers ?? {})
      .map((c) => c.EndpointID ?? '')
      .filter((id) => id !== '');
  }
}
