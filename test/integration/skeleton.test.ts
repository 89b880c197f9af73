/**
 * The walking skeleton, end to end: Docker CLI → kuryr-ts → real Neutron
 * (ML2/OVN) → veth on br-int → packets between real containers.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  IMAGE,
  RUN_PREFIX,
  cleanupDocker,
  containerIp,
  docker,
  dockerFails,
  hostId,
  kuryrOvsInterfaces,
  networkId,
  neutron,
  pluginCall,
  portsOfNetwork,
  taggedWith,
  vethNamesOnHost,
  waitFor,
} from './support.js';
import { startDaemon, type TestDaemon } from './daemons.js';

const containers: string[] = [];
const networks: string[] = [];
let restarted: TestDaemon | undefined;
after(async () => {
  await cleanupDocker(containers, networks);
  await restarted?.stop();
});

async function assertNothingLeft(dockerNetId: string, cidr: string, portIds: string[]): Promise<void> {
  assert.deepEqual(await taggedWith('networks', dockerNetId), [], 'no Neutron network left');
  assert.deepEqual(await neutron.list('subnets', { cidr }), [], 'no subnet left');
  assert.deepEqual(await neutron.list('subnetpools', { name: `kuryrPool-${cidr}` }), [], 'no subnet pool left');
  for (const id of portIds) assert.deepEqual(await neutron.list('ports', { id }), [], `port ${id} deleted`);
  const shorts = portIds.map((id) => id.slice(0, 11));
  const ovs = (await kuryrOvsInterfaces()).filter((i) => portIds.includes(i.externalIds['iface-id'] ?? ''));
  assert.deepEqual(ovs, [], 'no OVS port left');
  const veths = (await vethNamesOnHost()).filter((n) => shorts.some((s) => n.endsWith(s)));
  assert.deepEqual(veths, [], 'no veth left');
}

describe('walking skeleton: docker → kuryr-ts → Neutron → packets', { timeout: 300_000 }, () => {
  it('the contract scenario: ping and TCP between containers over Neutron, nothing left behind', async () => {
    const net = `${RUN_PREFIX}-net1`;
    const [a, w] = [`${RUN_PREFIX}-a`, `${RUN_PREFIX}-w`];
    networks.push(net);
    containers.push(a, w);
    await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.10.0.0/24', '--gateway', '10.10.0.1', net);
    const netId = await networkId(net);

    const [neutronNet] = await taggedWith('networks', netId);
    assert.ok(neutronNet, 'Neutron network tagged with the Docker network id');
    assert.equal(neutronNet.name, `kuryr-net-${netId.slice(0, 8)}`);
    const subnets = await neutron.list('subnets', { network_id: neutronNet.id });
    assert.equal(subnets.length, 1);
    assert.equal(subnets[0]?.cidr, '10.10.0.0/24');
    assert.equal(subnets[0]?.gateway_ip, '10.10.0.1');

    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', w, '--net', net, IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/etc');
    const ipA = await containerIp(a, net);
    const ipW = await containerIp(w, net);
    assert.match(ipA, /^10\.10\.0\.\d+$/);

    const ports = await waitFor('both ports ACTIVE', async () => {
      const ps = (await portsOfNetwork(neutronNet.id)).filter((p) => p.device_owner === 'compute:kuryr');
      return ps.length === 2 && ps.every((p) => p.status === 'ACTIVE') && ps;
    });
    for (const p of ports) {
      assert.equal(p['binding:host_id'], hostId());
      assert.equal(p['binding:vif_type'], 'ovs');
      assert.ok(p.tags.includes('compute:kuryr'));
    }
    const byIp = new Map(ports.map((p) => [p.fixed_ips[0]?.ip_address, p]));
    const portA = byIp.get(ipA);
    assert.ok(portA, 'container a has the Neutron port with its address');
    const macA = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").MacAddress}}`, a);
    assert.equal(portA.mac_address, macA.toLowerCase(), 'Neutron port MAC = container MAC');
    const ovs = await kuryrOvsInterfaces();
    assert.ok(ovs.some((i) => i.externalIds['iface-id'] === portA.id && i.externalIds['iface-status'] === 'active'));

    // MTU of the Neutron network inside the container
    const mtu = await docker('exec', a, 'cat', '/sys/class/net/eth0/mtu');
    assert.equal(Number(mtu), neutronNet.mtu);

    const ping = await docker('run', '--rm', '--net', net, IMAGE, 'ping', '-c', '3', '-W', '2', ipA);
    assert.match(ping, /3 packets received/);
    const body = await docker('run', '--rm', '--net', net, IMAGE, 'wget', '-qO-', '-T', '3', `http://${ipW}:8080/hostname`);
    assert.ok(body.length > 0, 'TCP through OVN security groups (tx checksum offload off)');

    const allPortIds = (await portsOfNetwork(neutronNet.id)).map((p) => p.id);
    await docker('rm', '-f', a, w);
    await docker('network', 'rm', net);
    await assertNothingLeft(netId, '10.10.0.0/24', allPortIds);
  });

  it('survives a daemon restart: Neutron is the only state', async () => {
    // A daemon of its own (driver <prefix>rs), so that its restarts leave the lab's daemon, and the tests running beside this one, alone.
    const driver = `${RUN_PREFIX}rs`;
    const start = async (): Promise<TestDaemon> => (restarted = await startDaemon(driver, 'reconcile_interval = 0'));
    const restart = async (): Promise<void> => {
      await restarted?.stop();
      await start();
    };
    await start();
    const net = `${RUN_PREFIX}-net2`;
    const [a, b] = [`${RUN_PREFIX}-ra`, `${RUN_PREFIX}-rb`];
    networks.push(net);
    containers.push(a, b);
    await docker('network', 'create', '-d', driver, '--ipam-driver', driver, '--subnet', '10.11.0.0/24', '--gateway', '10.11.0.1', net);
    const netId = await networkId(net);
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    await restart();
    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'sleep', '600');
    const ipA = await containerIp(a, net);
    assert.match(await docker('exec', b, 'ping', '-c', '2', '-W', '2', ipA), /2 packets received/);
    const [neutronNet] = await taggedWith('networks', netId);
    const portIds = (await portsOfNetwork(neutronNet!.id)).map((p) => p.id);
    await restart();
    await docker('rm', '-f', a, b);
    await restart();
    await docker('network', 'rm', net);
    await assertNothingLeft(netId, '10.11.0.0/24', portIds);
  });

  it('bad input through Docker: a clear error and nothing half-made', async () => {
    const net = `${RUN_PREFIX}-bad`;
    networks.push(net);
    const err = await dockerFails('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.12.0.0/24', '-o', 'neutron.bogus=1', net);
    assert.match(err, /unknown option -o neutron\.bogus=1/);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.12.0.0/24' }), [], "Docker's rollback released the pool");
    assert.deepEqual(await neutron.list('subnets', { cidr: '10.12.0.0/24' }), []);

    // A Neutron error (the address is the gateway's): named, and no port or veth left.
    await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.12.0.0/24', '--gateway', '10.12.0.1', net);
    const netId = await networkId(net);
    const name = `${RUN_PREFIX}-badip`;
    containers.push(name);
    const runErr = await dockerFails('run', '-d', '--name', name, '--net', net, '--ip', '10.12.0.1', IMAGE, 'sleep', '60');
    assert.match(runErr, /address 10\.12\.0\.1 is the gateway of subnet/);
    const [neutronNet] = await taggedWith('networks', netId);
    assert.deepEqual(await portsOfNetwork(neutronNet!.id), [], 'no port left after the failed run');
    await docker('rm', '-f', name).catch(() => undefined);
    await docker('network', 'rm', net);
    await assertNothingLeft(netId, '10.12.0.0/24', []);
  });

  it('protocol edge on the real socket: 404 unknown, 400 malformed, never 200 with an error', async () => {
    const unknown = await pluginCall('NetworkDriver.Nope', '{}');
    assert.equal(unknown.status, 404);
    const malformed = await pluginCall('NetworkDriver.CreateNetwork', '{"NetworkID": ');
    assert.equal(malformed.status, 400);
    assert.match(JSON.parse(malformed.body).Err as string, /not valid JSON/);
    const schema = await pluginCall('IpamDriver.RequestAddress', '{"PoolID": 5}');
    assert.equal(schema.status, 400);
    assert.match(JSON.parse(schema.body).Error as string, /PoolID/);
    const caps = await pluginCall('NetworkDriver.GetCapabilities', '');
    assert.deepEqual(JSON.parse(caps.body), { Scope: 'local', ConnectivityScope: 'local', GwAllocChecker: true });
  });
});
