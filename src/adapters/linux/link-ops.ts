/**
 * LinkOps over iproute2 and ethtool. Traps: interface names are at most 15
 * bytes; `ip link add` of an existing name fails with "File exists"; tx
 * checksum offload must be off on the container end for TCP/UDP through OVS's
 * userspace conntrack (it would see partial checksums and drop the packets).
 */
import type { LinkOps, VethSpec } from '../../ports/host-net.js';
import { ExecFailure, type Exec } from './exec.js';

const NO_DEVICE = /cannot find device|does not exist|no such device/i;

export class IpLinkOps implements LinkOps {
  constructor(readonly run: Exec) {}

  async createVeth(spec: VethSpec): Promise<void> {
    for (const n of [spec.hostName, spec.peerName]) {
      if (n.length > 15) throw new RangeError(`interface name too long: ${n}`);
    }
    const batch = [
      `link add name ${spec.hostName} mtu ${spec.mtu} type veth peer name ${spec.peerName} mtu ${spec.mtu} address ${spec.peerMac}`,
      `link set dev ${spec.hostName} up`,
    ].join('\n');
    await this.run('ip', ['-batch', '-'], { input: `${batch}\n` });
    try {
      await this.run('ethtool', ['-K', spec.peerName, 'tx', 'off']);
    } catch (err) {
      await this.deleteLink(spec.hostName).catch(() => undefined);
      throw err;
    }
  }

  async deleteLink(name: string): Promise<boolean> {
    try {
      await this.run('ip', ['link', 'del', 'dev', name]);
      return true;
    } catch (err) {
      if (err instanceof ExecFailure && NO_DEVICE.test(err.stderr)) return false;
      throw err;
    }
  }

  async linkExists(name: string): Promise<boolean> {
    try {
      await this.run('ip', ['-json', 'link', 'show', 'dev', name]);
      return true;
    } catch (err) {
      if (err instanceof ExecFailure && NO_DEVICE.test(err.stderr)) return false;
      throw err;
    }
  }
}
