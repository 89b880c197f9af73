/**
 * The daemon image (packaging/image/build.sh): built from this tree with no
 * registry, run exactly as docs/deployment.md says (host network, only
 * CAP_NET_ADMIN and CAP_NET_RAW, /etc/kuryr read-only, the plugin directory
 * and the ovsdb run directory shared with the host) under a driver name of
 * its own, then a network of that driver, two containers and a ping between
 * them; everything it made is removed, the image too.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { pluginRequest } from '../lab-support/plugin-socket.js';
import { LAB_KURYR_CONF } from '../lab-support/lab-host.js';
import { IMAGE, REPO, RUN_PREFIX, cleanupDocker, containerIp, docker, sh, waitFor } from './support.js';

const DRIVER = `${RUN_PREFIX}kimg`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const DAEMON_IMAGE = `${RUN_PREFIX}-kuryr-ts:test`;
const DAEMON = `${RUN_PREFIX}-kuryr`;
const CONF_DIR = `/run/kuryr-lab/test/${RUN_PREFIX}-imgconf`;

const containers: string[] = [];
const networks: string[] = [];
let imageBuilt = false;
after(async () => {
  await cleanupDocker(containers, networks);
  await docker('rm', '-f', DAEMON).catch(() => undefined);
  if (imageBuilt) await docker('rmi', DAEMON_IMAGE).catch(() => undefined);
  rmSync(SOCKET, { force: true }); // left by the stopped daemon: Docker would keep trying it
  rmSync(CONF_DIR, { recursive: true, force: true });
});

/** The `docker run` options docs/deployment.md gives, with the test's config directory. */
const runOptions = (confDir: string): string[] => [
  '--net', 'host',
  '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW',
  '--restart', 'unless-stopped',
  '-v', `${confDir}:/etc/kuryr:ro`,
  '-v', '/run/docker/plugins:/run/docker/plugins',
  '-v', '/run/openvswitch:/run/openvswitch',
];

describe('daemon image', { timeout: 600_000 }, () => {
  it('builds locally and prints its version', async () => {
    const printed = (await sh('bash', [`${REPO}packaging/image/build.sh`, DAEMON_IMAGE], 300_000)).split('\n').pop();
    imageBuilt = true;
    assert.equal(printed, DAEMON_IMAGE);
    const version = (JSON.parse(readFileSync(`${REPO}packages/kuryr/package.json`, 'utf8')) as { version: string }).version;
    assert.equal(await docker('run', '--rm', DAEMON_IMAGE, '--version'), version);
    assert.equal(await docker('image', 'inspect', '-f', '{{json .Config.Entrypoint}}', DAEMON_IMAGE), '["/usr/bin/node","--max-semi-space-size=1","--max-old-space-size=256","--v8-pool-size=1","--optimize-for-size","--expose-gc","/app/packages/kuryr/bin/kuryr-server.js"]');
  });

  it('runs the driver: network, two containers, ping, then all removed', async () => {
    assert.ok(imageBuilt, 'the image was built');
    // the lab's kuryr.conf (Neutron, Keystone, host id) and a second file with this driver's socket
    mkdirSync(CONF_DIR, { recursive: true });
    writeFileSync(`${CONF_DIR}/kuryr.conf`, readFileSync(LAB_KURYR_CONF));
    writeFileSync(`${CONF_DIR}/kimg.conf`, `[DEFAULT]\nplugin_socket = ${SOCKET}\n`);
    rmSync(SOCKET, { force: true });
    await docker('run', '-d', '--name', DAEMON, ...runOptions(CONF_DIR), DAEMON_IMAGE, '--config-file', '/etc/kuryr/kuryr.conf', '--config-file', '/etc/kuryr/kimg.conf');
    try {
      await waitFor(`${DAEMON} listening on ${SOCKET}`, async () => {
        if ((await docker('inspect', '-f', '{{.State.Running}}', DAEMON)) !== 'true') throw new Error(`${DAEMON} exited`);
        return existsSync(SOCKET) && (await pluginRequest(SOCKET, 'Plugin.Activate', '', { timeoutMs: 2_000 }).catch(() => undefined))?.status === 200;
      }, 30_000);
    } catch (err) {
      const logs = await sh('docker', ['logs', '--tail', '40', DAEMON]).catch((e: Error) => e.message);
      throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
    }

    const net = `${RUN_PREFIX}-kimg`;
    networks.push(net);
    await docker('network', 'create', '-d', DRIVER, '--ipam-driver', DRIVER, '--subnet', '10.196.0.0/24', '--gateway', '10.196.0.1', net);
    const [a, b] = [`${RUN_PREFIX}-kimga`, `${RUN_PREFIX}-kimgb`];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'sleep', '600');
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', await containerIp(b, net)), /2 packets received/);
    await docker('rm', '-f', a, b);
    await docker('network', 'rm', net);

    await docker('rm', '-f', DAEMON);
    await docker('rmi', DAEMON_IMAGE);
    imageBuilt = false;
    assert.match(await docker('image', 'ls', '-q', DAEMON_IMAGE), /^$/);
  });
});
