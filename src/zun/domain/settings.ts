/** Settings and collaborators shared by the domain services (built by the composition root). */
export interface ZunSettings {
  /** This compute host's name: binding:host_id of the ports and the `host` of rows (kuryr's [binding] host_id). */
  host: string;
  /** Docker network and IPAM driver name (Zun's [network] driver_name). */
  driverName: string;
  /** The sandbox (infra) image that owns a container's network namespace. */
  sandboxImage: string;
  /** Seconds `docker stop` waits before SIGKILL. */
  stopTimeoutS: number;
}

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Clock {
  now(): string;
  newId(): string;
}
