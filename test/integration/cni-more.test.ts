/**
 * CNI mode across the two-host lab (lab/hosts.sh): a namespace made here is
 * attached by `kuryr-cni` run on host2 (its namespaces, its daemon's socket)
 * to the Neutron network of a kuryr Docker network of host1; its port is
 * bound to host2; it and a Docker container on host1 ping each other (over
 * Geneve between the hosts); DEL leaves no port, veth or OVS port on host2.
 * Skipped when the machine cannot run the hosts. (A daemon killed in the
 * middle of ADD: cni-kill.test.ts.)
 * All traffic stays inside the Neutron networks and namespaces made here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { cniPortsOf, kuryrCni } from './cni-plugin.js';
import { HOST_PLUGIN_SOCKET, cannotRun, dk, hostsSh, kuryrOvsPorts, onHost, upHosts, vethsOn } from './lab-hosts.js';
import { IMAGE, RUN_PREFIX, neutron, sh, waitFor } from './support.js';


const skipHosts = cannotRun();

describe('CNI mode across the two-host lab (lab/hosts.sh)', { skip: skipHosts ?? false, timeout: 300_000 }, () => {
  const NET = `${RUN_PREFIX}-cnimh`;
  const CT = `${RUN_PREFIX}-cnimh-peer`;
  const POD = `${RUN_PREFIX}cnimh`;
  // per-run subnet: the hosts' daemons outlive runs (docs/multihost.md)
  const o = process.pid % 250;
  const CIDR = `10.209.${o}.0/24`;
  const GW = `10.209.${o}.1`;
  let startedHosts = false;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    if (skipHosts) return;
    startedHosts = await upHosts();
  });

  after(async () => {
    if (skipHosts) return;
    // the pod first (cleanups), then Docker's side on host1, then the hosts if this test started them
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await dk('host1', 'rm', '-f', CT).catch(() => undefined);
    await dk('host1', 'network', 'rm', NET).catch(() => undefined);
    if (startedHosts) await hostsSh('down');
  });

  it("a namespace attached through host2's daemon and a Docker container on host1 ping each other; DEL leaves nothing on host2", async () => {
    const id = await dk('host1', 'network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', CIDR, '--gateway', GW, NET);
    const [net] = await neutron.list('networks', { name: `kuryr-net-${id.slice(0, 8)}` });
    assert.ok(net, "host1's kuryr made the Neutron network");
    await dk('host1', 'run', '-d', '--name', CT, '--net', NET, IMAGE, 'sleep', '600');
    const peerIp = await dk('host1', 'inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, CT);

    await sh('ip', ['netns', 'add', POD]);
    cleanups.push(() => sh('ip', ['netns', 'del', POD]));
    const containerId = randomBytes(32).toString('hex');
    // /run/netns of this host shows in host2's mount namespace too
    const env = { CNI_CONTAINERID: containerId, CNI_NETNS: `/run/netns/${POD}`, CNI_IFNAME: 'eth0' };
    const config = { cniVersion: '1.0.0', name: 'kuryr-lab-host2', type: 'kuryr-cni', daemon_socket: HOST_PLUGIN_SOCKET, neutron: { network: net.id } };
    const onHost2 = onHost('host2');
    cleanups.push(() => kuryrCni({ ...env, CNI_COMMAND: 'DEL' }, config, onHost2));

    const add = await kuryrCni({ ...env, CNI_COMMAND: 'ADD' }, config, onHost2);
    assert.equal(add.code, 0, add.stdout);
    const address = (add.json!.ips as Array<{ address: string }>)[0]!.address;
    assert.ok(address.startsWith(`10.209.${o}.`) && address.endsWith('/24'), address);
    const podIp = address.split('/')[0]!;
    const [port] = await cniPortsOf(containerId);
    assert.ok(port);
    assert.deepEqual([port.status, port['binding:host_id'], port.network_id], ['ACTIVE', 'host2', net.id]);
    const tap = `tap${port.id.slice(0, 11)}`;
    assert.ok((await vethsOn('host2')).includes(tap), `the veth host end ${tap} is on host2`);
    assert.ok((await kuryrOvsPorts('host2')).includes(tap), `${tap} is on host2's OVS`);
    await assert.rejects(sh('ip', ['link', 'show', 'dev', tap]), /does not exist/, 'and not on this host');

    const check = await kuryrCni({ ...env, CNI_COMMAND: 'CHECK' }, config, onHost2);
    assert.equal(check.code, 0, check.stdout);
    // the first packets may wait for host1's flows to the new port
    await waitFor(
      'a ping from the namespace (host2) to the container on host1',
      () => sh('ip', ['netns', 'exec', POD, 'busybox', 'ping', '-c', '2', '-W', '2', peerIp]).then((out) => / 0% packet loss/.test(out)).catch(() => false),
      30_000,
    );
    assert.match(await dk('host1', 'exec', CT, 'ping', '-c', '3', '-W', '2', podIp), / 0% packet loss/);

    const del = await kuryrCni({ ...env, CNI_COMMAND: 'DEL' }, config, onHost2);
    assert.deepEqual([del.code, del.stdout], [0, '']);
    assert.deepEqual(await cniPortsOf(containerId), [], 'no port left');
    assert.ok(!(await vethsOn('host2')).includes(tap), `no veth ${tap} left on host2`);
    assert.ok(!(await kuryrOvsPorts('host2')).includes(tap), `no OVS port ${tap} left on host2`);
    const links = JSON.parse(await sh('ip', ['-n', POD, '-json', 'link', 'show'])) as Array<{ ifname: string }>;
    assert.deepEqual(links.map((l) => l.ifname), ['lo'], 'nothing left in the namespace');

    await dk('host1', 'rm', '-f', CT);
    await dk('host1', 'network', 'rm', NET);
    assert.deepEqual(await neutron.list('networks', { id: net.id }), [], "host1's kuryr removed the Neutron network it made");
  });
});
