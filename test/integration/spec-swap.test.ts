/**
 * Swapping Kuryr-libnetwork for kuryr-ts under a running dockerd. Kuryr is
 * found through a spec file (`/etc/docker/plugins/<driver>.spec`, an
 * http://127.0.0.1 address) and dockerd keeps calling the address it first
 * activated the driver at until it restarts. A stand-in for the old daemon
 * serves only that TCP address; Docker makes a network and a container
 * through it. It goes; kuryr-ts starts the way it is installed (its unix
 * socket, no kuryr_uri) and, finding the spec file, listens at the spec's
 * address too: the same dockerd starts a second container on the same
 * network, the two exchange packets, and everything is removed through it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, networkId, neutron, taggedWith, waitFor } from './support.js';

const containers: string[] = [];
const networks: string[] = [];
const daemons: TestDaemon[] = [];
const driver = `${RUN_PREFIX}sw`;
const specFile = `/etc/docker/plugins/${driver}.spec`;
after(async () => {
  await cleanupDocker(containers, networks);
  for (const d of daemons) await d.stop();
  rmSync(specFile, { force: true });
});

/** A loopback TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/Plugin.Activate`, { method: 'POST', body: '{}' })).ok;
  } catch {
    return false;
  }
}

describe('swap under a running dockerd: the spec file address keeps working', { timeout: 300_000 }, () => {
  it("kuryr-ts serves the old daemon's spec address: the network made through it keeps working, nothing left", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    mkdirSync('/etc/docker/plugins', { recursive: true });
    writeFileSync(specFile, `${url}\n`);

    // the old daemon: TCP only (its unix socket is outside Docker's plugin directory)
    const old = await startDaemon(`${driver}-old`, `kuryr_uri = ${url}`, { socket: `/run/kuryr-lab/test/${driver}-old.sock` });
    daemons.push(old);
    await waitFor(`the old daemon on ${url}`, async () => ((await answers(url)) ? true : undefined), 20_000);
    const net = `${RUN_PREFIX}-swap`;
    networks.push(net);
    await docker('network', 'create', '-d', driver, '--ipam-driver', driver, '--subnet', '10.139.0.0/24', net);
    const [a, b] = [`${RUN_PREFIX}-swa`, `${RUN_PREFIX}-swb`];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');

    // the swap: the old daemon goes, kuryr-ts comes as installed (socket in Docker's directory, no kuryr_uri)
    await old.stop();
    daemons.push(await startDaemon(driver, ''));
    await waitFor(`kuryr-ts on the spec's address ${url}`, async () => ((await answers(url)) ? true : undefined), 20_000);

    // the same dockerd, which activated the driver at the spec's address, goes on through it
    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'sleep', '600');
    assert.match(await docker('exec', b, 'ping', '-c', '2', '-W', '2', await containerIp(a, net)), /2 packets received/);
    const id = await networkId(net);
    const [n] = await taggedWith('networks', id);
    assert.ok(n, 'the Neutron network of the Docker network');
    await docker('rm', '-f', a, b);
    await docker('network', 'rm', net);
    assert.deepEqual(await neutron.list('networks', { id: n.id }), [], 'removed through the swapped daemon');
    assert.deepEqual(await neutron.list('subnetpools', { name: 'kuryrPool-10.139.0.0/24' }), []);
  });
});
