/**
 * What Docker 28 adds to a container's networking, through kuryr-ts and the
 * real Neutron: IPv6-only networks (`--ipv4=false`), a MAC per endpoint
 * (`--network name=…,mac-address=…`) and the default gateway chosen by
 * `gw-priority` among several networks. Skipped on older engines.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { IMAGE, RUN_PREFIX, cleanupDocker, docker, networkId, portsOfNetwork, taggedWith, waitFor } from './support.js';

const serverVersion = await docker('version', '--format', '{{.Server.Version}}').catch((err: Error) => `unknown (${err.message})`);
const major = Number.parseInt(serverVersion, 10);
const skip = Number.isInteger(major) && major >= 28 ? false : `needs Docker Engine >= 28, the lab runs ${serverVersion}`;

const containers: string[] = [];
const networks: string[] = [];
const dockerNetIds: string[] = [];
after(async () => {
  await cleanupDocker(containers, networks);
  for (const id of dockerNetIds) assert.deepEqual(await taggedWith('networks', id), [], `no Neutron network left for Docker network ${id}`);
});

const name = (s: string): string => `${RUN_PREFIX}-${s}`;

async function kuryrNet(netName: string, ...args: string[]): Promise<{ dockerId: string; neutronId: string }> {
  networks.push(netName);
  await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', ...args, netName);
  const dockerId = await networkId(netName);
  dockerNetIds.push(dockerId);
  const [net] = await taggedWith('networks', dockerId);
  assert.ok(net, `Neutron network of ${netName}`);
  return { dockerId, neutronId: net.id };
}

async function run(container: string, ...args: string[]): Promise<void> {
  containers.push(container);
  await docker('run', '-d', '--name', container, ...args, IMAGE, 'sleep', '600');
}

async function containerPorts(neutronNetId: string, count: number): Promise<NeutronPort[]> {
  return waitFor(`${count} ACTIVE container ports`, async () => {
    const ps = (await portsOfNetwork(neutronNetId)).filter((p) => p.device_owner === 'compute:kuryr');
    return ps.length === count && ps.every((p) => p.status === 'ACTIVE') && ps;
  });
}

/** Removes the containers and the network, and checks Neutron lost the network. */
async function teardown(net: string, dockerId: string, ...names: string[]): Promise<void> {
  if (names.length > 0) await docker('rm', '-f', ...names);
  await docker('network', 'rm', net);
  assert.deepEqual(await taggedWith('networks', dockerId), [], `Neutron network of ${net} deleted`);
}

describe('Docker 28 features through kuryr-ts on real Neutron', { skip, timeout: 300_000 }, () => {
  it('IPv6-only network: IPv6 addresses only, IPv6-only Neutron ports, ping over IPv6', async () => {
    const prefix = `fd00:${randomInt(0x2310, 0x23ff).toString(16)}:`;
    const net = name('v6only');
    const { dockerId, neutronId } = await kuryrNet(net, '--ipv4=false', '--ipv6', '--subnet', `${prefix}:/64`);
    const [a, b] = [name('v6a'), name('v6b')];
    await run(a, '--network', net);
    await run(b, '--network', net);

    const addr = async (c: string, field: string): Promise<string> =>
      docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").${field}}}`, c);
    const v6 = new Map<string, string>();
    for (const c of [a, b]) {
      assert.equal(await addr(c, 'IPAddress'), '', `${c} has no IPv4 address in Docker`);
      const ip = await addr(c, 'GlobalIPv6Address');
      assert.ok(ip.startsWith(prefix), `${c} has an address of ${prefix}:/64: ${ip}`);
      v6.set(c, ip);
      const inside = await docker('exec', c, 'ip', '-4', 'addr', 'show', 'dev', 'eth0');
      assert.doesNotMatch(inside, /inet /, `${c}'s eth0 has no IPv4 address`);
    }

    const ports = await containerPorts(neutronId, 2);
    for (const p of ports) {
      assert.ok(p.fixed_ips.length > 0 && p.fixed_ips.every((f) => f.ip_address.includes(':')), `port ${p.id} has only IPv6 fixed_ips`);
    }
    assert.deepEqual(ports.map((p) => p.fixed_ips[0]?.ip_address).sort(), [...v6.values()].sort(), 'the ports carry the containers addresses');

    // Duplicate address detection may hold the new addresses for a moment.
    const target = v6.get(b) ?? '';
    const out = await waitFor<string>('ping over IPv6', async () =>
      docker('exec', a, 'ping', '-6', '-c', '3', '-W', '2', target).then((o) => (/3 packets received/.test(o) ? o : false), () => false), 60_000, 2_000);
    assert.match(out, /3 packets received/);
    await teardown(net, dockerId, a, b);
  });

  it('per-endpoint MAC: the interface and the Neutron port get the MAC given to --network', async () => {
    const mac = '02:42:ac:11:00:99';
    const net = name('mac');
    const { dockerId, neutronId } = await kuryrNet(net, '--subnet', '10.237.0.0/24', '--gateway', '10.237.0.1');
    const c = name('mac1');
    await run(c, '--network', `name=${net},mac-address=${mac}`);
    assert.equal((await docker('exec', c, 'cat', '/sys/class/net/eth0/address')).toLowerCase(), mac);
    assert.equal((await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").MacAddress}}`, c)).toLowerCase(), mac);
    const [port] = await containerPorts(neutronId, 1);
    assert.equal(port?.mac_address, mac, 'Neutron port MAC');
    await teardown(net, dockerId, c);
  });

  it('gw-priority: the default route goes through the network with the highest priority', async () => {
    const [na, nb] = [name('gwa'), name('gwb')];
    const A = await kuryrNet(na, '--subnet', '10.238.0.0/24', '--gateway', '10.238.0.1');
    const B = await kuryrNet(nb, '--subnet', '10.239.0.0/24', '--gateway', '10.239.0.1');
    const [first, second] = [name('gw1'), name('gw2')];
    // The priority, not the order of the networks, decides.
    await run(first, '--network', `name=${na},gw-priority=10`, '--network', `name=${nb}`);
    await run(second, '--network', `name=${na}`, '--network', `name=${nb},gw-priority=10`);
    const defaultRoute = async (c: string): Promise<string> =>
      (await docker('exec', c, 'ip', 'route', 'show', 'default')).split('\n').filter((l) => l.startsWith('default')).join('\n');
    assert.match(await defaultRoute(first), /^default via 10\.238\.0\.1 /);
    assert.match(await defaultRoute(second), /^default via 10\.239\.0\.1 /);
    await containerPorts(A.neutronId, 2);
    await containerPorts(B.neutronId, 2);
    await docker('rm', '-f', first, second);
    await teardown(na, A.dockerId);
    await teardown(nb, B.dockerId);
  });
});
