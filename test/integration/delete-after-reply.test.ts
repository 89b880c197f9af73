/**
 * `[DEFAULT] delete_ports_after_reply = true` on the real Docker + Neutron:
 * `docker rm` gets its answer before Neutron has deleted the port, and what
 * comes right after it still works — a `docker run --ip` of the same
 * address, and a `docker network rm` — with nothing left in Neutron, OVS or
 * on the host.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { kuryrStats } from '../lab-support/plugin-socket.js';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, kuryrOvsInterfaces, networkId, neutron, vethNamesOnHost, waitFor } from './support.js';

const containers: string[] = [];
const networks: string[] = [];
let daemon: TestDaemon | undefined;
after(async () => {
  await cleanupDocker(containers, networks);
  await daemon?.stop();
});

const NAME = `${RUN_PREFIX}dr`;
const SOCKET = `/run/docker/plugins/${NAME}.sock`;

const endpointOf = async (container: string): Promise<string> => (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}', container)).trim();

describe('ports deleted after the reply', { timeout: 300_000 }, () => {
  it('docker rm answers first; docker run --ip of that address and network rm right after work; nothing is left', async () => {
    daemon = await startDaemon(NAME, 'delete_ports_after_reply = true');
    const net = `${RUN_PREFIX}-dr`;
    networks.push(net);
    await docker('network', 'create', '-d', NAME, '--ipam-driver', NAME, '--subnet', '10.212.0.0/24', '--gateway', '10.212.0.1', net);
    const [n] = await neutron.list('networks', { name: `kuryr-net-${(await networkId(net)).slice(0, 8)}` });
    assert.ok(n);
    const [a, b, c] = ['a', 'b', 'c'].map((x) => `${RUN_PREFIX}-dr${x}`) as [string, string, string];
    containers.push(a, b, c);
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', net, '--ip', '10.212.0.10', IMAGE, 'sleep', '600');
    const portB = await waitFor("b's port", async () => (await neutron.list('ports', { network_id: n.id, device_id: await endpointOf(b) }))[0], 10_000);

    // The address of a container just removed, at once: the new port waits for the old one's deletion.
    await docker('rm', '-f', b);
    await docker('run', '-d', '--name', c, '--net', net, '--ip', '10.212.0.10', IMAGE, 'sleep', '600');
    assert.equal(await containerIp(c, net), '10.212.0.10');
    const eidC = await endpointOf(c);
    const onAddress = await waitFor('one port on 10.212.0.10, c’s', async () => {
      const ports = (await neutron.list('ports', { network_id: n.id })).filter((p) => p.fixed_ips.some((f) => f.ip_address === '10.212.0.10'));
      return ports.length === 1 && ports[0]!.device_id === eidC && ports;
    }, 10_000);
    assert.notEqual(onAddress[0]!.id, portB.id, 'a new port');
    assert.match(await docker('exec', c, 'ping', '-c', '2', '-W', '2', await containerIp(a, net)), /2 packets received/);

    // network rm right after the last docker rm: DeleteNetwork waits for the released ports.
    const endpoints = [await endpointOf(a), eidC];
    const portIds = (await neutron.list('ports', { network_id: n.id })).map((p) => p.id);
    await docker('rm', '-f', a, c);
    await docker('network', 'rm', net);
    assert.deepEqual(await neutron.list('ports', { network_id: n.id }), [], 'no port left');
    assert.deepEqual(await neutron.list('networks', { id: n.id }), []);
    assert.equal((await kuryrStats(SOCKET)).portDeletionsPending, 0);
    const ovs = (await kuryrOvsInterfaces()).filter((i) => portIds.includes(i.externalIds['iface-id'] ?? '') || endpoints.includes(i.externalIds['vm-uuid'] ?? ''));
    assert.deepEqual(ovs, [], 'no OVS port left');
    const veths = (await vethNamesOnHost()).filter((v) => [...portIds, portB.id].some((id) => v.endsWith(id.slice(0, 11))));
    assert.deepEqual(veths, [], 'no veth left');
  });
});
