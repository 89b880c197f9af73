/**
 * DockerApi over the Docker Engine API with dockerode (the Docker client
 * library of the Node ecosystem: request building, the unix socket, stream
 * demultiplexing). Pinned to API 1.41 (Docker 20.10): the container MAC lives
 * in Config.MacAddress there, and endpoint addresses in IPAMConfig. Engine
 * unreachable → DockerUnavailable; Docker's answers → DockerRequestError with
 * its status. Only this file imports dockerode.
 */
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import {
  DockerRequestError,
  DockerUnavailable,
  type ContainerState,
  type DockerApi,
  type DockerContainerSpec,
  type DockerNetworkInfo,
  type DockerNetworkSpec,
  type EndpointRequest,
} from '../ports/docker.js';

export interface DockerEngineOptions {
  socketPath?: string;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  /** Timeout of the health ping (ms): a hung engine must not stall the health check. */
  pingTimeoutMs?: number;
}

function translate(err: unknown): Error {
  const e = err as { statusCode?: number; json?: { message?: string }; reason?: string; message?: string; code?: string };
  if (typeof e.statusCode === 'number') return new DockerRequestError(e.statusCode, e.json?.message ?? e.reason ?? e.message ?? 'error');
  if (e.code && ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'ETIMEDOUT'].includes(e.code)) return new DockerUnavailable(`${e.code}: ${e.message ?? ''}`);
  if (/timeout/i.test(e.message ?? '')) return new DockerUnavailable(e.message ?? 'timeout');
  return err instanceof Error ? err : new Error(String(err));
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw translate(err);
  }
}

/**
 * Docker's multiplexed stream read as it arrives: frames of an 8-byte header
 * (stream 0-2, three zero bytes, big-endian length) and their payload; a
 * stream whose first bytes are no such header (a TTY) passes through.
 */
export class FrameReader {
  #mode: 'unknown' | 'mux' | 'raw' = 'unknown';
  #pending = Buffer.alloc(0);
  #left = 0;

  push(chunk: Buffer): Buffer[] {
    if (this.#mode === 'raw') return [chunk];
    let buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = Buffer.alloc(0);
    const out: Buffer[] = [];
    while (buf.length > 0) {
      if (this.#left > 0) {
        const take = Math.min(this.#left, buf.length);
        out.push(buf.subarray(0, take));
        this.#left -= take;
        buf = buf.subarray(take);
        continue;
      }
      if (buf.length < 8) {
        this.#pending = Buffer.from(buf);
        break;
      }
      const header = buf[0]! <= 2 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0;
      if (!header) {
        if (this.#mode === 'unknown') {
          this.#mode = 'raw';
          out.push(buf);
        }
        break; // a broken frame in a multiplexed stream: the rest is dropped
      }
      this.#mode = 'mux';
      this.#left = buf.readUInt32BE(4);
      buf = buf.subarray(8);
    }
    return out;
  }

  /** Bytes held back waiting for a header's end (a raw stream shorter than 8 bytes). */
  end(): Buffer[] {
    return this.#mode !== 'mux' && this.#pending.length > 0 ? [this.#pending] : [];
  }
}

/** Keeps the first (`head`) or last bytes of what it is given, at most `limit`. */
export class ByteWindow {
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(
    readonly limit: number,
    readonly keep: 'head' | 'tail',
  ) {}

  add(chunk: Buffer): void {
    if (this.keep === 'head') {
      if (this.#size >= this.limit) return;
      const part = chunk.subarray(0, this.limit - this.#size);
      this.#chunks.push(part);
      this.#size += part.length;
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#chunks.length > 1 && this.#size - this.#chunks[0]!.length >= this.limit) this.#size -= this.#chunks.shift()!.length;
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.#chunks);
    return this.keep === 'tail' && all.length > this.limit ? all.subarray(all.length - this.limit) : all;
  }
}

/** Docker's 8-byte-header multiplexed stream (non-TTY logs/exec) → text. */
export function demux(buf: Buffer): string {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && buf[i]! <= 2 && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0) {
    const len = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return i === 0 ? buf.toString('utf8') : Buffer.concat(out).toString('utf8');
}

export class DockerEngine implements DockerApi {
  readonly #docker: Docker;
  readonly #pinger: Docker;

  constructor(opts: DockerEngineOptions = {}) {
    const socketPath = opts.socketPath ?? '/var/run/docker.sock';
    this.#docker = new Docker({ socketPath, version: 'v1.41', timeout: opts.timeoutMs ?? 120_000 });
    this.#pinger = new Docker({ socketPath, version: 'v1.41', timeout: opts.pingTimeoutMs ?? 3_000 });
  }

  ping(): Promise<void> {
    return call(async () => {
      await this.#pinger.ping();
    });
  }

  createNetwork(spec: DockerNetworkSpec): Promise<string> {
    return call(async () => {
      const net = await this.#docker.createNetwork({
        Name: spec.name,
        Driver: spec.driver,
        CheckDuplicate: true,
        EnableIPv6: spec.enableIpv6,
        Options: spec.options,
        Labels: spec.labels,
        IPAM: { Driver: spec.ipamDriver, Options: spec.ipamOptions, Config: spec.ipamConfig.map((c) => ({ Subnet: c.subnet, ...(c.gateway ? { Gateway: c.gateway } : {}) })) },
      });
      return net.id;
    });
  }

  findNetwork(name: string): Promise<DockerNetworkInfo | undefined> {
    return call(async () => {
      const all = await this.#docker.listNetworks({ filters: { name: [name] } });
      const n = all.find((x) => x.Name === name);
      return n ? { id: n.Id, name: n.Name, containers: Object.keys(n.Containers ?? {}).length, labels: n.Labels ?? {} } : undefined;
    });
  }

  async removeNetwork(nameOrId: string): Promise<void> {
    try {
      await call(() => this.#docker.getNetwork(nameOrId).remove());
    } catch (err) {
      if (err instanceof DockerRequestError && err.status === 404) return;
      throw err;
    }
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await call(() => this.#docker.getImage(image).inspect());
      return true;
    } catch (err) {
      if (err instanceof DockerRequestError && err.status === 404) return false;
      throw err;
    }
  }

  createContainer(spec: DockerContainerSpec): Promise<string> {
    return call(async () => {
      const endpoint = spec.endpoint;
      const c = await this.#docker.createContainer({
        name: spec.name,
        Image: spec.image,
        ...(spec.command ? { Cmd: spec.command } : {}),
        ...(spec.env ? { Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`) } : {}),
        ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
        ...(spec.hostname ? { Hostname: spec.hostname } : {}),
        ...(spec.macAddress ? { MacAddress: spec.macAddress } : {}),
        ...(spec.exposedPorts ? { ExposedPorts: Object.fromEntries(spec.exposedPorts.map((p) => [p, {}])) } : {}),
        Labels: spec.labels,
        HostConfig: { NetworkMode: spec.networkMode, ...(spec.ipcMode ? { IpcMode: spec.ipcMode } : {}) },
        ...(endpoint
          ? { NetworkingConfig: { EndpointsConfig: { [endpoint.network]: { IPAMConfig: ipam(endpoint) } } } }
          : {}),
      });
      return c.id;
    });
  }

  async startContainer(id: string): Promise<void> {
    try {
      await call(() => this.#docker.getContainer(id).start());
    } catch (err) {
      if (err instanceof DockerRequestError && err.status === 304) return;
      throw err;
    }
  }

  async stopContainer(id: string, timeoutS: number): Promise<void> {
    try {
      await call(() => this.#docker.getContainer(id).stop({ t: timeoutS }));
    } catch (err) {
      if (err instanceof DockerRequestError && err.status === 304) return;
      throw err;
    }
  }

  async removeContainer(id: string, force: boolean): Promise<void> {
    try {
      await call(() => this.#docker.getContainer(id).remove({ force, v: true }));
    } catch (err) {
      if (err instanceof DockerRequestError && err.status === 404) return;
      throw err;
    }
  }

  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    try {
      const info = await call(() => this.#docker.getContainer(id).inspect());
      const networks: ContainerState['networks'] = {};
      for (const [name, n] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
        networks[name] = { ipv4: n.IPAddress ?? '', ipv6: n.GlobalIPv6Address ?? '', mac: n.MacAddress ?? '' };
      }
      return { id: info.Id, running: info.State.Running, status: info.State.Status, exitCode: info.State.ExitCode, networks };
    } catch (err) {
      if (err instanceof DockerRequestError && err.status === 404) return undefined;
      throw err;
    }
  }

  connectNetwork(network: string, containerId: string, endpoint: EndpointRequest): Promise<void> {
    return call(async () => {
      await this.#docker.getNetwork(network).connect({ Container: containerId, EndpointConfig: { IPAMConfig: ipam(endpoint) } });
    });
  }

  async disconnectNetwork(network: string, containerId: string): Promise<void> {
    try {
      await call(() => this.#docker.getNetwork(network).disconnect({ Container: containerId, Force: true }));
    } catch (err) {
      if (err instanceof DockerRequestError && (err.status === 404 || /is not connected/.test(err.message))) return;
      throw err;
    }
  }

  logs(id: string, opts: { stdout: boolean; stderr: boolean; tail?: number; maxBytes?: number }): Promise<string> {
    return call(async () => {
      // read as a stream (dockerode buffers the whole answer otherwise): memory stays within maxBytes
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
        (this.#docker.modem as { dial: (o: object, cb: (err: unknown, data: unknown) => void) => void }).dial(
          {
            path: `/containers/${encodeURIComponent(id)}/logs?`,
            method: 'GET',
            isStream: true,
            statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
            options: { follow: false, stdout: opts.stdout, stderr: opts.stderr, ...(opts.tail !== undefined ? { tail: opts.tail } : {}) },
          },
          (err, data) => (err ? reject(err) : resolve(data as NodeJS.ReadableStream)),
        );
      });
      const frames = new FrameReader();
      const window = new ByteWindow(opts.maxBytes !== undefined ? opts.maxBytes + 1 : Number.MAX_SAFE_INTEGER, 'tail');
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (d: Buffer) => frames.push(Buffer.isBuffer(d) ? d : Buffer.from(String(d))).forEach((b) => window.add(b)));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      frames.end().forEach((b) => window.add(b));
      return window.bytes().toString('utf8');
    });
  }

  exec(id: string, command: string[], opts: { maxBytes?: number; timeoutMs?: number } = {}): Promise<{ exitCode: number; output: string; timedOut?: boolean }> {
    return call(async () => {
      const container = this.#docker.getContainer(id);
      const ex = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
      const stream = await ex.start({ hijack: true, stdin: false });
      const window = new ByteWindow(opts.maxBytes !== undefined ? opts.maxBytes + 1 : Number.MAX_SAFE_INTEGER, 'head');
      const sink = new PassThrough();
      sink.on('data', (d: Buffer) => window.add(d));
      this.#docker.modem.demuxStream(stream, sink, sink);
      let timedOut = false;
      await new Promise<void>((resolve, reject) => {
        const timer = opts.timeoutMs !== undefined ? setTimeout(() => ((timedOut = true), stream.destroy(), resolve()), opts.timeoutMs) : undefined;
        const done = (): void => (clearTimeout(timer), resolve());
        stream.on('end', done);
        stream.on('close', done);
        stream.on('error', (err) => (clearTimeout(timer), timedOut ? resolve() : reject(err)));
      });
      const info = await ex.inspect();
      return { exitCode: info.Running ? -1 : (info.ExitCode ?? -1), output: window.bytes().toString('utf8'), ...(timedOut ? { timedOut } : {}) };
    });
  }
}

function ipam(e: EndpointRequest): { IPv4Address?: string; IPv6Address?: string } {
  return { ...(e.ipv4 ? { IPv4Address: e.ipv4 } : {}), ...(e.ipv6 ? { IPv6Address: e.ipv6 } : {}) };
}
