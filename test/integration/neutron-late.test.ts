/**
 * No dead ends, against the real Docker and Neutron: a test daemon whose
 * Neutron sits behind a loopback relay that is closed at first (a Neutron not
 * up yet), opened (Neutron arrives), closed again and reopened (Neutron goes
 * away and comes back). The lab's services themselves are not touched: only
 * the relay on 127.0.0.1 opens and closes.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, dockerFails, pluginCall, pluginGet, waitFor } from './support.js';

/** A TCP relay 127.0.0.1:port → the lab's Neutron (127.0.0.1:9696) that can be shut, cutting its connections, and opened again. */
class NeutronRelay {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  constructor(readonly port: number) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(9696, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s)).on('error', () => (client.destroy(), upstream.destroy()));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  async shut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}

const relay = new NeutronRelay(19900 + (process.pid % 90));
const containers: string[] = [];
const networks: string[] = [];
let daemon: TestDaemon | undefined;
after(async () => {
  await relay.open().catch(() => undefined); // so that the daemon can delete what the test made
  await cleanupDocker(containers, networks);
  await daemon?.stop();
  await relay.shut();
});

describe('Neutron late, then away and back: no restart needed', { timeout: 300_000 }, () => {
  it('answers the handshake before Neutron, fails fast and clearly meanwhile, and works as soon as Neutron does', async () => {
    const name = `${RUN_PREFIX}late`;
    const socket = `/run/docker/plugins/${name}.sock`;
    daemon = await startDaemon(name, `[neutron]\nendpoint_override = http://127.0.0.1:${relay.port}\nprobe_max_interval = 2`);
    const activate = await pluginCall('Plugin.Activate', '', socket);
    assert.equal(activate.status, 200, 'the handshake does not wait for Neutron');
    assert.equal(((await pluginGet('/kuryr/stats', socket)) as { neutronReady: boolean }).neutronReady, false);

    const net = `${RUN_PREFIX}-late`;
    const create = ['network', 'create', '-d', name, '--ipam-driver', name, '--subnet', '10.216.0.0/24', '--gateway', '10.216.0.1', net];
    const started = Date.now();
    const refused = await dockerFails(...create);
    assert.ok(Date.now() - started < 30_000, `a bounded wait, not a hang (${Date.now() - started} ms)`);
    assert.match(refused, /Neutron not reachable since \d{4}-\d\d-\d\dT[\d:.]+Z \(last error: .*ECONNREFUSED.*\); retrying/);

    await relay.open();
    await waitFor('the daemon to find Neutron', async () => ((await pluginGet('/kuryr/stats', socket)) as { neutronReady: boolean }).neutronReady, 30_000);
    networks.push(net);
    await docker(...create);
    const [a, b] = [`${RUN_PREFIX}-latea`, `${RUN_PREFIX}-lateb`];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'sleep', '600');
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', await containerIp(b, net)), /2 packets received/);

    // Neutron goes away: a new container fails, naming Neutron; the running ones keep their network.
    await relay.shut();
    const c = `${RUN_PREFIX}-latec`;
    containers.push(c);
    assert.match(await dockerFails('run', '-d', '--name', c, '--net', net, IMAGE, 'sleep', '600'), /Neutron \S+ \S+ failed: unreachable/);
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', await containerIp(b, net)), /2 packets received/);

    // Back: the same daemon serves again.
    await relay.open();
    const d = `${RUN_PREFIX}-lated`;
    containers.push(d);
    await docker('run', '-d', '--name', d, '--net', net, IMAGE, 'sleep', '600');
    assert.match(await docker('exec', d, 'ping', '-c', '2', '-W', '2', await containerIp(a, net)), /2 packets received/);
  });
});
