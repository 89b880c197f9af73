/**
 * The two-host lab (lab/hosts.sh: host1 and host2, each in its own network,
 * mount and UTS namespaces with its own OVS, ovn-controller, Docker Engine and
 * kuryr daemon; docs/multihost.md) as the integration tests reach it: a host's
 * Docker, a command run "on" a host, the kuryr plumbing left on a host, and
 * bringing the hosts up (and down again when the test started them).
 */
import { existsSync } from 'node:fs';
import { parseFindOutput } from '@kuryr-ts/kuryr/adapters/linux/ovs-ops';
import { REPO, sh } from './support.js';

export type Host = 'host1' | 'host2';
export const HOSTS: readonly Host[] = ['host1', 'host2'];
/** A host's Docker API socket. */
export const sock = (h: Host): string => `/run/kuryr-lab/${h}/docker.sock`;
/** A host's network namespace. */
export const netns = (h: Host): string => `/run/netns/kuryr-${h}`;
/** A host's kuryr plugin socket, as the host (its mount namespace) sees it. */
export const HOST_PLUGIN_SOCKET = '/run/docker/plugins/kuryr.sock';
/** The argv prefix that runs a command "on" a host: its network + mount + UTS namespaces. */
export const onHost = (h: Host): string[] => ['nsenter', `--mount=/run/kuryr-lab/ns/${h}.mnt`, `--uts=/run/kuryr-lab/ns/${h}.uts`, `--net=${netns(h)}`, '--'];
/** docker CLI against one host's Docker Engine. */
export const dk = (h: Host, ...args: string[]): Promise<string> => sh('docker', ['-H', `unix://${sock(h)}`, ...args]);
/** A command "on" a host. */
export const hx = (h: Host, cmd: string, ...args: string[]): Promise<string> => {
  const [nsenter, ...prefix] = onHost(h);
  return sh(nsenter!, [...prefix, cmd, ...args]);
};
export const hostsSh = (...args: string[]): Promise<string> => sh('bash', [`${REPO}lab/hosts.sh`, ...args], 180_000);

/** Why this machine cannot run the two-host lab, or undefined when it can (a quick check). */
export function cannotRun(): string | undefined {
  if (process.env.KURYR_TEST_SKIP_MULTIHOST === '1') return 'KURYR_TEST_SKIP_MULTIHOST=1';
  if (process.getuid?.() !== 0) return 'needs root';
  for (const f of ['/usr/bin/nsenter', '/usr/bin/unshare', '/usr/sbin/dockerd', '/usr/sbin/ovs-vswitchd', '/usr/bin/ovn-controller', '/usr/bin/python3', '/proc/self/ns/net']) {
    if (!existsSync(f)) return `${f} missing`;
  }
  if (!existsSync('/var/run/ovn/ovnsb_db.sock') || !existsSync('/etc/kuryr-lab/kuryr.conf')) return 'the lab is not up (no OVN SB DB or kuryr.conf)';
  return undefined;
}

/**
 * `lab/hosts.sh up 2` (idempotent: starts what is missing, leaves running
 * hosts alone); answers whether the hosts were down before, i.e. whether the
 * caller should run `hostsSh('down')` when it is done.
 */
export async function upHosts(): Promise<boolean> {
  const started = !existsSync('/run/kuryr-lab/hosts.started');
  const t0 = Date.now();
  await hostsSh('up', '2');
  console.log(`# lab/hosts.sh up 2: ${((Date.now() - t0) / 1000).toFixed(1)} s (${started ? 'started by this test' : 'already running'})`);
  return started;
}

/** The OVS interfaces kuryr plugged on a host (external_ids:owner=kuryr). */
export async function kuryrOvsPorts(h: Host): Promise<string[]> {
  const out = await hx(h, 'ovs-vsctl', '--format=json', '--columns=name,external_ids', 'find', 'Interface', 'external_ids:owner=kuryr');
  return parseFindOutput(out).map((i) => i.name);
}

/** The veths in a host's network namespace, but its underlay port. */
export async function vethsOn(h: Host): Promise<string[]> {
  const links = JSON.parse(await sh('ip', ['-n', `kuryr-${h}`, '-j', 'link', 'show', 'type', 'veth'])) as Array<{ ifname: string }>;
  return links.map((l) => l.ifname).filter((n) => n !== 'ul0');
}
