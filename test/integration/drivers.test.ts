/**
 * Binding drivers on the real kernel, OVS, Docker and Neutron. ML2/OVN
 * always answers vif_type=ovs, so the Linux bridge and hybrid paths are
 * driven with [binding] force_vif_type in a second daemon (its own driver
 * name): real containers, real bridges, real packets.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, kuryrOvsInterfaces, networkId, portsOfNetwork, sh, taggedWith, waitFor } from './support.js';

const containers: string[] = [];
const networks: string[] = [];
const daemons: TestDaemon[] = [];
const bridges: string[] = [];
after(async () => {
  await cleanupDocker(containers, networks);
  for (const d of daemons) await d.stop();
  // Linux bridges (and their firewall rules) outlive the ports, as in Kuryr: the test removes its own.
  for (const brq of bridges) {
    await sh('ip', ['link', 'del', brq]).catch(() => undefined);
    for (const cmd of ['iptables', 'ip6tables']) {
      await sh(cmd, ['-w', '5', '-D', 'FORWARD', '-i', brq, '-o', brq, '-m', 'comment', '--comment', 'kuryr-ts', '-j', 'ACCEPT']).catch(() => undefined);
    }
  }
});

async function twoContainers(driver: string, label: string, subnet: string) {
  const net = `${RUN_PREFIX}-${label}`;
  networks.push(net);
  await docker('network', 'create', '-d', driver, '--ipam-driver', driver, '--subnet', `${subnet}.0/24`, '--gateway', `${subnet}.1`, net);
  const [a, w] = [`${RUN_PREFIX}-${label}a`, `${RUN_PREFIX}-${label}w`];
  containers.push(a, w);
  await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
  await docker('run', '-d', '--name', w, '--net', net, IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/etc');
  return { net, a, w, ipW: await containerIp(w, net), id: await networkId(net) };
}

describe('binding drivers on the real data plane', { timeout: 300_000 }, () => {
  it('Linux bridge: two containers talk over brq<network>, nothing on OVS', async () => {
    const d = await startDaemon(`${RUN_PREFIX}lb`, '[binding]\nforce_vif_type = bridge');
    daemons.push(d);
    const t = await twoContainers(d.name, 'lb', '10.180.0');
    const [net] = await taggedWith('networks', t.id);
    const brq = `brq${net!.id.slice(0, 11)}`;
    bridges.push(brq);
    const members = JSON.parse(await sh('ip', ['-json', 'link', 'show', 'master', brq])) as Array<{ ifname: string }>;
    assert.equal(members.length, 2, `two taps on ${brq}`);
    const ports = await portsOfNetwork(net!.id);
    assert.ok((await kuryrOvsInterfaces()).every((i) => !ports.some((p) => p.id === i.externalIds['iface-id'])), 'not on OVS');
    assert.match(await docker('exec', t.a, 'ping', '-c', '2', '-W', '2', t.ipW), /2 packets received/);
    assert.ok((await docker('exec', t.a, 'wget', '-qO-', '-T', '3', `http://${t.ipW}:8080/hostname`)).length > 0);
    await docker('rm', '-f', t.a, t.w);
    await docker('network', 'rm', t.net);
    assert.deepEqual(await taggedWith('networks', t.id), []);
  });

  it('OVS hybrid: tap → qbr ← qvb/qvo → br-int (vm-id); ports ACTIVE through OVN', async () => {
    const d = await startDaemon(`${RUN_PREFIX}hy`, '[binding]\nforce_vif_type = ovs_hybrid');
    daemons.push(d);
    const t = await twoContainers(d.name, 'hy', '10.181.0');
    const [net] = await taggedWith('networks', t.id);
    const ports = await waitFor('ports ACTIVE', async () => {
      const ps = (await portsOfNetwork(net!.id)).filter((p) => p.device_owner === 'compute:kuryr');
      return ps.length === 2 && ps.every((p) => p.status === 'ACTIVE') && ps;
    });
    const ovs = await kuryrOvsInterfaces();
    for (const p of ports) {
      const itf = ovs.find((i) => i.externalIds['iface-id'] === p.id);
      assert.equal(itf?.name, `qvo${p.id.slice(0, 11)}`);
      assert.ok(itf?.externalIds['vm-id']);
    }
    assert.match(await docker('exec', t.a, 'ping', '-c', '2', '-W', '2', t.ipW), /2 packets received/);
    assert.ok((await docker('exec', t.a, 'wget', '-qO-', '-T', '3', `http://${t.ipW}:8080/hostname`)).length > 0);
    await docker('rm', '-f', t.a, t.w);
    await docker('network', 'rm', t.net);
    const left = (JSON.parse(await sh('ip', ['-json', 'link', 'show'])) as Array<{ ifname: string }>).filter((l) =>
      ports.some((p) => l.ifname.endsWith(p.id.slice(0, 11))),
    );
    assert.deepEqual(left, [], 'no qbr/qvb/qvo/tap left');
  });
});
