/**
 * The subset of the Docker Engine API the container service uses, for one
 * Docker host (consumer owned: no dockerode type crosses it; the adapter is
 * adapters/docker-engine.ts; domain/compute-hosts.ts holds one per compute
 * host). Errors: DockerUnavailable when the engine cannot be reached,
 * DockerRequestError (with Docker's status) otherwise.
 */
export interface DockerNetworkSpec {
  name: string;
  driver: string;
  ipamDriver: string;
  options: Record<string, string>;
  ipamOptions: Record<string, string>;
  ipamConfig: Array<{ subnet: string; gateway?: string }>;
  enableIpv6: boolean;
  labels: Record<string, string>;
}

export interface EndpointRequest {
  network: string;
  ipv4?: string;
  ipv6?: string;
}

export interface DockerContainerSpec {
  name: string;
  image: string;
  command?: string[];
  env?: Record<string, string>;
  workdir?: string;
  hostname?: string;
  labels: Record<string, string>;
  /** A network name, or `container:<id>` to join another container's namespaces. */
  networkMode: string;
  /** The endpoint of `networkMode` when it is a network (IPAM addresses handed to the driver). */
  endpoint?: EndpointRequest;
  /** Container MAC (API 1.41 keeps it in Config). */
  macAddress?: string;
  ipcMode?: string;
  exposedPorts?: string[];
}

export interface ContainerState {
  id: string;
  running: boolean;
  status: string;
  exitCode: number;
  /** Network name → IPv4 address Docker reports. */
  networks: Record<string, { ipv4: string; ipv6: string; mac: string }>;
}

export interface DockerNetworkInfo {
  id: string;
  name: string;
  containers: number;
  labels: Record<string, string>;
}

export interface DockerApi {
  /** Docker's `GET /_ping` with a short timeout: resolves when the engine answers, else DockerUnavailable. */
  ping(): Promise<void>;
  /** Returns the Docker network id. Docker's 409 when the name is taken. */
  createNetwork(spec: DockerNetworkSpec): Promise<string>;
  findNetwork(name: string): Promise<DockerNetworkInfo | undefined>;
  /** Idempotent: a missing network is success. */
  removeNetwork(nameOrId: string): Promise<void>;
  imageExists(image: string): Promise<boolean>;
  /** Returns the container id. */
  createContainer(spec: DockerContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Idempotent: an already stopped container is success. */
  stopContainer(id: string, timeoutS: number): Promise<void>;
  /** Idempotent: a missing container is success. */
  removeContainer(id: string, force: boolean): Promise<void>;
  inspectContainer(id: string): Promise<ContainerState | undefined>;
  connectNetwork(network: string, containerId: string, endpoint: EndpointRequest): Promise<void>;
  /** Idempotent: not connected / missing is success. */
  disconnectNetwork(network: string, containerId: string): Promise<void>;
  /**
   * The container's log text. With `maxBytes`, at most that many bytes plus
   * one are kept, from the end (memory stays bounded; a longer answer tells
   * the caller there was more).
   */
  logs(id: string, opts: { stdout: boolean; stderr: boolean; tail?: number; maxBytes?: number }): Promise<string>;
  /**
   * Runs a command in the container. With `maxBytes`, at most that many bytes
   * plus one of output are kept, from the start (the rest is read and
   * dropped); with `timeoutMs`, the wait ends then (`timedOut`, exit code -1
   * when the command is still running).
   */
  exec(id: string, command: string[], opts?: { maxBytes?: number; timeoutMs?: number }): Promise<{ exitCode: number; output: string; timedOut?: boolean }>;
}

export class DockerUnavailable extends Error {
  override readonly name = 'DockerUnavailable';
}

export class DockerRequestError extends Error {
  override readonly name = 'DockerRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
