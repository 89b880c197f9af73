/**
 * What CNI attachments need from the host beyond the binding drivers: the
 * container's network namespace (given by the runtime as a path, e.g.
 * /var/run/netns/x or /proc/<pid>/ns/net). The real implementation is
 * adapters/linux/netns-ops.ts; the fake is in test/fake-host.ts. Every method
 * throws HostError naming the failed step.
 */

export interface NetnsRoute {
  /** CIDR, e.g. 0.0.0.0/0. */
  destination: string;
  /** Next hop; none for an on-link route. */
  via?: string | undefined;
}

export interface ContainerLinkSpec {
  /** The namespace path. */
  netns: string;
  /** The link in the host namespace that goes into the container (a veth peer). */
  link: string;
  /** Its name inside the namespace (CNI_IFNAME). */
  ifname: string;
  mac: string;
  mtu: number;
  /** Addresses with their prefix length, e.g. 10.0.0.5/24. */
  addresses: string[];
  routes: NetnsRoute[];
}

export interface ContainerLinkState {
  mac: string;
  /** Addresses with their prefix length (global scope only). */
  addresses: string[];
  up: boolean;
}

export interface NetnsOps {
  /** Whether the namespace path exists and is a network namespace. */
  exists(netns: string): Promise<boolean>;
  /**
   * Moves `link` into the namespace, renames it, sets its MAC and MTU, adds
   * the addresses, brings it up and adds the routes. Fails if `ifname`
   * already exists there.
   */
  setUp(spec: ContainerLinkSpec): Promise<void>;
  /** The interface as the namespace sees it; undefined when the namespace or the interface is gone. */
  inspect(netns: string, ifname: string): Promise<ContainerLinkState | undefined>;
  /** Idempotent: false when the namespace or the interface is already gone. */
  remove(netns: string, ifname: string): Promise<boolean>;
}
