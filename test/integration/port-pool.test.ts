/**
 * Port pools (`[vif_pool] enabled = true`) on the real Docker + Neutron:
 * ports made and bound to this host in the background, handed out at
 * `docker run`, the container using the port's MAC, found again after a
 * daemon restart (and held back meanwhile), and all deleted with the network.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import { POOL_DEVICE_ID } from '@kuryr-ts/kuryr/domain/naming';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, networkId, neutron, pluginGet, taggedWith, waitFor } from './support.js';

const containers: string[] = [];
const networks: string[] = [];
let daemon: TestDaemon | undefined;
after(async () => {
  await cleanupDocker(containers, networks);
  await daemon?.stop();
});

const NAME = `${RUN_PREFIX}pp`;
const SOCKET = `/run/docker/plugins/${NAME}.sock`;
const CONF = '[vif_pool]\nenabled = true\nports_pool_min = 2\nports_pool_batch = 3';

async function freePoolPorts(neutronNet: string): Promise<string[]> {
  return (await neutron.list('ports', { network_id: neutronNet, device_id: POOL_DEVICE_ID })).map((p) => p.id);
}

async function portOf(container: string, neutronNet: string) {
  const eid = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}', container)).trim();
  // CreateEndpoint records the endpoint on the port just after its reply.
  const port = await waitFor(`the Neutron port of ${container}`, async () => (await taggedWith('ports', eid)).find((p) => p.device_id === eid), 10_000);
  assert.equal(port.network_id, neutronNet);
  return port;
}

describe('port pools', { timeout: 300_000 }, () => {
  it('pool ports bound ahead of time serve docker run; MACs agree; restart recovers; network rm leaves nothing', async () => {
    daemon = await startDaemon(NAME, CONF);
    const caps = JSON.parse(JSON.stringify(await pluginGet('/kuryr/stats', SOCKET))) as { portPools: Record<string, number> };
    assert.deepEqual(caps.portPools, {});
    const net = `${RUN_PREFIX}-pp`;
    networks.push(net);
    await docker('network', 'create', '-d', NAME, '--ipam-driver', NAME, '--subnet', '10.210.0.0/24', '--gateway', '10.210.0.1', net);
    const [n] = await neutron.list('networks', { name: `kuryr-net-${(await networkId(net)).slice(0, 8)}` });
    assert.ok(n);

    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => `${RUN_PREFIX}-pp${x}`) as [string, string, string, string];
    containers.push(a, b, c, d);
    // The first container of the network on this host: a port made on demand; the pool fills behind it.
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    // Ready when the daemon holds them (Neutron lists a bulk create a moment before the daemon has its answer).
    const pooled = await waitFor('the pool to fill', async () => {
      const s = (await pluginGet('/kuryr/stats', SOCKET)) as { portPools: Record<string, number> };
      return Object.values(s.portPools).reduce((x, y) => x + y, 0) >= 2 && freePoolPorts(n.id);
    });
    for (const id of pooled) {
      const p = await neutron.show('ports', id);
      assert.equal(p['binding:host_id'], (await neutron.show('ports', (await portOf(a, n.id)).id))['binding:host_id'], 'bound to this host');
      assert.equal(p.device_id, POOL_DEVICE_ID);
    }

    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/etc');
    const pb = await portOf(b, n.id);
    assert.ok(pooled.includes(pb.id), 'b got a pool port');
    assert.equal(pb.device_id, (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}', b)).trim());
    const macB = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}', b)).trim();
    assert.equal(macB, pb.mac_address, "the container has the Neutron port's MAC");
    assert.match(await docker('exec', b, 'cat', '/sys/class/net/eth0/address'), new RegExp(pb.mac_address));

    // --mac-address: the pool port cannot change its MAC once bound; a port with that MAC replaces it.
    // (through the Engine API: this docker CLI wants API 1.44 for --mac-address with --net; Docker 20.10 speaks 1.41)
    const engine = new Docker({ socketPath: '/var/run/docker.sock' });
    await (await engine.createContainer({ name: c, Image: IMAGE, Cmd: ['sleep', '600'], MacAddress: '02:42:0a:ce:00:07', HostConfig: { NetworkMode: net } })).start();
    const pc = await portOf(c, n.id);
    assert.equal(pc.mac_address, '02:42:0a:ce:00:07');

    const ipB = await containerIp(b, net);
    for (const from of [a, c]) assert.match(await docker('exec', from, 'ping', '-c', '2', '-W', '2', ipB), /2 packets received/);
    assert.ok((await docker('exec', a, 'wget', '-qO-', '-T', '3', `http://${ipB}:8080/hostname`)).length > 0);

    // A restart: Neutron is the only state; the new process finds this host's free pool ports, and holds
    // them back for a minute (one may have been handed out just before the stop, its CreateEndpoint still to come).
    await daemon.stop();
    const left = await freePoolPorts(n.id);
    assert.ok(left.length > 0);
    daemon = await startDaemon(NAME, CONF);
    await waitFor('the pools recovered', async () => {
      const s = (await pluginGet('/kuryr/stats', SOCKET)) as { portPools: Record<string, number> };
      return Object.values(s.portPools).reduce((x, y) => x + y, 0) >= left.length;
    });
    await docker('run', '-d', '--name', d, '--net', net, IMAGE, 'sleep', '600');
    const pd = await portOf(d, n.id);
    assert.ok(!left.includes(pd.id), 'd did not get a pool port found after the restart (held back)');
    const stillFree = await freePoolPorts(n.id);
    for (const id of left) assert.ok(stillFree.includes(id), `pool port ${id} found after the restart is still free`);
    assert.match(await docker('exec', d, 'ping', '-c', '2', '-W', '2', ipB), /2 packets received/);

    await docker('rm', '-f', a, b, c, d);
    await docker('network', 'rm', net);
    assert.deepEqual(await neutron.list('ports', { network_id: n.id }), []);
    assert.deepEqual(await neutron.list('networks', { id: n.id }), []);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.210.0.0/24' }), []);
  });

  it('dual stack with pools on: one port per container with both addresses, IPv4 and IPv6 pings', async () => {
    const net = `${RUN_PREFIX}-pp6`;
    networks.push(net);
    await docker('network', 'create', '-d', NAME, '--ipam-driver', NAME, '--ipv6', '--subnet', '10.207.0.0/24', '--gateway', '10.207.0.1', '--subnet', 'fd00:207::/64', '--gateway', 'fd00:207::1', net);
    const [e, f] = [`${RUN_PREFIX}-ppe`, `${RUN_PREFIX}-ppf`];
    containers.push(e, f);
    await docker('run', '-d', '--name', e, '--net', net, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', f, '--net', net, IMAGE, 'sleep', '600');
    const [n] = await neutron.list('networks', { name: `kuryr-net-${(await networkId(net)).slice(0, 8)}` });
    assert.ok(n);
    const pe = await portOf(e, n.id);
    assert.equal(pe.fixed_ips.length, 2, 'one port with both addresses');
    assert.equal((await neutron.list('ports', { network_id: n.id, device_owner: 'compute:kuryr' })).length, 2, 'no stray port');
    const v6 = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}', f)).trim();
    assert.match(await docker('exec', e, 'ping', '-c', '2', '-W', '2', await containerIp(f, net)), /2 packets received/);
    assert.match(await docker('exec', e, 'ping', '-6', '-c', '2', '-W', '2', v6), /2 packets received/);
    await docker('rm', '-f', e, f);
    await docker('network', 'rm', net);
    assert.deepEqual(await neutron.list('networks', { id: n.id }), []);
  });
});
