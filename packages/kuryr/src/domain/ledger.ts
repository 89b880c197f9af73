/**
 * What this process has in hand that Neutron cannot show yet: Docker requests
 * in flight, ports RequestAddress handed out that no CreateEndpoint has taken
 * yet, ports bound to endpoints this process made and has not deleted, pools
 * RequestPool handed out, and creates whose reply was lost and whose object
 * was not found (it may still appear). The reconciler leaves alone whatever
 * is in flight or freshly handed out; ReleaseAddress never deletes a port
 * bound to an endpoint this process made and Docker has not deleted.
 *
 * Memory only and bounded: after a restart nothing is in flight, and Neutron's
 * timestamps and the host's plumbing speak instead.
 */
import { BoundedMap } from '@kuryr-ts/openstack/lib/bounded-map';

export interface LedgerOptions {
  /** How long a hand-out (port or pool) protects its object without a follow-up call (ms). */
  holdMs: number;
  /** The clock (ms); default Date.now. */
  now?: (() => number) | undefined;
  /** Entries kept per kind (default 4096). */
  capacity?: number | undefined;
}

export class Ledger {
  /** Keys (request identities, port, endpoint and network ids) of work in flight, with counts. */
  readonly #busy = new Map<string, number>();
  /** Who waits for a busy key to be free again. */
  readonly #waiting = new Map<string, Array<() => void>>();
  readonly #handedOut: BoundedMap<string, number>;
  readonly #pools: BoundedMap<string, number>;
  /** Live endpoints made here: port id → endpoint id, and back. */
  readonly #endpointOfPort = new Map<string, string>();
  readonly #portOfEndpoint = new Map<string, string>();
  readonly #lost: BoundedMap<string, true>;
  readonly #holdMs: number;
  readonly #now: () => number;

  constructor(opts: LedgerOptions) {
    const capacity = opts.capacity ?? 4096;
    this.#handedOut = new BoundedMap(capacity);
    this.#pools = new BoundedMap(capacity);
    this.#lost = new BoundedMap(capacity);
    this.#holdMs = opts.holdMs;
    this.#now = opts.now ?? Date.now;
  }

  /** Marks `keys` busy while `work` runs. */
  async during<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const release = this.hold(...keys);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Marks `keys` busy until the returned function is called (once). */
  hold(...keys: string[]): () => void {
    for (const k of keys) this.#busy.set(k, (this.#busy.get(k) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const k of keys) {
        const n = (this.#busy.get(k) ?? 1) - 1;
        if (n > 0) {
          this.#busy.set(k, n);
          continue;
        }
        this.#busy.delete(k);
        const waiting = this.#waiting.get(k);
        this.#waiting.delete(k);
        for (const go of waiting ?? []) go();
      }
    };
  }

  busy(key: string): boolean {
    return this.#busy.has(key);
  }

  /** Resolves once no work holds `key` (at once if none does). */
  whenFree(key: string): Promise<void> {
    if (!this.#busy.has(key)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.#waiting.get(key) ?? [];
      waiting.push(resolve);
      this.#waiting.set(key, waiting);
    });
  }

  /** RequestAddress answered with this port: held until ReleaseAddress frees it or holdMs passes. */
  handOut(portId: string): void {
    this.#handedOut.set(portId, this.#now());
    this.#forgetExpired(this.#handedOut);
  }

  /** The port was taken by an endpoint or released. */
  settle(portId: string): void {
    this.#handedOut.delete(portId);
  }

  /**
   * RequestPool answered with this pool: held for holdMs (until a network uses it). Not
   * released by ReleasePool: another Docker network of the same CIDR may have just been handed
   * the same pool.
   */
  handOutPool(poolId: string): void {
    this.#pools.set(poolId, this.#now());
    this.#forgetExpired(this.#pools);
  }

  /**
   * CreateEndpoint bound this port for this endpoint. The port stays in hand
   * for holdMs more: Docker records the endpoint only after the reply.
   */
  bind(portId: string, endpointId: string): void {
    this.#handedOut.set(portId, this.#now());
    this.#endpointOfPort.set(portId, endpointId);
    this.#portOfEndpoint.set(endpointId, portId);
  }

  /** DeleteEndpoint: the endpoint is gone. */
  unbind(endpointId: string): void {
    const portId = this.#portOfEndpoint.get(endpointId);
    this.#portOfEndpoint.delete(endpointId);
    if (portId !== undefined) {
      this.#endpointOfPort.delete(portId);
      this.settle(portId);
    }
  }

  /** The live endpoint (made here, not deleted) this port is bound for. */
  liveEndpointOf(portId: string): string | undefined {
    return this.#endpointOfPort.get(portId);
  }

  /** A create whose reply was lost and whose object was not found: if it shows up, it is nobody's. */
  lose(identity: string): void {
    this.#lost.set(identity, true);
  }

  isLost(identity: string): boolean {
    return this.#lost.get(identity) === true;
  }

  /** The lost object was found (and removed or used). */
  found(identity: string): void {
    this.#lost.delete(identity);
  }

  /** Drops the hand-outs older than holdMs: they protect nothing any more (oldest first: set() moves a key to the end). */
  #forgetExpired(map: BoundedMap<string, number>): void {
    const now = this.#now();
    for (const key of map.keys()) {
      if (now - map.get(key)! < this.#holdMs) break;
      map.delete(key);
    }
  }

  #fresh(map: BoundedMap<string, number>, key: string): boolean {
    const at = map.get(key);
    return at !== undefined && this.#now() - at < this.#holdMs;
  }

  /**
   * Whether any of these keys (ids, device_ids, endpoint ids) is in hand: in
   * flight, or handed out within holdMs. (Live endpoints are not: whether an
   * endpoint still exists is Docker's to say.)
   */
  holds(...keys: Array<string | undefined>): boolean {
    return keys.some((k) => k !== undefined && k !== '' && (this.#busy.has(k) || this.#fresh(this.#handedOut, k) || this.#fresh(this.#pools, k)));
  }

  /** Sizes, for /kuryr/stats and leak checks. */
  sizes(): Record<string, number> {
    return {
      busy: this.#busy.size,
      handedOut: this.#handedOut.size,
      pools: this.#pools.size,
      liveEndpoints: this.#portOfEndpoint.size,
      lost: this.#lost.size,
    };
  }
}
