/** An in-memory DockerEngine: networks with their endpoints on this host, and an injectable outage. */
import { AppError } from '@kuryr-ts/openstack/errors';
import type { DockerEngine, DockerNetworkInfo } from '../src/ports/docker-engine.js';

export class FakeDocker implements DockerEngine {
  readonly nets = new Map<string, DockerNetworkInfo & { endpoints: Set<string> }>();
  /** Docker does not answer. */
  down = false;
  calls = 0;

  addNetwork(id: string, driver = 'kuryr', name = id.slice(0, 12)): void {
    this.nets.set(id, { id, name, driver, endpoints: new Set() });
  }

  addEndpoint(networkId: string, endpointId: string): void {
    if (!this.nets.has(networkId)) this.addNetwork(networkId);
    this.nets.get(networkId)!.endpoints.add(endpointId);
  }

  removeEndpoint(endpointId: string): void {
    for (const n of this.nets.values()) n.endpoints.delete(endpointId);
  }

  #check(): void {
    this.calls++;
    if (this.down) throw new AppError('KURYR_ERR_DOCKER', 'unavailable', 'Docker Engine unix:///var/run/docker.sock: GET /networks failed: connect ECONNREFUSED');
  }

  async networks(): Promise<DockerNetworkInfo[]> {
    this.#check();
    return [...this.nets.values()].map(({ id, name, driver }) => ({ id, name, driver }));
  }

  async endpoints(networkId: string): Promise<string[] | undefined> {
    this.#check();
    const n = this.nets.get(networkId);
    return n ? [...n.endpoints] : undefined;
  }
}
