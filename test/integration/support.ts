/**
 * Helpers for integration tests against the real lab: Docker CLI, the lab's
 * Neutron API (as lab-admin behind Keystone, or noauth), OVS and iproute2 on
 * this host. Every name a test creates starts with RUN_PREFIX, and every
 * address lives only inside Neutron networks, OVS and container namespaces
 * that the test itself made.
 */
import { readFileSync } from 'node:fs';
import { NoAuth } from '@kuryr-ts/openstack/keystone/auth';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { parseFindOutput } from '@kuryr-ts/kuryr/adapters/linux/ovs-ops';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import type { NeutronPort, ResourceTypes } from '@kuryr-ts/openstack/neutron/types';
import { exec } from '../lab-support/exec.js';
import { taggedWith as taggedIn } from '../lab-support/lab-host.js';
import { pluginRequest } from '../lab-support/plugin-socket.js';
import { waitFor } from '../lab-support/wait.js';

export { REPO, hostId } from '../lab-support/lab-host.js';
export { waitFor } from '../lab-support/wait.js';

export const RUN_PREFIX = `kt${process.pid.toString(36)}`;
export const PLUGIN_SOCKET = '/run/docker/plugins/kuryr.sock';
export const IMAGE = 'kuryr/busybox:latest';

/**
 * The lab's Neutron as admin: behind Keystone (lab/up.sh writes "keystone" to
 * /run/kuryr-lab/auth) as the cloud lab-admin of the lab's clouds.yaml, else
 * noauth (KURYR_LAB_NOAUTH=1 labs).
 */
export const neutron = new NeutronClient(
  (() => {
    try {
      if (readFileSync('/run/kuryr-lab/auth', 'utf8').trim() !== 'keystone') throw new Error('noauth');
    } catch {
      return new NoAuth(process.env.KURYR_TEST_NEUTRON ?? 'http://127.0.0.1:9696');
    }
    return neutronAuthFrom({ cloud: 'lab-admin' }, { env: { OS_CLIENT_CONFIG_FILE: '/etc/kuryr-lab/clouds.yaml' } }).auth;
  })(),
  { timeoutMs: 30_000, attempts: 3, stats: new OpStats() },
);

export async function sh(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await exec(cmd, args, timeoutMs);
  if (!r.ok) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.out}`);
  return r.out;
}

/** The docker CLI; rejects with Docker's own error text. */
export const docker = (...args: string[]): Promise<string> => sh('docker', args);

/** Runs docker and returns its error text (the command is expected to fail). */
export async function dockerFails(...args: string[]): Promise<string> {
  try {
    await docker(...args);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`docker ${args.join(' ')} unexpectedly succeeded`);
}

export async function containerIp(name: string, network: string): Promise<string> {
  return docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name);
}

export async function networkId(name: string): Promise<string> {
  return docker('network', 'inspect', '-f', '{{.Id}}', name);
}

/** Neutron objects that carry a Docker id's kuryr tags. */
export async function taggedWith<R extends 'networks' | 'ports'>(resource: R, dockerId: string): Promise<Array<ResourceTypes[R]>> {
  return taggedIn(neutron, resource, dockerId);
}

export async function portsOfNetwork(neutronNetworkId: string): Promise<NeutronPort[]> {
  return neutron.list('ports', { network_id: neutronNetworkId });
}

/** OVS interfaces plugged by kuryr (external_ids:owner=kuryr). */
export async function kuryrOvsInterfaces(): Promise<Array<{ name: string; externalIds: Record<string, string> }>> {
  return parseFindOutput(await sh('ovs-vsctl', ['--format=json', '--columns=name,external_ids', 'find', 'Interface', 'external_ids:owner=kuryr']));
}

export async function vethNamesOnHost(): Promise<string[]> {
  const links = JSON.parse(await sh('ip', ['-json', 'link', 'show', 'type', 'veth'])) as Array<{ ifname: string }>;
  return links.map((l) => l.ifname);
}

/** Raw request on the plugin socket, as Docker sends it (no Content-Type). */
export function pluginCall(method: string, payload: string, socketPath = PLUGIN_SOCKET): Promise<{ status: number; body: string }> {
  return pluginRequest(socketPath, method, payload);
}

/** Removes everything a test made in Docker, ignoring what is already gone. */
export async function cleanupDocker(containers: string[], networks: string[]): Promise<void> {
  if (containers.length > 0) await docker('rm', '-f', ...containers).catch(() => undefined);
  for (const n of networks) await docker('network', 'rm', n).catch(() => undefined);
}

/** GET on the plugin socket (the daemon's /kuryr/stats). */
export async function pluginGet(path: string, socketPath = PLUGIN_SOCKET): Promise<unknown> {
  return JSON.parse((await pluginRequest(socketPath, path, '', { method: 'GET' })).body) as unknown;
}

/**
 * Neutron calls a daemon made for `work`, counted by the daemon: those of the
 * requests, and those it made after answering (CreateEndpoint's endpoint
 * record, pool refills), waited for until the count holds still.
 */
export async function neutronCallsDuring(work: () => Promise<unknown>, socket = PLUGIN_SOCKET): Promise<number> {
  const total = async (): Promise<number> => {
    const s = (await pluginGet('/kuryr/stats', socket)) as { operations: Record<string, { neutronCalls: number }>; backgroundNeutronCalls: number };
    return Object.values(s.operations).reduce((n, o) => n + o.neutronCalls, 0) + s.backgroundNeutronCalls;
  };
  const settled = async (): Promise<number> => {
    let last = await total();
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      const now = await total();
      if (now === last) return now;
      last = now;
    }
  };
  await waitFor('the daemon to have probed Neutron', async () => ((await pluginGet('/kuryr/stats', socket)) as { neutronReady?: boolean }).neutronReady);
  const before = await settled();
  await work();
  return (await settled()) - before;
}
