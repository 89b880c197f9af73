/** Settings and collaborators shared by the domain services (built by the composition root). */
export interface ZunSettings {
  /** Docker network and IPAM driver name (Zun's [network] driver_name). */
  driverName: string;
  /** The sandbox (infra) image that owns a container's network namespace. */
  sandboxImage: string;
  /** Seconds `docker stop` waits before SIGKILL. */
  stopTimeoutS: number;
  /** Largest log text answered (bytes; longer logs keep their end, marked). Default DEFAULT_OUTPUT_BYTES. */
  maxLogBytes?: number;
  /** Largest exec output answered (bytes; longer output keeps its start, marked). Default DEFAULT_OUTPUT_BYTES. */
  maxExecOutputBytes?: number;
  /** Seconds an exec is waited for (then its output so far is answered, marked). Default 300. */
  execTimeoutS?: number;
}

export const DEFAULT_OUTPUT_BYTES = 1024 * 1024;

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Clock {
  now(): string;
  newId(): string;
  /** Waits (the read-back of a row another zun-api process is still creating; Zun's backoff). */
  sleep(ms: number): Promise<void>;
}
