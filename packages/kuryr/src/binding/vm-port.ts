/**
 * The Neutron port of the VM a nested kuryr runs in: found by the MAC of
 * `[binding] link_iface` (Kuryr's way), re-read before every change.
 * Allowed-address-pair updates are read-modify-write: serialised in the daemon
 * and guarded by Neutron's revision (If-Match), retried on 412, so concurrent
 * containers — and other writers — never lose each other's pairs (Kuryr bug C14).
 */
import { AppError, NeutronError } from '@kuryr-ts/openstack/errors';
import { KeyedMutex } from '@kuryr-ts/openstack/lib/keyed-mutex';
import type { LinkOps } from '../ports/host-net.js';
import type { NeutronApi, NeutronPort } from '@kuryr-ts/openstack/neutron/types';

type Pair = { ip_address: string; mac_address?: string };

export class VmPort {
  readonly #locks = new KeyedMutex();
  #vmPortId: string | undefined;

  constructor(
    readonly neutron: NeutronApi,
    readonly links: LinkOps,
    readonly linkIface: string,
  ) {}

  async get(): Promise<NeutronPort> {
    if (this.#vmPortId) return this.neutron.show('ports', this.#vmPortId);
    if (!this.linkIface) {
      throw new AppError('KURYR_ERR_CONFIG', 'bad-request', 'nested binding needs [binding] link_iface (the VM interface the containers use)');
    }
    const mac = await this.links.macOf(this.linkIface);
    if (!mac) throw new AppError('KURYR_ERR_HOST', 'internal', `[binding] link_iface ${this.linkIface}: no such interface in this namespace`);
    const found = await this.neutron.list('ports', { mac_address: mac });
    if (found.length !== 1) {
      throw new AppError('KURYR_ERR_NOT_FOUND', 'not-found', `nested binding: ${found.length} Neutron ports have the MAC ${mac} of ${this.linkIface} (want exactly the VM's port)`);
    }
    this.#vmPortId = found[0]!.id;
    return found[0]!;
  }

  /** Applies `change` to the VM port's allowed_address_pairs, safely under concurrency. */
  async updatePairs(change: (pairs: Pair[]) => Pair[]): Promise<void> {
    const first = await this.get();
    await this.#locks.run(first.id, async () => {
      for (let attempt = 1; ; attempt++) {
        const vm = attempt === 1 ? first : await this.neutron.show('ports', first.id);
        const pairs = change([...(vm.allowed_address_pairs ?? [])]);
        try {
          await this.neutron.update('ports', vm.id, { allowed_address_pairs: pairs }, vm.revision_number !== undefined ? { ifRevision: vm.revision_number } : {});
          return;
        } catch (err) {
          // 412: someone else changed the port since we read it: read again.
          if (!(err instanceof NeutronError && err.status === 412) || attempt >= 8) throw err;
        }
      }
    });
  }
}

/** The allowed address pairs of a container: its addresses with its interface's MAC. */
export function pairsOf(port: NeutronPort, mac: string): Pair[] {
  return port.fixed_ips.map((f) => ({ ip_address: f.ip_address, mac_address: mac.toLowerCase() }));
}
