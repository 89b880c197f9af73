/**
 * LinkOps over iproute2 and ethtool. Traps: interface names are at most 15
 * bytes; `ip link add` of an existing name fails with "File exists"; tx
 * checksum offload must be off on the container end for TCP/UDP through OVS's
 * userspace conntrack (it would see partial checksums and drop the packets).
 */
import { readFile } from 'node:fs/promises';
import type { LinkOps, MacvlanSpec, VethSpec, VlanSpec } from '../../ports/host-net.js';
import { ExecFailure, type Exec } from './exec.js';

const NO_DEVICE = /cannot find device|does not exist|no such device/i;

function checkName(name: string): void {
  if (name.length === 0 || name.length > 15 || /[\s/:]/.test(name)) throw new RangeError(`invalid interface name: ${name}`);
}

export class IpLinkOps implements LinkOps {
  constructor(readonly run: Exec) {}

  async #batch(lines: string[]): Promise<void> {
    await this.run('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n` });
  }

  async createVeth(spec: VethSpec): Promise<void> {
    for (const n of [spec.hostName, spec.peerName]) checkName(n);
    if (spec.alias && /\s/.test(spec.alias)) throw new RangeError(`link alias must not contain spaces: ${spec.alias}`);
    await this.#batch([
      `link add name ${spec.hostName} mtu ${spec.mtu} type veth peer name ${spec.peerName} mtu ${spec.mtu} address ${spec.peerMac}`,
      ...(spec.alias ? [`link set dev ${spec.hostName} alias ${spec.alias}`] : []),
      `link set dev ${spec.hostName} up`,
    ]);
  }

  async txChecksumOff(name: string): Promise<void> {
    checkName(name);
    await this.run('ethtool', ['-K', name, 'tx', 'off']);
  }

  async createVethPair(a: string, b: string, mtu: number): Promise<void> {
    checkName(a);
    checkName(b);
    await this.#batch([`link add name ${a} mtu ${mtu} type veth peer name ${b} mtu ${mtu}`, `link set dev ${a} up`, `link set dev ${b} up`]);
  }

  async ensureBridge(name: string): Promise<void> {
    checkName(name);
    if (!(await this.linkExists(name))) {
      try {
        await this.run('ip', ['link', 'add', 'name', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
      } catch (err) {
        if (!(err instanceof ExecFailure && /exists/i.test(err.stderr))) throw err; // created concurrently
      }
    }
    await this.run('ip', ['link', 'set', 'dev', name, 'up']);
  }

  async #bridgeNetfilter(): Promise<boolean> {
    try {
      return (await readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8')).trim() === '1';
    } catch {
      return false; // br_netfilter not loaded: bridged traffic never sees iptables
    }
  }

  async allowBridged(bridge: string): Promise<void> {
    if (!(await this.#bridgeNetfilter())) return;
    for (const cmd of ['iptables', 'ip6tables']) {
      const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-m', 'comment', '--comment', 'kuryr-ts', '-j', 'ACCEPT'];
      try {
        await this.run(cmd, ['-w', '5', '-C', ...rule]);
      } catch {
        await this.run(cmd, ['-w', '5', '-I', ...rule]);
      }
    }
  }

  async disallowBridged(bridge: string): Promise<void> {
    for (const cmd of ['iptables', 'ip6tables']) {
      const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-m', 'comment', '--comment', 'kuryr-ts', '-j', 'ACCEPT'];
      // -D until it fails: removes duplicates too; a missing rule or command is fine.
      for (let i = 0; i < 4; i++) {
        try {
          await this.run(cmd, ['-w', '5', '-D', ...rule]);
        } catch {
          break;
        }
      }
    }
  }

  async setMaster(link: string, bridge: string): Promise<void> {
    await this.#batch([`link set dev ${link} master ${bridge}`, `link set dev ${link} up`]);
  }

  async createMacvlan(spec: MacvlanSpec): Promise<void> {
    checkName(spec.name);
    await this.#batch([`link add link ${spec.parent} name ${spec.name} mtu ${spec.mtu} address ${spec.mac} type macvlan mode bridge`]);
    try {
      await this.run('ethtool', ['-K', spec.name, 'tx', 'off']);
    } catch (err) {
      await this.deleteLink(spec.name).catch(() => undefined);
      throw err;
    }
  }

  async createVlan(spec: VlanSpec): Promise<void> {
    checkName(spec.name);
    await this.#batch([`link add link ${spec.parent} name ${spec.name} mtu ${spec.mtu} address ${spec.mac} type vlan id ${spec.vlanId}`]);
  }

  async macOf(name: string): Promise<string | undefined> {
    try {
      const { stdout } = await this.run('ip', ['-json', 'link', 'show', 'dev', name]);
      return (JSON.parse(stdout) as Array<{ address?: string }>)[0]?.address?.toLowerCase();
    } catch (err) {
      if (err instanceof ExecFailure && NO_DEVICE.test(err.stderr)) return undefined;
      throw err;
    }
  }

  async findByAlias(alias: string): Promise<string[]> {
    const { stdout } = await this.run('ip', ['-json', 'link', 'show']);
    return (JSON.parse(stdout) as Array<{ ifname: string; ifalias?: string }>).filter((l) => l.ifalias === alias).map((l) => l.ifname);
  }

  async aliasedLinks(): Promise<Array<{ name: string; alias: string }>> {
    const { stdout } = await this.run('ip', ['-json', 'link', 'show']);
    return (JSON.parse(stdout) as Array<{ ifname: string; ifalias?: string }>).filter((l) => l.ifalias).map((l) => ({ name: l.ifname, alias: l.ifalias! }));
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
