/**
 * Port deletions that run after Docker has its answer (`[DEFAULT]
 * delete_ports_after_reply`): ReleaseAddress hands its port here and
 * answers, so `docker rm` does not wait for Neutron's DELETE. Whatever needs
 * the port gone first waits here for it: a RequestAddress of one of its
 * addresses, a DeleteNetwork of its network, a port create Neutron refused
 * for quota or a full subnet, the daemon's shutdown. A DELETE that fails is
 * tried again after 1, 2, 4, 8 and 16 s; after that the port is left to
 * reconciliation, which removes a kuryr port whose Docker endpoint is gone
 * (so does a crash before the DELETE).
 */
import type { NeutronApi, NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { NeutronError, describeError } from '@kuryr-ts/openstack/errors';
import type { Background, Logger } from './settings.js';
import { normalizeIp } from '@kuryr-ts/openstack/lib/cidr';

interface Pending {
  readonly networkId: string;
  readonly ips: ReadonlySet<string>;
  readonly done: Promise<void>;
}

export interface PortDeletionsOptions {
  readonly neutron: Pick<NeutronApi, 'delete'>;
  readonly log: Logger;
  /** Runs the deletions (the daemon's detached work); default: started right away. */
  readonly background?: Background | undefined;
  /** Waits between attempts (tests); default setTimeout. */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Attempts per port (default 6). */
  readonly attempts?: number | undefined;
}

export class PortDeletions {
  readonly #pending = new Map<string, Pending>();
  readonly #opts: PortDeletionsOptions;

  constructor(opts: PortDeletionsOptions) {
    this.#opts = opts;
  }

  /** Ports whose DELETE has not finished. */
  get size(): number {
    return this.#pending.size;
  }

  /** Starts the port's DELETE; returns at once. */
  delete(port: NeutronPort): void {
    if (this.#pending.has(port.id)) return;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    this.#pending.set(port.id, { networkId: port.network_id, ips: new Set(port.fixed_ips.map((f) => normalizeIp(f.ip_address))), done });
    const run = async (): Promise<void> => {
      try {
        await this.#deleteWithRetries(port);
      } finally {
        this.#pending.delete(port.id);
        finish();
      }
    };
    if (this.#opts.background) this.#opts.background(run);
    else void run();
  }

  /** Resolves once the matching deletions (all, a network's, or the port holding an address on it) have ended, done or given up. */
  async settled(match: { networkId?: string; ip?: string } = {}): Promise<void> {
    const ip = match.ip === undefined ? undefined : normalizeIp(match.ip);
    const waits = [...this.#pending.values()]
      .filter((p) => (match.networkId === undefined || p.networkId === match.networkId) && (ip === undefined || p.ips.has(ip)))
      .map((p) => p.done);
    await Promise.all(waits);
  }

  async #deleteWithRetries(port: NeutronPort): Promise<void> {
    const attempts = this.#opts.attempts ?? 6;
    const sleep = this.#opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#opts.neutron.delete('ports', port.id);
        return;
      } catch (err) {
        if (err instanceof NeutronError && err.isNotFound) return;
        const transient = !(err instanceof NeutronError) || err.status === undefined || err.status >= 500 || err.status === 401;
        if (!transient || attempt >= attempts) {
          this.#opts.log.warn({ portId: port.id, err: describeError(err), attempts: attempt }, 'port deletion after the reply failed; reconciliation removes the port once its grace period has passed');
          return;
        }
        await sleep(1000 * 2 ** (attempt - 1));
      }
    }
  }
}
