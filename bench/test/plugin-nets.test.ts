/**
 * The scale phase's networks and endpoints go through the libnetwork protocol
 * in Docker's order, and one measured operation reads the daemon's counters
 * around it; checked against a fake daemon on a socket of its own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Clock, Progress, type BenchContext } from '../context.js';
import { byShape, counted, diffStats } from '../measure.js';
import { PluginNetworks } from '../plugin-nets.js';
import { CountingProxy } from '../proxy.js';
import type { KuryrStats } from '../../test/lab-support/plugin-socket.js';

interface FakeDaemon {
  socket: string;
  requests: Array<{ path: string; body: Record<string, unknown> }>;
  stats: KuryrStats;
  close(): Promise<void>;
}

async function fakeDaemon(): Promise<FakeDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-plugin-'));
  const socket = join(dir, 'fake.sock');
  const fake: FakeDaemon = {
    socket,
    requests: [],
    stats: { operations: {}, backgroundNeutronCalls: 0 },
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => {
      const path = req.url ?? '/';
      if (path === '/kuryr/stats') return void res.end(JSON.stringify(fake.stats));
      fake.requests.push({ path, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      const reply = path === '/IpamDriver.RequestPool' ? { PoolID: 'pool-1' } : path === '/IpamDriver.RequestAddress' ? { Address: '10.231.0.7/24' } : {};
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return fake;
}

describe('bench plugin-protocol networks', () => {
  let fake: FakeDaemon;
  before(async () => {
    fake = await fakeDaemon();
  });
  after(() => fake.close());

  it('creates, attaches, detaches and deletes as Docker does, and keeps what is live', async () => {
    const progress = new Progress(new Clock());
    const nets = new PluginNetworks(fake.socket, new CountingProxy(new URL('http://127.0.0.1:9')), progress, 'be000001');
    nets.addressSpace = 'LocalKuryr';
    const { net, calls } = await nets.create(251);
    assert.equal(calls, 0);
    assert.deepEqual({ cidr: net.cidr, gw: net.gw, poolId: net.poolId }, { cidr: '10.232.1.0/24', gw: '10.232.1.1', poolId: 'pool-1' });
    assert.match(net.nid, /^be000001[0-9a-f]{56}$/);
    const eid = await nets.attach(net);
    assert.equal(nets.endpoints.get(eid)?.ip, '10.231.0.7');
    await nets.detach(eid);
    await nets.delete(net);
    assert.deepEqual(
      fake.requests.map((r) => r.path.slice(1)),
      [
        'IpamDriver.RequestPool',
        'IpamDriver.RequestAddress',
        'NetworkDriver.CreateNetwork',
        'IpamDriver.RequestAddress',
        'NetworkDriver.CreateEndpoint',
        'NetworkDriver.Join',
        'NetworkDriver.Leave',
        'NetworkDriver.DeleteEndpoint',
        'IpamDriver.ReleaseAddress',
        'NetworkDriver.DeleteNetwork',
        'IpamDriver.ReleaseAddress',
        'IpamDriver.ReleasePool',
      ],
    );
    const body = (i: number): Record<string, unknown> => fake.requests[i]!.body;
    assert.deepEqual(body(0), { AddressSpace: 'LocalKuryr', Pool: '10.232.1.0/24', SubPool: '', Options: {}, V6: false });
    assert.deepEqual(body(1), { PoolID: 'pool-1', Address: '10.232.1.1', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    assert.deepEqual((body(2).IPv4Data as unknown[])[0], { AddressSpace: 'LocalKuryr', Pool: '10.232.1.0/24', Gateway: '10.232.1.1/24' });
    assert.equal((body(4).Interface as { Address: string }).Address, '10.231.0.7/24');
    assert.deepEqual(body(8), { PoolID: 'pool-1', Address: '10.231.0.7' });
    assert.deepEqual(body(10), { PoolID: 'pool-1', Address: '10.232.1.1' });
    assert.equal(nets.live.size, 0);
    assert.equal(nets.endpoints.size, 0);
    assert.equal(progress.ops, 4);
  });

  it('measures one operation with the daemon\'s counters around it', async () => {
    fake.stats = { operations: { 'NetworkDriver.Join': { requests: 1, errors: 0, neutronCalls: 2, totalMs: 10 } }, backgroundNeutronCalls: 1 };
    const progress = new Progress(new Clock());
    const ctx = { proxy: new CountingProxy(new URL('http://127.0.0.1:9')), daemon: { socket: fake.socket }, progress } as unknown as BenchContext;
    const w = await counted(ctx, async () => {
      fake.stats = {
        operations: {
          'NetworkDriver.Join': { requests: 2, errors: 0, neutronCalls: 5, totalMs: 25 },
          'IpamDriver.RequestAddress': { requests: 1, errors: 0, neutronCalls: 1, totalMs: 4 },
        },
        backgroundNeutronCalls: 3,
      };
      return { ok: false, out: 'boom', ms: 12 };
    });
    assert.deepEqual(w, {
      ok: false,
      error: 'boom',
      wallMs: 12,
      calls: 0,
      writes: 0,
      daemonCalls: 3 + 1 + 2,
      neutronBusyMs: 0,
      plugin: { 'NetworkDriver.Join': 1, 'IpamDriver.RequestAddress': 1 },
      pluginMs: { 'NetworkDriver.Join': 15, 'IpamDriver.RequestAddress': 4 },
      shapes: [],
    });
    assert.equal(progress.ops, 1);
  });
});

describe('bench measures', () => {
  it('counts only methods that served requests between two readings', () => {
    const t = (requests: number, neutronCalls: number, totalMs: number) => ({ requests, errors: 0, neutronCalls, totalMs });
    assert.deepEqual(diffStats({ a: t(1, 1, 5), b: t(2, 2, 9) }, { a: t(1, 1, 5), b: t(3, 6, 20), c: t(1, 1, 1) }), { calls: 5, plugin: { b: 1, c: 1 }, pluginMs: { b: 11, c: 1 } });
  });

  it('groups Neutron calls by shape, the most time first', () => {
    const call = (shape: string, ms: number) => ({ start: 0, ms, method: shape.split(' ')[0]!, shape, status: 200 });
    const rows = byShape([call('GET ports', 10), call('POST ports', 50), call('GET ports', 30)]);
    assert.deepEqual(
      rows.map((r) => [r.shape, r.n, r.median]),
      [
        ['POST ports', 1, 50],
        ['GET ports', 2, 20],
      ],
    );
  });
});
