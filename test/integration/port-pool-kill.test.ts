/**
 * Port pools, a crash between the two halves of a hand-out: SIGKILL after Docker's RequestAddress got a pool port's
 * address (given out in memory only) and before its CreateEndpoint arrives. The restarted daemon holds that port back
 * with the other pool ports it finds, gives it to that CreateEndpoint by its address and drops it from the pool; the
 * container runs on it and reaches a peer, no later container gets it, and docker rm + network rm leave nothing behind.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { POOL_DEVICE_ID } from '@kuryr-ts/kuryr/domain/naming';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { kuryrStats, pluginRequest } from '../lab-support/plugin-socket.js';
import { startDaemon, type StartedDaemon } from './daemons.js';
import { PluginRelay } from './plugin-relay.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, kuryrOvsInterfaces, networkId, neutron, taggedWith, vethNamesOnHost, waitFor } from './support.js';

const NAME = `${RUN_PREFIX}pk`;
/** The daemon's own socket: not where Docker looks; its file name gives the driver name. */
const DAEMON_DIR = `/run/kuryr-lab/test/${NAME}`;
const DAEMON_SOCKET = `${DAEMON_DIR}/${NAME}.sock`;
const LOG = `/run/kuryr-lab/test/${NAME}.log`;
const CONF = `log_file = ${LOG}\n[vif_pool]\nenabled = true\nports_pool_min = 2\nports_pool_batch = 3`;
const CIDR = '10.211.0.0/24';

/** Docker reaches the daemon through it: it holds the CreateEndpoint while the daemon is killed and started again. */
const relay = new PluginRelay(`/run/docker/plugins/${NAME}.sock`, DAEMON_SOCKET);
const containers: string[] = [];
const networks: string[] = [];
let daemon: StartedDaemon | undefined;
let passed = false;
after(async () => {
  relay.onRequest = undefined;
  await cleanupDocker(containers, networks);
  await daemon?.stop();
  await relay.stop();
  rmSync(DAEMON_DIR, { recursive: true, force: true });
  // the daemons' log stays for a failed run (the two processes, one after the other)
  if (passed) for (const f of [LOG, `/run/kuryr-lab/test/${NAME}.conf`]) rmSync(f, { force: true });
});

/** Up once its socket answers (a killed daemon's socket file stays behind). */
const start = (): Promise<StartedDaemon> =>
  startDaemon(NAME, CONF, {
    socket: DAEMON_SOCKET,
    ready: () => pluginRequest(DAEMON_SOCKET, '/Plugin.Activate', '{}', { timeoutMs: 2000 }).then((r) => r.status === 200, () => false),
  });

/** Free ports the daemon's pools hold (those held back after a restart too). */
async function pooled(): Promise<number> {
  return Object.values((await kuryrStats(DAEMON_SOCKET)).portPools ?? {}).reduce((x, y) => x + y, 0);
}

async function freePoolPorts(neutronNet: string): Promise<NeutronPort[]> {
  return neutron.list('ports', { network_id: neutronNet, device_id: POOL_DEVICE_ID });
}

const endpointOf = async (container: string): Promise<string> => (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}', container)).trim();

/** The container's Neutron port, once CreateEndpoint recorded the endpoint on it (just after its reply). */
async function portOf(container: string): Promise<NeutronPort> {
  const eid = await endpointOf(container);
  return waitFor(`the Neutron port of ${container}`, async () => (await taggedWith('ports', eid)).find((p) => p.device_id === eid), 10_000);
}

describe('port pools: SIGKILL between RequestAddress and CreateEndpoint', { timeout: 120_000 }, () => {
  it('the restarted daemon gives the held-back pool port to the CreateEndpoint with its address; the container works; nothing left', async () => {
    await relay.start();
    daemon = await start();
    const net = `${RUN_PREFIX}-pk`;
    networks.push(net);
    await docker('network', 'create', '-d', NAME, '--ipam-driver', NAME, '--subnet', CIDR, '--gateway', '10.211.0.1', net);
    const [n] = await neutron.list('networks', { name: `kuryr-net-${(await networkId(net)).slice(0, 8)}` });
    assert.ok(n);
    const [a, b, c] = ['a', 'b', 'c'].map((x) => `${RUN_PREFIX}-pk${x}`) as [string, string, string];
    containers.push(a, b, c);

    // The first container: a port made on demand; the pool fills behind it (nothing in flight once the counts agree).
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    await waitFor('the pool to fill', async () => {
      const free = await freePoolPorts(n.id);
      return free.length >= 2 && (await pooled()) === free.length;
    });

    // b: RequestAddress answers from the pool; its CreateEndpoint is held while the daemon is killed and started again.
    let handed: string | undefined;
    let crash: Promise<{ port: NeutronPort; found: number }> | undefined;
    relay.onReply = (call, status, body) => {
      if (call.path === '/IpamDriver.RequestAddress' && status === 200) handed = (JSON.parse(body) as { Address: string }).Address;
    };
    relay.onRequest = (call) => {
      if (crash || call.path !== '/NetworkDriver.CreateEndpoint' || handed === undefined) return;
      if ((JSON.parse(call.body) as { Interface: { Address: string } }).Interface.Address !== handed) return;
      const ip = handed.split('/')[0];
      crash = (async () => {
        process.kill(daemon!.pid, 'SIGKILL');
        await daemon!.stop(); // reaps it
        const free = await freePoolPorts(n.id);
        const port = free.find((p) => p.fixed_ips.some((f) => f.ip_address === ip));
        assert.ok(port, `the address handed out (${ip}) is a pool port that still looks free in Neutron`);
        daemon = await start();
        // Every free pool port found again, the handed-out one too: held back, not handed out, until claimed.
        await waitFor('the pools recovered', async () => (await pooled()) === free.length, 20_000);
        return { port, found: free.length };
      })();
      return crash.then(() => undefined);
    };
    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'sleep', '600').catch(async (err: unknown) => {
      await crash; // its own error first, if it failed
      throw err;
    });
    relay.onRequest = undefined;
    relay.onReply = undefined;
    assert.ok(crash, "b's CreateEndpoint came with the address RequestAddress handed out");
    const { port, found } = await crash;
    assert.equal((await kuryrStats(DAEMON_SOCKET)).operations['NetworkDriver.CreateEndpoint']?.requests, 1, 'the new daemon got the CreateEndpoint once');

    const pb = await portOf(b);
    assert.equal(pb.id, port.id, 'b runs on the pool port handed out before the kill');
    assert.equal(`${await containerIp(b, net)}/24`, handed);
    assert.equal((await docker('exec', b, 'cat', '/sys/class/net/eth0/address')).trim(), pb.mac_address);
    assert.equal(await pooled(), found - 1, 'the claimed port left the pool');
    const ipA = await containerIp(a, net);
    assert.match(await docker('exec', b, 'ping', '-c', '2', '-W', '2', ipA), /2 packets received/);

    // A later container gets another port; the address has one port, b's.
    await docker('run', '-d', '--name', c, '--net', net, IMAGE, 'sleep', '600');
    const pc = await portOf(c);
    assert.notEqual(pc.id, port.id);
    const ipB = pb.fixed_ips[0]!.ip_address;
    const onIpB = (await neutron.list('ports', { network_id: n.id })).filter((p) => p.fixed_ips.some((f) => f.ip_address === ipB));
    assert.deepEqual(
      onIpB.map((p) => [p.id, p.device_id]),
      [[port.id, await endpointOf(b)]],
    );

    const endpoints = await Promise.all([a, b, c].map(endpointOf));
    const portIds = [...(await Promise.all([a, c].map(portOf))).map((p) => p.id), pb.id];
    const plugged = (await kuryrOvsInterfaces()).filter((i) => i.externalIds['vm-uuid'] === endpoints[1]);
    assert.deepEqual(plugged.map((i) => i.externalIds['iface-id']), [pb.id], "b's OVS port, by its endpoint");
    await docker('rm', '-f', a, b, c);
    await docker('network', 'rm', net);
    assert.deepEqual(await neutron.list('ports', { network_id: n.id }), [], 'no port left');
    assert.deepEqual(await neutron.list('networks', { id: n.id }), []);
    const ovs = (await kuryrOvsInterfaces()).filter((i) => portIds.includes(i.externalIds['iface-id'] ?? '') || endpoints.includes(i.externalIds['vm-uuid'] ?? ''));
    assert.deepEqual(ovs, [], 'no OVS port left');
    const veths = (await vethNamesOnHost()).filter((v) => portIds.some((id) => v.endsWith(id.slice(0, 11))));
    assert.deepEqual(veths, [], 'no veth left');
    passed = true;
  });
});
