/**
 * Kuryr's name-based fallback against the real Neutron with its tag
 * extensions hidden: Neutron Zed always loads them (a default service
 * plugin), so a proxy in front of it answers as a tag-less Neutron would
 * (extensions absent, tag URLs 404, tag filters 400, no tags in bodies).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { TestDaemon } from './daemons.js';
import { daemonBehindShim, taglessNeutron } from './neutron-shims.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, dockerFails, networkId, neutron } from './support.js';

const containers: string[] = [];
const networks: string[] = [];
let daemon: TestDaemon | undefined;
after(async () => {
  await cleanupDocker(containers, networks);
  await daemon?.stop();
});

describe('tag-less Neutron: the name-based fallback', { timeout: 300_000 }, () => {
  it('networks named by the Docker id, ports <endpoint>-port, packets flow, nothing left; adoption refused', async () => {
    daemon = await daemonBehindShim(`${RUN_PREFIX}nt`, taglessNeutron, 19700 + (process.pid % 200));
    const net = `${RUN_PREFIX}-nt`;
    networks.push(net);
    await docker('network', 'create', '-d', daemon.name, '--ipam-driver', daemon.name, '--subnet', '10.203.0.0/24', '--gateway', '10.203.0.1', net);
    const id = await networkId(net);
    const [n] = await neutron.list('networks', { name: id });
    assert.ok(n, 'the Neutron network is named by the Docker network id');
    assert.deepEqual(n.tags, [], 'and carries no tags');
    const [a, b] = [`${RUN_PREFIX}-nta`, `${RUN_PREFIX}-ntb`];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/etc');
    const ports = (await neutron.list('ports', { network_id: n.id })).filter((p) => p.device_owner === 'compute:kuryr');
    assert.equal(ports.length, 2);
    for (const p of ports) assert.match(p.name, /^[0-9a-f]{64}-port$/);
    const ipB = await containerIp(b, net);
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', ipB), /2 packets received/);
    assert.ok((await docker('exec', a, 'wget', '-qO-', '-T', '3', `http://${ipB}:8080/hostname`)).length > 0);
    const err = await dockerFails('network', 'create', '-d', daemon.name, '--ipam-driver', daemon.name, '--subnet', '10.204.0.0/24', '-o', `neutron.net.uuid=${n.id}`, `${RUN_PREFIX}-nt2`);
    assert.match(err, /needs Neutron's tag extension/);
    await docker('rm', '-f', a, b);
    await docker('network', 'rm', net);
    assert.deepEqual(await neutron.list('networks', { name: id }), []);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.203.0.0/24' }), []);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.204.0.0/24' }), []);
  });
});
