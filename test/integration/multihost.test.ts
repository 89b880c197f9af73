/**
 * Two Docker hosts share Neutron networks, with plain
 * Docker tools. lab/hosts.sh runs host1 and host2, each in its own network,
 * mount and UTS namespaces with its own OVS + ovn-controller (an OVN chassis),
 * Docker Engine and kuryr daemon, joined by a veth underlay carrying Geneve
 * (docs/multihost.md). This test brings them up when they are not (and then
 * stops them again), or skips when the machine cannot run them.
 *
 * Every address lives inside the lab's namespaces and containers; traffic
 * goes only between the containers this test starts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { HOSTS, cannotRun, dk, hostsSh, hx, kuryrOvsPorts, netns, upHosts, vethsOn, type Host } from './lab-hosts.js';
import { IMAGE, RUN_PREFIX, neutron, sh, waitFor } from './support.js';

const skip = cannotRun();

let startedHosts = false;
const made: Array<{ host: Host; kind: 'container' | 'network'; name: string }> = [];
const neutronNets: string[] = [];

before(async () => {
  if (skip) return;
  // idempotent: starts what is missing, restarts a host's kuryr daemon on a newer build
  startedHosts = await upHosts();
});

after(async () => {
  if (skip) return;
  for (const m of [...made].reverse()) {
    if (m.kind === 'container') await dk(m.host, 'rm', '-f', m.name).catch(() => undefined);
    else await dk(m.host, 'network', 'rm', m.name).catch(() => undefined);
  }
  for (const id of neutronNets) await neutron.delete('networks', id).catch(() => undefined);
  if (startedHosts) {
    const t0 = Date.now();
    await hostsSh('down');
    console.log(`# lab/hosts.sh down: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
});

async function netCreate(h: Host, name: string, cidr: string, gw: string, ...opts: string[]): Promise<string> {
  made.push({ host: h, kind: 'network', name });
  return dk(h, 'network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', ...opts.flatMap((o) => ['-o', o]), '--subnet', cidr, '--gateway', gw, name);
}

/** A container serving "hello from <name>" on :8080; returns its address. */
async function httpd(h: Host, name: string, net: string): Promise<string> {
  made.push({ host: h, kind: 'container', name });
  await dk(h, 'run', '-d', '--name', name, '--net', net, IMAGE, 'sh', '-c', `echo hello from ${name} > /var/www/index.html && exec httpd -f -p 8080 -h /var/www`);
  return dk(h, 'inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name);
}

async function ping(h: Host, container: string, ip: string): Promise<void> {
  await dk(h, 'exec', container, 'ping', '-c', '3', '-W', '2', ip);
}

async function fetchFrom(h: Host, container: string, ip: string): Promise<string> {
  return dk(h, 'exec', container, 'wget', '-qO-', '-T', '5', `http://${ip}:8080/`);
}

/** A throw-away container on h that fetches from ip (a new attach on that host, then traffic). */
async function fetchWithNew(h: Host, net: string, ip: string): Promise<string> {
  return dk(h, 'run', '--rm', '--net', net, IMAGE, 'wget', '-qO-', '-T', '5', `http://${ip}:8080/`);
}

async function activePorts(neutronNetId: string, count: number): Promise<NeutronPort[]> {
  return waitFor(`${count} ACTIVE kuryr ports on ${neutronNetId}`, async () => {
    const ps = (await neutron.list('ports', { network_id: neutronNetId })).filter((p) => p.device_owner === 'compute:kuryr');
    return ps.length === count && ps.every((p) => p.status === 'ACTIVE') && ps;
  });
}

function portOf(ports: NeutronPort[], ip: string): NeutronPort {
  const p = ports.find((x) => x.fixed_ips.some((f) => f.ip_address === ip));
  assert.ok(p, `a Neutron port has ${ip}`);
  return p;
}

async function underlayCounters(): Promise<{ rx: number; tx: number }> {
  const [link] = JSON.parse(await sh('ip', ['-n', 'kuryr-host2', '-s', '-j', 'link', 'show', 'ul0'])) as Array<{ stats64: { rx: { packets: number }; tx: { packets: number } } }>;
  assert.ok(link, "host2's underlay ul0");
  return { rx: link.stats64.rx.packets, tx: link.stats64.tx.packets };
}

/** tcpdump on host2's underlay port (Geneve = UDP 6081) while fn runs; its decoded lines. */
async function captureUnderlay(fn: () => Promise<void>): Promise<string | undefined> {
  if (!existsSync('/usr/bin/tcpdump')) return undefined;
  const td = spawn('nsenter', [`--net=${netns('host2')}`, '--', 'tcpdump', '-lni', 'ul0', '-c', '40', 'udp port 6081'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  td.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  td.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((r) => td.once('exit', () => r()));
  await waitFor('tcpdump listening', async () => /listening on/.test(err), 10_000);
  try {
    await fn();
  } finally {
    await new Promise((r) => setTimeout(r, 300));
    if (td.exitCode === null) td.kill('SIGTERM');
    await exited;
  }
  return out;
}

describe('two Docker hosts on one Neutron (lab/hosts.sh)', { skip: skip ?? false, timeout: 240_000 }, () => {
  const uNet = `${RUN_PREFIX}-mhu`; // Neutron network pre-created, adopted by uuid on both hosts
  const nNet = `${RUN_PREFIX}-mhn`; // made by kuryr on host1, adopted by name on host2
  // Per-run subnets: a kuryr daemon that outlives a run may still hold hints about the
  // previous run's subnet pools, which the other host deleted (see docs/multihost.md).
  const o = (process.pid % 84) * 3;
  const [uCidr, nCidr, bCidr] = [`10.206.${o}.0/24`, `10.206.${o + 1}.0/24`, `10.206.${o + 2}.0/24`];
  const gw = (cidr: string): string => cidr.replace(/0\/24$/, '1');
  let n1Id = '';
  let nNeutronId = '';
  const ip: Record<string, string> = {};

  it('each host is an alive OVN chassis in Neutron and a Docker host with its own kuryr', async () => {
    for (const h of HOSTS) {
      const agents = await neutron.list('agents', { host: h });
      assert.ok(agents.some((a) => a.agent_type === 'OVN Controller agent' && a.alive), `${h}: alive OVN Controller agent`);
      assert.equal(await dk(h, 'info', '-f', '{{.Name}}'), h, `${h}'s Docker reports its own hostname`);
      assert.equal((await hx(h, 'ovs-vsctl', 'get', 'Open_vSwitch', '.', 'external_ids:hostname')).replace(/"/g, ''), h, `${h}: its own OVS, chassis ${h}`);
    }
  });

  it('network adopted by uuid on both hosts: ping and HTTP across hosts, over Geneve on the underlay, ports bound per host', async () => {
    const n1 = await neutron.create('networks', { name: `${RUN_PREFIX}-mh-uuid` });
    n1Id = n1.id;
    neutronNets.push(n1.id);
    for (const h of HOSTS) await netCreate(h, uNet, uCidr, gw(uCidr), `neutron.net.uuid=${n1.id}`);
    ip.u1 = await httpd('host1', `${RUN_PREFIX}-u1`, uNet);
    ip.u2 = await httpd('host2', `${RUN_PREFIX}-u2`, uNet);

    const ports = await activePorts(n1.id, 2);
    assert.equal(portOf(ports, ip.u1)['binding:host_id'], 'host1');
    assert.equal(portOf(ports, ip.u2)['binding:host_id'], 'host2');
    for (const p of ports) assert.equal(p['binding:vif_type'], 'ovs');

    const before = await underlayCounters();
    const capture = await captureUnderlay(async () => {
      await ping('host1', `${RUN_PREFIX}-u1`, ip.u2!);
      await ping('host2', `${RUN_PREFIX}-u2`, ip.u1!);
      assert.equal(await fetchFrom('host1', `${RUN_PREFIX}-u1`, ip.u2!), `hello from ${RUN_PREFIX}-u2`);
      assert.equal(await fetchFrom('host2', `${RUN_PREFIX}-u2`, ip.u1!), `hello from ${RUN_PREFIX}-u1`);
    });
    const afterC = await underlayCounters();
    // 6 pings each way + 2 TCP exchanges: every packet crossed host2's underlay port
    assert.ok(afterC.tx - before.tx >= 6 && afterC.rx - before.rx >= 6, `underlay ul0 counters moved: ${JSON.stringify({ before, after: afterC })}`);
    if (capture !== undefined) {
      const geneve = capture.split('\n').filter((l) => l.includes('Geneve'));
      assert.ok(geneve.some((l) => l.includes(`IP ${ip.u1} > ${ip.u2}: ICMP echo request`)), `Geneve carrying host1 → host2 ICMP:\n${capture}`);
      assert.ok(geneve.some((l) => l.includes(`IP ${ip.u2} > ${ip.u1}: ICMP echo request`)), `Geneve carrying host2 → host1 ICMP:\n${capture}`);
      assert.ok(geneve.some((l) => l.includes(`IP ${ip.u1}.`) && l.includes(`${ip.u2}.8080`)), `Geneve carrying the HTTP to host2:\n${capture}`);
      assert.ok(geneve.every((l) => /IP 192\.168\.254\.[12]\.\d+ > 192\.168\.254\.[12]\.6081/.test(l)), 'outer header: between the hosts\' tunnel addresses');
      console.log(`# underlay ul0 (host2): rx ${before.rx} -> ${afterC.rx}, tx ${before.tx} -> ${afterC.tx}; e.g. ${geneve[0]}`);
    }
  });

  it('network made on host1 and adopted by name on host2: containers talk across hosts', async () => {
    const id = await netCreate('host1', nNet, nCidr, gw(nCidr));
    const name = `kuryr-net-${id.slice(0, 8)}`;
    const [net] = await neutron.list('networks', { name });
    assert.ok(net, `host1 made Neutron network ${name}`);
    nNeutronId = net.id;
    neutronNets.push(net.id);
    await netCreate('host2', nNet, nCidr, gw(nCidr), `neutron.net.name=${name}`);
    ip.n1 = await httpd('host1', `${RUN_PREFIX}-n1`, nNet);
    ip.n2 = await httpd('host2', `${RUN_PREFIX}-n2`, nNet);
    const ports = await activePorts(net.id, 2);
    assert.equal(portOf(ports, ip.n1)['binding:host_id'], 'host1');
    assert.equal(portOf(ports, ip.n2)['binding:host_id'], 'host2');
    await ping('host2', `${RUN_PREFIX}-n2`, ip.n1);
    assert.equal(await fetchFrom('host1', `${RUN_PREFIX}-n1`, ip.n2), `hello from ${RUN_PREFIX}-n2`);
    assert.equal(await fetchFrom('host2', `${RUN_PREFIX}-n2`, ip.n1), `hello from ${RUN_PREFIX}-n1`);
  });

  it('removing a network on one host leaves the other host working; the Neutron network kuryr made goes with its last host', async () => {
    // uuid network: host1 leaves; host2's container still serves, a new container on host2 attaches
    await dk('host1', 'rm', '-f', `${RUN_PREFIX}-u1`);
    await dk('host1', 'network', 'rm', uNet);
    assert.equal(await fetchWithNew('host2', uNet, ip.u2!), `hello from ${RUN_PREFIX}-u2`);
    assert.equal((await neutron.show('networks', n1Id)).subnets.length, 1, 'the adopted network keeps its subnet while host2 uses it');
    assert.equal(portOf(await activePorts(n1Id, 1), ip.u2!)['binding:host_id'], 'host2');

    // by-name network: host2 (the adopter) leaves first; host1 keeps working, the network stays
    await dk('host2', 'rm', '-f', `${RUN_PREFIX}-n2`);
    await dk('host2', 'network', 'rm', nNet);
    assert.equal(await fetchWithNew('host1', nNet, ip.n1!), `hello from ${RUN_PREFIX}-n1`);
    assert.equal((await neutron.list('networks', { id: nNeutronId })).length, 1, 'host1 still uses the network');
    // host1, the last host, removes it: kuryr deletes the network it made
    await dk('host1', 'rm', '-f', `${RUN_PREFIX}-n1`);
    await dk('host1', 'network', 'rm', nNet);
    assert.deepEqual(await neutron.list('networks', { id: nNeutronId }), [], 'the last host deleted the Neutron network kuryr made');

    await dk('host2', 'rm', '-f', `${RUN_PREFIX}-u2`);
    await dk('host2', 'network', 'rm', uNet);
    const n1 = await neutron.show('networks', n1Id);
    assert.deepEqual(n1.subnets, [], 'kuryr removed the subnet it made on the adopted network');
    assert.equal(n1.tags.filter((t) => t.startsWith('kuryr.')).length, 0, 'and its tags');
  });

  it('clean teardown: no ports, networks, subnet pools, veths or OVS ports left on either host', async () => {
    assert.deepEqual(await neutron.list('ports', { network_id: n1Id }), [], 'no port left on the adopted network');
    for (const cidr of [uCidr, nCidr]) {
      assert.deepEqual(await neutron.list('subnets', { cidr }), [], `no subnet ${cidr} left`);
      assert.deepEqual(await neutron.list('subnetpools', { name: `kuryrPool-${cidr}` }), [], `no subnet pool for ${cidr} left`);
    }
    for (const h of HOSTS) {
      assert.deepEqual(await kuryrOvsPorts(h), [], `${h}: no kuryr OVS port left`);
      assert.deepEqual(await vethsOn(h), [], `${h}: no veth left but the underlay`);
      assert.equal(await dk(h, 'ps', '-aq', '--filter', `name=${RUN_PREFIX}`), '', `${h}: no container left`);
      assert.equal(await dk(h, 'network', 'ls', '-q', '--filter', `name=${RUN_PREFIX}`), '', `${h}: no Docker network left`);
    }
  });

  it(
    'network made on host1, adopted by name on host2, removed on host1 first: the last host deletes it',
    async () => {
      const net = `${RUN_PREFIX}-mhb`;
      const id = await netCreate('host1', net, bCidr, gw(bCidr));
      const [nn] = await neutron.list('networks', { name: `kuryr-net-${id.slice(0, 8)}` });
      assert.ok(nn);
      neutronNets.push(nn.id);
      await netCreate('host2', net, bCidr, gw(bCidr), `neutron.net.name=${nn.name}`);
      await dk('host1', 'network', 'rm', net);
      assert.equal((await neutron.list('networks', { id: nn.id })).length, 1, 'host2 still uses it');
      await dk('host2', 'network', 'rm', net);
      const left = await neutron.list('networks', { id: nn.id });
      assert.equal(left.length, 0, `Neutron network ${nn.name} left behind (tags: [${left[0]?.tags.join(', ')}])`);
    },
  );
});
