/**
 * Kuryr-libnetwork parity against the real Neutron, through the Docker CLI:
 * existing networks/subnets/pools/ports, shared networks, overlapping CIDRs,
 * dual stack, and the Neutron call budget (--ip-range: ip-range.test.ts).
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
  networkId,
  neutron,
  neutronCallsDuring,
  portsOfNetwork,
  taggedWith,
} from './support.js';
import { startDaemon } from './daemons.js';

const containers: string[] = [];
const networks: string[] = [];
const neutronCleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  await cleanupDocker(containers, networks);
  for (const undo of neutronCleanup.reverse()) await undo().catch(() => undefined);
});

const name = (s: string): string => `${RUN_PREFIX}-${s}`;
async function userNetwork(label: string) {
  const net = await neutron.create('networks', { name: name(label) });
  neutronCleanup.push(() => neutron.delete('networks', net.id));
  return net;
}
async function kuryrNet(netName: string, subnet: string, gateway: string, ...extra: string[]): Promise<string> {
  return driverNet('kuryr', netName, subnet, gateway, ...extra);
}
async function driverNet(driver: string, netName: string, subnet: string, gateway: string, ...extra: string[]): Promise<string> {
  networks.push(netName);
  await docker('network', 'create', '-d', driver, '--ipam-driver', driver, '--subnet', subnet, '--gateway', gateway, ...extra, netName);
  return networkId(netName);
}

describe('parity with Kuryr-libnetwork on real Neutron', { timeout: 300_000 }, () => {
  it('-o neutron.net.uuid: two Docker networks share one existing Neutron network; rm keeps it, untagged', async () => {
    const net = await userNetwork('shared');
    const [na, nb] = [name('sha'), name('shb')];
    const ida = await kuryrNet(na, '10.130.0.0/24', '10.130.0.1', '-o', `neutron.net.uuid=${net.id}`);
    const idb = await kuryrNet(nb, '10.130.0.0/24', '10.130.0.1', '-o', `neutron.net.uuid=${net.id}`);
    const tags = (await neutron.show('networks', net.id)).tags;
    for (const id of [ida, idb]) assert.ok(tags.includes(`kuryr.net.uuid.lh:${id.slice(0, 32)}`) && tags.includes(`kuryr.net.existing:${id.slice(0, 12)}`));
    assert.equal((await neutron.list('subnets', { network_id: net.id })).length, 1, 'one subnet for both');
    const [a, b] = [name('sha1'), name('shb1')];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', na, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', nb, IMAGE, 'sleep', '600');
    // Different Docker networks, same Neutron network: they reach each other through Neutron.
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', await containerIp(b, nb)), /2 packets received/);
    await docker('rm', '-f', a);
    await docker('network', 'rm', na);
    assert.equal((await neutron.list('subnets', { network_id: net.id })).length, 1, 'still used by the other Docker network');
    assert.match(await docker('exec', b, 'hostname'), /\w/);
    await docker('rm', '-f', b);
    await docker('network', 'rm', nb);
    const left = await neutron.show('networks', net.id);
    assert.deepEqual(left.tags, [], 'the user network is kept and untagged');
    assert.deepEqual(await neutron.list('subnets', { network_id: net.id }), [], "kuryr's subnet is gone with the last Docker network");
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.130.0.0/24' }), []);
  });

  it('a conflicting or unknown option is named, and nothing is left tagged (C9)', async () => {
    const net = await userNetwork('private');
    const err = await dockerFails('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.131.0.0/24', '-o', `neutron.net.uuid=${net.id}`, '-o', 'neutron.net.shared=true', name('c9'));
    assert.match(err, /neutron\.net\.shared=true disagrees with Neutron network/);
    assert.deepEqual((await neutron.show('networks', net.id)).tags, []);
    const err2 = await dockerFails('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.131.0.0/24', '-o', `neutron.net.name=${name('nope')}`, name('c9b'));
    assert.match(err2, /neutron\.net\.name=.*: no such Neutron network/);
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.131.0.0/24' }), []);
  });

  it('pre-created ports: adopted by --ip and reset on rm; a VM port is refused (C10)', async () => {
    const id = await kuryrNet(name('pre'), '10.132.0.0/24', '10.132.0.1');
    const [net] = await taggedWith('networks', id);
    // In the network's project (kuryr's, behind Keystone), as a user would: a port of another
    // project gets that project's default security group, which drops kuryr's containers' pings.
    const mine = await neutron.create('ports', {
      network_id: net!.id,
      project_id: net!.project_id,
      name: name('my-port'),
      fixed_ips: [{ ip_address: '10.132.0.9' }],
    });
    neutronCleanup.push(() => neutron.delete('ports', mine.id));
    const c = name('pre1');
    containers.push(c);
    await docker('run', '-d', '--name', c, '--net', name('pre'), '--ip', '10.132.0.9', IMAGE, 'sleep', '600');
    const bound = await neutron.show('ports', mine.id);
    assert.equal(bound['binding:host_id'], hostId());
    assert.ok(bound.tags.includes('kuryr.port.existing'));
    assert.equal(bound.name, name('my-port'));
    const probe = name('pre2');
    containers.push(probe);
    assert.match(await docker('run', '--rm', '--name', probe, '--net', name('pre'), IMAGE, 'ping', '-c', '2', '-W', '2', '10.132.0.9'), /2 packets received/);
    await docker('rm', '-f', c);
    const reset = await neutron.show('ports', mine.id);
    assert.equal(reset['binding:host_id'], '');
    assert.equal(reset.device_owner, '');
    assert.deepEqual(reset.tags, []);

    const vm = await neutron.create('ports', {
      network_id: net!.id,
      fixed_ips: [{ ip_address: '10.132.0.20' }],
      device_owner: 'compute:nova',
      device_id: 'some-vm',
    });
    neutronCleanup.push(() => neutron.delete('ports', vm.id));
    const hijack = name('pre3');
    containers.push(hijack);
    const err = await dockerFails('run', '-d', '--name', hijack, '--net', name('pre'), '--ip', '10.132.0.20', IMAGE, 'sleep', '60');
    assert.match(err, /already in use \(device_owner=compute:nova/);
    assert.equal((await neutron.show('ports', vm.id)).device_owner, 'compute:nova');
    await docker('rm', '-f', hijack).catch(() => undefined);
    await neutron.delete('ports', mine.id);
    await neutron.delete('ports', vm.id);
    assert.deepEqual((await portsOfNetwork(net!.id)).map((p) => p.id), []);
  });

  it('overlapping CIDRs on two Neutron networks, the same IP on both (neutron.subnet.uuid)', async () => {
    const ids: string[] = [];
    for (const label of ['ova', 'ovb']) {
      const net = await userNetwork(label);
      const subnet = await neutron.create('subnets', { network_id: net.id, cidr: '10.133.0.0/24', ip_version: 4, name: name(label) });
      neutronCleanup.push(() => neutron.delete('subnets', subnet.id));
      ids.push(
        await kuryrNet(name(label), '10.133.0.0/24', '10.133.0.1', '-o', `neutron.net.uuid=${net.id}`, '-o', `neutron.subnet.uuid=${subnet.id}`, '--ipam-opt', `neutron.subnet.uuid=${subnet.id}`),
      );
    }
    const [a, b] = [name('ova1'), name('ovb1')];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', name('ova'), '--ip', '10.133.0.50', IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', name('ovb'), '--ip', '10.133.0.50', IMAGE, 'sleep', '600');
    await docker('rm', '-f', a);
    const [netB] = await taggedWith('networks', ids[1]!);
    assert.equal((await portsOfNetwork(netB!.id)).filter((p) => p.fixed_ips.some((f) => f.ip_address === '10.133.0.50')).length, 1, "the other network's 10.133.0.50 survives");
    await docker('rm', '-f', b);
    await docker('network', 'rm', name('ova'), name('ovb'));
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.133.0.0/24' }), []);
  });

  it('-o neutron.net.uuid without --gateway over a subnet whose gateway is not the first host (or that has none): reused with its own gateway', async () => {
    for (const [label, cidr, gateway] of [['gw254', '10.137.0.0/24', '10.137.0.254'], ['nogw', '10.138.0.0/24', null]] as const) {
      const net = await userNetwork(label);
      const subnet = await neutron.create('subnets', { network_id: net.id, cidr, ip_version: 4, gateway_ip: gateway, name: name(label) });
      neutronCleanup.push(() => neutron.delete('subnets', subnet.id));
      networks.push(name(label));
      await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', cidr, '-o', `neutron.net.uuid=${net.id}`, name(label));
      assert.deepEqual((await neutron.list('subnets', { network_id: net.id })).map((s) => [s.id, s.gateway_ip]), [[subnet.id, gateway]], 'the subnet reused as it is');
      const c = name(`${label}1`);
      containers.push(c);
      await docker('run', '-d', '--name', c, '--net', name(label), IMAGE, 'sleep', '600');
      const routes = await docker('exec', c, 'ip', 'route');
      if (gateway) assert.match(routes, new RegExp(`^default via ${gateway.replace(/\./g, '\\.')} `, 'm'), "the container's default route is the subnet's gateway");
      else assert.doesNotMatch(routes, /^default/m, 'no gateway, no default route');
      await docker('rm', '-f', c);
      await docker('network', 'rm', name(label));
      const [kept] = await neutron.list('subnets', { network_id: net.id });
      assert.equal(kept?.id, subnet.id, 'kept');
      assert.deepEqual(kept?.tags, [], 'untagged');
    }
  });

  it('neutron.pool.uuid: an existing subnet pool is used and kept', async () => {
    const pool = await neutron.create('subnetpools', { name: name('pool'), prefixes: ['10.134.0.0/24'], default_prefixlen: 24 });
    neutronCleanup.push(() => neutron.delete('subnetpools', pool.id));
    const id = await kuryrNet(name('pool'), '10.134.0.0/24', '10.134.0.1', '-o', `neutron.pool.uuid=${pool.id}`, '--ipam-opt', `neutron.pool.uuid=${pool.id}`);
    const [net] = await taggedWith('networks', id);
    const [subnet] = await neutron.list('subnets', { network_id: net!.id });
    assert.equal(subnet?.subnetpool_id, pool.id);
    assert.ok((await neutron.show('subnetpools', pool.id)).tags.includes('kuryr.subnetpool.existing'));
    await docker('network', 'rm', name('pool'));
    assert.deepEqual((await neutron.show('subnetpools', pool.id)).tags, [], 'kept, untagged');
  });

  it('dual stack: one port with both addresses, ping over IPv6 too', async () => {
    const n = name('ds');
    const id = await kuryrNet(n, '10.135.0.0/24', '10.135.0.1', '--ipv6', '--subnet', 'fd00:135::/64', '--gateway', 'fd00:135::1');
    const [a, b] = [name('ds1'), name('ds2')];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', n, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', n, IMAGE, 'sleep', '600');
    const [net] = await taggedWith('networks', id);
    const ports = (await portsOfNetwork(net!.id)).filter((p) => p.device_owner === 'compute:kuryr');
    assert.equal(ports.length, 2);
    for (const p of ports) assert.equal(p.fixed_ips.length, 2, 'v4 + v6 on one port');
    const v6 = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${n}").GlobalIPv6Address}}`, b);
    assert.match(v6, /^fd00:135::/);
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '3', v6), /2 packets received/);
    await docker('rm', '-f', a, b);
    await docker('network', 'rm', n);
    assert.deepEqual(await taggedWith('networks', id), []);
  });

  it('the Neutron call budget per Docker operation (Kuryr: create 13, attach 13, detach 8, rm 13)', async () => {
    const n = name('budget');
    // Counted by a daemon of its own: the lab daemon's counters also count the tests running beside this one.
    const daemon = await startDaemon(`${RUN_PREFIX}bud`, 'reconcile_interval = 0');
    neutronCleanup.push(() => daemon.stop());
    const calls = (work: () => Promise<unknown>) => neutronCallsDuring(work, `/run/docker/plugins/${daemon.name}.sock`);
    // Zed takes no tags in a POST: pool + duplicate check, network + tags, subnet + tag (4 with tag-creation: tag-creation.test.ts)
    const create = await calls(() => driverNet(daemon.name, n, '10.136.0.0/24', '10.136.0.1'));
    assert.ok(create <= 6, `docker network create: ${create} Neutron calls (Kuryr: 13)`);
    const c = name('budget1');
    containers.push(c);
    const attach = await calls(() => docker('run', '-d', '--name', c, '--net', n, IMAGE, 'sleep', '600'));
    const detach = await calls(() => docker('rm', '-f', c));
    assert.ok(attach <= 4, `docker run: ${attach} Neutron calls (Kuryr: 13)`);
    assert.ok(detach <= 3, `docker rm -f: ${detach} Neutron calls (Kuryr: 8)`);
    const rm = await calls(() => docker('network', 'rm', n));
    assert.ok(rm <= 5, `docker network rm: ${rm} Neutron calls (Kuryr: 13)`);
  });

  it('no --subnet: a fresh block of the default pool per network (C5); the pool is kept (C4)', async () => {
    let pool = (await neutron.list('subnetpools', { name: 'kuryr' }))[0];
    if (!pool) {
      pool = await neutron.create('subnetpools', { name: 'kuryr', prefixes: ['10.150.0.0/16'], default_prefixlen: 24 });
      const id = pool.id;
      neutronCleanup.push(() => neutron.delete('subnetpools', id));
    }
    const [n1, n2] = [name('dp1'), name('dp2')];
    networks.push(n1, n2);
    await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', n1);
    await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', n2);
    const subnet1 = await docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', n1);
    const subnet2 = await docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', n2);
    assert.notEqual(subnet1, subnet2);
    const c = name('dp1c');
    containers.push(c);
    await docker('run', '-d', '--name', c, '--net', n1, IMAGE, 'sleep', '600');
    assert.ok((await containerIp(c, n1)).startsWith(subnet1.split('.').slice(0, 3).join('.')));
    await docker('rm', '-f', c);
    await docker('network', 'rm', n1, n2);
    assert.equal((await neutron.list('subnetpools', { id: pool.id })).length, 1, 'the default pool is never deleted');
    assert.deepEqual(await neutron.list('subnets', { subnetpool_id: pool.id }), []);
  });
});
