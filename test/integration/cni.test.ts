/**
 * CNI mode on the real lab: `kuryr-cni` against the lab's running daemon.
 * (a) A namespace made here with `ip netns add` gets a port on a kuryr Docker
 *     network's Neutron network by ADD, passes CHECK, pings a Docker
 *     container of that network, talks TCP (HTTP) with it both ways, and DEL
 *     leaves no port.
 * (b) Podman with its CNI backend and a conflist naming kuryr-cni runs a
 *     container (an image made by `podman import` of the lab's busybox rootfs)
 *     that pings the Docker container; its port is ACTIVE and bound to this
 *     host; `podman rm -f` removes the port. Skipped without podman.
 * All traffic stays inside the Neutron network and namespaces made here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CNI_DEVICE_OWNER } from '@kuryr-ts/kuryr/domain/cni-naming';
import { CNI_BIN as BIN, cniPortsOf, kuryrCni } from './cni-plugin.js';
import { IMAGE, PLUGIN_SOCKET, RUN_PREFIX, cleanupDocker, containerIp, docker, hostId, networkId, neutron, sh, waitFor } from './support.js';

const NET = `${RUN_PREFIX}-cni`;
const DOCKER_CT = `${RUN_PREFIX}-cni-peer`;
const NETNS = `${RUN_PREFIX}cni`;
const containers: string[] = [];
const networks: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await cleanupDocker(containers, networks);
});

let shared: { neutronNet: string; peerIp: string } | undefined;

/** The kuryr Docker network with one container on it (serving "hello from <name>" on :8080), and its Neutron network. */
async function dockerSide(): Promise<{ neutronNet: string; peerIp: string }> {
  if (shared) return shared;
  networks.push(NET);
  await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.175.0.0/24', '--gateway', '10.175.0.1', NET);
  const [n] = await neutron.list('networks', { name: `kuryr-net-${(await networkId(NET)).slice(0, 8)}` });
  assert.ok(n, 'the Neutron network of the Docker network');
  containers.push(DOCKER_CT);
  await docker('run', '-d', '--name', DOCKER_CT, '--net', NET, IMAGE, 'sh', '-c', `echo hello from ${DOCKER_CT} > /var/www/index.html && exec httpd -f -p 8080 -h /var/www`);
  shared = { neutronNet: n.id, peerIp: (await containerIp(DOCKER_CT, NET)).trim() };
  return shared;
}


describe('CNI mode (kuryr-cni)', { timeout: 300_000 }, () => {
  it('ADD, CHECK, ping and TCP both ways with a Docker container, DEL on a namespace made with ip netns add', async () => {
    const { neutronNet, peerIp } = await dockerSide();
    await sh('ip', ['netns', 'add', NETNS]);
    cleanups.push(() => sh('ip', ['netns', 'del', NETNS]));
    const containerId = randomBytes(32).toString('hex');
    const env = { CNI_CONTAINERID: containerId, CNI_NETNS: `/var/run/netns/${NETNS}`, CNI_IFNAME: 'eth0' };
    const config = { cniVersion: '1.0.0', name: 'kuryr-lab', type: 'kuryr-cni', daemon_socket: PLUGIN_SOCKET, neutron: { network: neutronNet } };
    cleanups.push(() => kuryrCni({ ...env, CNI_COMMAND: 'DEL' }, config));

    const add = await kuryrCni({ ...env, CNI_COMMAND: 'ADD' }, config);
    assert.equal(add.code, 0, add.stdout);
    const ips = add.json!.ips as Array<{ address: string; gateway: string }>;
    assert.match(ips[0]!.address, /^10\.175\.0\.\d+\/24$/);
    assert.equal(ips[0]!.gateway, '10.175.0.1');
    assert.deepEqual(add.json!.routes, [{ dst: '0.0.0.0/0', gw: '10.175.0.1' }]);
    const [port] = await cniPortsOf(containerId);
    assert.ok(port);
    assert.deepEqual([port.device_owner, port.status, port['binding:host_id']], [CNI_DEVICE_OWNER, 'ACTIVE', hostId()]);
    const link = await sh('ip', ['netns', 'exec', NETNS, 'ip', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.ok(link.includes(ips[0]!.address), link);

    const check = await kuryrCni({ ...env, CNI_COMMAND: 'CHECK' }, config);
    assert.equal(check.code, 0, check.stdout);
    const ping = await sh('ip', ['netns', 'exec', NETNS, 'busybox', 'ping', '-c', '3', '-W', '2', peerIp]);
    assert.match(ping, / 0% packet loss/);

    // TCP both ways: the namespace fetches from the Docker container's httpd, the container from one in the namespace
    const podIp = ips[0]!.address.split('/')[0]!;
    let lastErr = '';
    const got = await waitFor(
      "the namespace's fetch from the container's httpd",
      () =>
        // Node.js as the client in the namespace (the host's busybox wget is not one to rely on)
        sh('ip', ['netns', 'exec', NETNS, process.execPath, '-e', `fetch('http://${peerIp}:8080/', { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then((t) => process.stdout.write(t))`]).catch((e: unknown) => {
          lastErr = (e as Error).message;
          return undefined;
        }),
      20_000,
    ).catch(() => assert.fail(`no answer from the container's httpd: ${lastErr}`));
    assert.equal(got, `hello from ${DOCKER_CT}`);
    const www = mkdtempSync(join(tmpdir(), 'kuryr-cni-www-'));
    cleanups.push(async () => rmSync(www, { recursive: true, force: true }));
    writeFileSync(join(www, 'index.html'), `hello from ${NETNS}\n`);
    const httpd = spawn('ip', ['netns', 'exec', NETNS, 'busybox', 'httpd', '-f', '-p', '8080', '-h', www], { stdio: 'ignore', detached: true });
    const stopHttpd = async (): Promise<void> => {
      if (httpd.exitCode === null && httpd.signalCode === null) process.kill(-httpd.pid!, 'SIGTERM');
    };
    cleanups.push(stopHttpd);
    const fetched = await waitFor(
      "the container's fetch from the namespace's httpd",
      () => docker('exec', DOCKER_CT, 'wget', '-qO-', '-T', '5', `http://${podIp}:8080/`).catch(() => undefined),
      20_000,
    );
    assert.equal(fetched, `hello from ${NETNS}`);
    await stopHttpd();

    const del = await kuryrCni({ ...env, CNI_COMMAND: 'DEL' }, config);
    assert.deepEqual([del.code, del.stdout], [0, '']);
    assert.deepEqual(await cniPortsOf(containerId), []);
    const again = await kuryrCni({ ...env, CNI_COMMAND: 'DEL' }, config);
    assert.equal(again.code, 0, 'DEL is idempotent');
  });

  it('podman (CNI backend) runs a container on the Neutron network with kuryr-cni', async (t) => {
    try {
      await sh('podman', ['--version']);
    } catch {
      t.skip('podman is not installed (lab/install.sh installs it)');
      return;
    }
    const { neutronNet, peerIp } = await dockerSide();
    const dir = mkdtempSync(join(tmpdir(), 'kuryr-cni-podman-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const netName = `${RUN_PREFIX}-podman`;
    mkdirSync(join(dir, 'net.d'));
    mkdirSync(join(dir, 'bin'));
    symlinkSync(BIN, join(dir, 'bin', 'kuryr-cni'));
    writeFileSync(
      join(dir, 'net.d', `${netName}.conflist`),
      JSON.stringify({ cniVersion: '0.4.0', name: netName, plugins: [{ type: 'kuryr-cni', daemon_socket: PLUGIN_SOCKET, neutron: { network: neutronNet } }] }),
    );
    writeFileSync(
      join(dir, 'containers.conf'),
      // rootful podman raises nofile/nproc to its own maximum, which a host (or container) without
      // CAP_SYS_RESOURCE refuses: limits every host allows
      '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' +
      `[network]\nnetwork_backend = "cni"\nnetwork_config_dir = "${join(dir, 'net.d')}"\ncni_plugin_dirs = ["${join(dir, 'bin')}", "/usr/lib/cni", "/opt/cni/bin"]\n`,
    );
    // Storage of its own: nothing of the host's podman state is touched.
    const base = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
    const podman = (...args: string[]): Promise<string> => sh('env', [`CONTAINERS_CONF=${join(dir, 'containers.conf')}`, 'podman', ...base, ...args], 180_000);
    const image = 'localhost/kuryr-cni-busybox:latest';
    const src = (await docker('create', IMAGE, 'true')).trim();
    cleanups.push(() => docker('rm', '-f', src));
    await sh('sh', ['-c', `docker export ${src} | env CONTAINERS_CONF=${join(dir, 'containers.conf')} podman ${base.join(' ')} import - ${image}`], 180_000);

    const ct = `${RUN_PREFIX}-podman-ct`;
    cleanups.push(() => podman('rm', '-f', ct));
    await podman('run', '-d', '--name', ct, '--network', netName, image, 'sh', '-c', `mkdir -p /www && echo hello from ${ct} > /www/index.html && exec httpd -f -p 8080 -h /www`);
    const podId = (await podman('inspect', '-f', '{{.Id}}', ct)).trim();
    const port = await waitFor('the CNI port of the podman container', async () => (await cniPortsOf(podId))[0], 30_000);
    assert.deepEqual([port.device_owner, port.status, port['binding:host_id'], port.network_id], [CNI_DEVICE_OWNER, 'ACTIVE', hostId(), neutronNet]);
    const ping = await podman('exec', ct, 'ping', '-c', '3', '-W', '2', peerIp);
    assert.match(ping, / 0% packet loss/);
    // TCP both ways between the Podman and the Docker container
    assert.equal((await podman('exec', ct, 'wget', '-qO-', '-T', '5', `http://${peerIp}:8080/`)).trim(), `hello from ${DOCKER_CT}`);
    const podIp = String(port.fixed_ips[0]?.ip_address);
    const fetched = await waitFor(
      "the Docker container's fetch from the Podman container",
      () => docker('exec', DOCKER_CT, 'wget', '-qO-', '-T', '5', `http://${podIp}:8080/`).catch(() => undefined),
      20_000,
    );
    assert.equal(fetched.trim(), `hello from ${ct}`);

    await podman('rm', '-f', ct);
    await waitFor('the port to go with the container', async () => (await cniPortsOf(podId)).length === 0, 30_000);
  });
});
