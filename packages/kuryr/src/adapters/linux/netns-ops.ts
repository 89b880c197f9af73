/**
 * NetnsOps over iproute2 and nsenter (util-linux): the link is moved with
 * `ip link set ... netns <path>` (iproute2 opens a name with a '/' as a path),
 * then set up inside the namespace with `nsenter --net=<path> ip -batch -`,
 * so any namespace path works (`ip -n` takes only names under /run/netns).
 */
import { stat } from 'node:fs/promises';
import type { ContainerLinkSpec, ContainerLinkState, NetnsOps } from '../../ports/netns.js';
import { ExecFailure, type Exec } from './exec.js';

const NO_DEVICE = /cannot find device|does not exist|no such device/i;
const NO_NETNS = /no such file|reassociate|invalid argument/i;

function checkPath(netns: string): void {
  if (!netns.startsWith('/') || /\s/.test(netns)) throw new RangeError(`network namespace must be an absolute path without spaces: ${netns}`);
}

function checkName(name: string): void {
  if (name.length === 0 || name.length > 15 || /[\s/:]/.test(name)) throw new RangeError(`invalid interface name: ${name}`);
}

interface IpAddrJson {
  ifname: string;
  address?: string;
  flags?: string[];
  addr_info?: Array<{ local: string; prefixlen: number; scope?: string }>;
}

export class IpNetnsOps implements NetnsOps {
  constructor(readonly run: Exec) {}

  #inNs(netns: string, args: string[], input?: string) {
    return this.run('nsenter', [`--net=${netns}`, 'ip', ...args], input === undefined ? {} : { input });
  }

  async exists(netns: string): Promise<boolean> {
    checkPath(netns);
    try {
      await stat(netns);
      return true;
    } catch {
      return false;
    }
  }

  async setUp(spec: ContainerLinkSpec): Promise<void> {
    checkPath(spec.netns);
    checkName(spec.link);
    checkName(spec.ifname);
    await this.run('ip', ['link', 'set', 'dev', spec.link, 'netns', spec.netns]);
    const lines = [
      `link set dev ${spec.link} name ${spec.ifname}`,
      `link set dev ${spec.ifname} address ${spec.mac} mtu ${spec.mtu}`,
      ...spec.addresses.map((a) => `addr add ${a} dev ${spec.ifname}`),
      `link set dev ${spec.ifname} up`,
      ...spec.routes.map((r) => `route add ${r.destination}${r.via ? ` via ${r.via}` : ''} dev ${spec.ifname}`),
    ];
    await this.#inNs(spec.netns, ['-batch', '-'], `${lines.join('\n')}\n`);
  }

  async inspect(netns: string, ifname: string): Promise<ContainerLinkState | undefined> {
    checkPath(netns);
    checkName(ifname);
    try {
      const { stdout } = await this.#inNs(netns, ['-json', 'addr', 'show', 'dev', ifname]);
      const [link] = JSON.parse(stdout) as IpAddrJson[];
      if (!link) return undefined;
      return {
        mac: (link.address ?? '').toLowerCase(),
        addresses: (link.addr_info ?? []).filter((a) => (a.scope ?? 'global') === 'global').map((a) => `${a.local}/${a.prefixlen}`),
        up: (link.flags ?? []).includes('UP'),
      };
    } catch (err) {
      if (err instanceof ExecFailure && (NO_DEVICE.test(err.stderr) || NO_NETNS.test(err.stderr))) return undefined;
      throw err;
    }
  }

  async remove(netns: string, ifname: string): Promise<boolean> {
    checkPath(netns);
    checkName(ifname);
    if (!(await this.exists(netns))) return false;
    try {
      await this.#inNs(netns, ['link', 'del', 'dev', ifname]);
      return true;
    } catch (err) {
      if (err instanceof ExecFailure && (NO_DEVICE.test(err.stderr) || NO_NETNS.test(err.stderr))) return false;
      throw err;
    }
  }
}
