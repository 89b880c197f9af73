/**
 * The local Docker Engine as the reconciler sees it: the networks of this
 * Docker host and the endpoints each has here (consumer-owned interface; the
 * HTTP adapter is adapters/docker/engine-api.ts, the fake test/fake-docker.ts).
 * Every method throws an AppError (KURYR_ERR_DOCKER) when Docker does not answer.
 */

export interface DockerNetworkInfo {
  id: string;
  name: string;
  /** The network driver's name (a remote plugin's is its socket's base name, e.g. `kuryr`). */
  driver: string;
}

export interface DockerEngine {
  /** Every network of this Docker host, whatever its driver (`GET /networks`). */
  networks(): Promise<DockerNetworkInfo[]>;
  /**
   * The endpoint ids this Docker host has on a network (`GET /networks/<id>`:
   * `Containers[*].EndpointID`, with or without a sandbox); undefined when the
   * network is gone meanwhile.
   */
  endpoints(networkId: string): Promise<string[] | undefined>;
}
