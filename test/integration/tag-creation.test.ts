/**
 * The Neutron call budget on a Neutron that takes tags in POST bodies
 * (tag-creation, Neutron 2024.2+), emulated by a shim over the lab's Zed:
 * `docker network create` in 4 calls with Kuryr's footprint unchanged (the
 * kuryrPool, the network's Docker id tags, the subnet's PoolID tag), and
 * packets between the containers.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { idTags } from '@kuryr-ts/kuryr/domain/naming';
import type { TestDaemon } from './daemons.js';
import { daemonBehindShim, tagCreationNeutron } from './neutron-shims.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, networkId, neutron, neutronCallsDuring } from './support.js';

const containers: string[] = [];
const networks: string[] = [];
let daemon: TestDaemon | undefined;
after(async () => {
  await cleanupDocker(containers, networks);
  await daemon?.stop();
});

describe('Neutron with tag-creation (tags in the POST)', { timeout: 300_000 }, () => {
  it('docker network create in ≤ 4 Neutron calls, same names and tags, packets flow, nothing left', async () => {
    daemon = await daemonBehindShim(`${RUN_PREFIX}tc`, tagCreationNeutron, 19600 + (process.pid % 90));
    const socket = `/run/docker/plugins/${daemon.name}.sock`;
    const calls = (work: () => Promise<unknown>): Promise<number> => neutronCallsDuring(work, socket);
    const net = `${RUN_PREFIX}-tc`;
    networks.push(net);
    const create = await calls(() =>
      docker('network', 'create', '-d', daemon!.name, '--ipam-driver', daemon!.name, '--subnet', '10.205.0.0/24', '--gateway', '10.205.0.1', net),
    );
    assert.ok(create <= 4, `docker network create: ${create} Neutron calls (Kuryr: 13)`);
    const id = await networkId(net);
    const [n] = await neutron.list('networks', { tags: idTags(id).join(',') });
    assert.ok(n, 'the network carries the Docker id tags');
    assert.equal(n.name, `kuryr-net-${id.slice(0, 8)}`);
    const [pool] = await neutron.list('subnetpools', { name: 'kuryrPool-10.205.0.0/24' });
    assert.ok(pool);
    const [subnet] = await neutron.list('subnets', { network_id: n.id });
    assert.deepEqual(subnet?.tags, [pool.id], 'the subnet carries the PoolID tag');
    assert.equal(subnet?.subnetpool_id, pool.id);

    const [a, b] = [`${RUN_PREFIX}-tca`, `${RUN_PREFIX}-tcb`];
    containers.push(a, b);
    const attach = await calls(() => docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600'));
    assert.ok(attach <= 4, `docker run: ${attach} Neutron calls (Kuryr: 13)`);
    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'sleep', '600');
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', await containerIp(b, net)), /2 packets received/);
    await docker('rm', '-f', a, b);
    const rm = await calls(() => docker('network', 'rm', net));
    assert.ok(rm <= 4, `docker network rm: ${rm} Neutron calls (Kuryr: 13)`);
    assert.deepEqual(await neutron.list('networks', { id: n.id }), []);
    assert.deepEqual(await neutron.list('subnetpools', { id: pool.id }), []);
  });
});
