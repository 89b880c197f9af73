/**
 * Security groups and --expose, proven with traffic: on a network whose ports
 * get a group that admits only ICMP, an exposed port answers and a
 * non-exposed one does not; the exposure group goes with the container.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, networkId, neutron, portsOfNetwork, taggedWith } from './support.js';

const containers: string[] = [];
const networks: string[] = [];
const groups: string[] = [];
after(async () => {
  await cleanupDocker(containers, networks);
  for (const g of groups) await neutron.delete('security-groups', g).catch(() => undefined);
});

describe('security groups and exposed ports', { timeout: 300_000 }, () => {
  it('--expose 80 opens 80 and only 80, IPv4 and IPv6 rules; the group is removed with the container', async () => {
    const sg = await neutron.create('security-groups', { name: `${RUN_PREFIX}-icmp-only` });
    groups.push(sg.id);
    await neutron.create('security-group-rules', { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' });
    const net = `${RUN_PREFIX}-exp`;
    networks.push(net);
    await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.182.0.0/24', '--gateway', '10.182.0.1', '-o', `neutron.security_groups=${sg.name}`, net);
    const [w, c] = [`${RUN_PREFIX}-expw`, `${RUN_PREFIX}-expc`];
    containers.push(w, c);
    await docker('run', '-d', '--name', w, '--net', net, '--expose', '80', IMAGE, 'sh', '-c', 'httpd -p 8080 -h /etc; httpd -f -p 80 -h /etc');
    await docker('run', '-d', '--name', c, '--net', net, IMAGE, 'sleep', '600');
    const ipW = await containerIp(w, net);
    const [neutronNet] = await taggedWith('networks', await networkId(net));
    const portW = (await portsOfNetwork(neutronNet!.id)).find((p) => p.fixed_ips.some((f) => f.ip_address === ipW))!;
    const exposed = (await neutron.list('security-groups', { name: `${portW.id}-exposed_ports` }))[0];
    assert.ok(exposed, 'the exposure group exists, with Kuryr\'s name');
    // Neutron keeps a port's groups as a set (its answer's order varies): both are there, nothing else.
    assert.deepEqual(new Set(portW.security_groups), new Set([exposed.id, sg.id]), "added to the network's group");
    const rules = await neutron.list('security-group-rules', { security_group_id: exposed.id, direction: 'ingress' });
    assert.deepEqual(rules.map((r) => `${r.ethertype}/${r.protocol}/${r.port_range_min}-${r.port_range_max}`).sort(), ['IPv4/tcp/80-80', 'IPv6/tcp/80-80']);

    assert.match(await docker('exec', c, 'ping', '-c', '1', '-W', '2', ipW), /1 packets received/, 'ICMP admitted by the network group');
    assert.ok((await docker('exec', c, 'wget', '-qO-', '-T', '3', `http://${ipW}:80/hostname`)).length > 0, 'exposed port answers');
    await assert.rejects(docker('exec', c, 'wget', '-qO-', '-T', '3', `http://${ipW}:8080/hostname`), 'a non-exposed port does not');

    await docker('rm', '-f', w);
    assert.deepEqual(await neutron.list('security-groups', { id: exposed.id }), [], 'exposure group removed with the container');
    await docker('rm', '-f', c);
    await docker('network', 'rm', net);
  });
});
