/**
 * No dead ends: Neutron (or Keystone) down at start is probed again and
 * again with capped exponential backoff, driver calls meanwhile get a coded
 * error quickly, the first success makes everything work without a restart;
 * Neutron or Keystone going away later fails calls with errors naming them,
 * and they work again when it is back (nothing caches a failure).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { AppError, NeutronError } from '@kuryr-ts/openstack/errors';
import { NoAuth } from '@kuryr-ts/openstack/keystone/auth';
import { KeystoneAuth, KeystoneError } from '@kuryr-ts/openstack/keystone/keystone-auth';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { composeDriver } from '../../src/main/compose.js';
import { NeutronProbe, notReadyError } from '../../src/main/neutron-probe.js';
import { FakeLinks, FakeOvs } from '../fake-host.js';
import { dockerId, settings } from '../harness.js';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A FakeNeutron behind a switch: while `down`, every call fails as an unreachable Neutron does. */
function switchable(neutron = new FakeNeutron()): { api: NeutronApi; fake: FakeNeutron; state: { down: boolean; downProbes: number; probes: number } } {
  const state = { down: false, downProbes: 0, probes: 0 };
  const api = new Proxy(neutron, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        // A probe starts with the subnet_allocation extension: count probes there.
        if (prop === 'hasExtension' && args[0] === 'subnet_allocation') {
          state.probes++;
          if (state.downProbes > 0) {
            state.downProbes--;
            throw new NeutronError('GET', '/v2.0/extensions/subnet_allocation', undefined, undefined, 'ECONNREFUSED (http://127.0.0.1:9696)');
          }
        }
        if (state.down) throw new NeutronError('GET', `/v2.0/${String(prop)}`, undefined, undefined, 'ECONNREFUSED (http://127.0.0.1:9696)');
        return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { api, fake: neutron, state };
}

/** A pause that returns at once, recording how long it was asked to be. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

/** Short pauses (the gap between attempts while calls wait) are real; backoff pauses last until a call ends them. */
const untilWoken = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = ms <= 50 ? setTimeout(resolve, ms) : undefined;
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

describe('the background probe of Neutron', () => {
  it('keeps probing past the 8 attempts Kuryr allowed, with capped exponential backoff, until Neutron answers', async () => {
    const { api, state } = switchable();
    state.downProbes = 12;
    const { sleep, waits } = recordingSleep();
    const probe = new NeutronProbe(api, quiet, { sleep });
    probe.start();
    assert.deepEqual(await probe.ready, { tags: true, tagOnCreate: false });
    assert.equal(state.probes, 13);
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000, 30000, 30000]);
    assert.equal(probe.isReady, true);
    await probe.usable(); // at once
  });

  it('the cap between attempts is configurable', async () => {
    const { api, state } = switchable();
    state.downProbes = 5;
    const { sleep, waits } = recordingSleep();
    const probe = new NeutronProbe(api, quiet, { sleep, maxIntervalMs: 4000 });
    probe.start();
    await probe.ready;
    assert.deepEqual(waits, [1000, 2000, 4000, 4000, 4000]);
  });

  it('gives up only when told to (probe_deadline), naming what failed', async () => {
    const { api, state } = switchable();
    state.down = true;
    state.downProbes = 1000;
    let clock = 0;
    const errors: AppError[] = [];
    const probe = new NeutronProbe(api, quiet, {
      sleep: async (ms) => void (clock += ms),
      now: () => clock,
      giveUpAfterMs: 60_000,
      onGiveUp: (err) => errors.push(err),
    });
    probe.start();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'KURYR_ERR_NEUTRON_UNREACHABLE');
    assert.match(errors[0]!.message, /^Neutron not reachable since 1970-01-01T00:00:00\.000Z \(last error: .*ECONNREFUSED.*\); gave up after 7 attempts \(\[neutron\] probe_deadline = 60\)$/);
    await assert.rejects(probe.usable(), (err: AppError) => err === errors[0]);
  });

  it('names the service at fault and since when', () => {
    const since = Date.parse('2030-01-02T03:04:05Z');
    const at = '2030-01-02T03:04:05.000Z';
    const none = notReadyError(since, 0, undefined);
    assert.equal(none.code, 'KURYR_ERR_NEUTRON_UNREACHABLE');
    assert.equal(none.kind, 'unavailable');
    assert.equal(none.message, `Neutron not reachable since ${at} (no answer yet); retrying`);
    const down = notReadyError(since, 3, new NeutronError('GET', '/v2.0/extensions/subnet_allocation', undefined, undefined, 'ECONNREFUSED (http://n:9696)'));
    assert.equal(down.code, 'KURYR_ERR_NEUTRON_UNREACHABLE');
    assert.equal(
      down.message,
      `Neutron not reachable since ${at} (last error: Neutron GET /v2.0/extensions/subnet_allocation failed: unreachable: ECONNREFUSED (http://n:9696)); retrying (3 attempts so far)`,
    );
    assert.match(notReadyError(since, 1, new NeutronError('GET', '/x', 503, undefined, 'busy')).message, /^Neutron not available since .*; retrying \(1 attempt so far\)$/);
    const ks = notReadyError(since, 2, new KeystoneError(undefined, 'Keystone authentication (POST http://k/v3/auth/tokens) failed: unreachable: ECONNREFUSED'));
    assert.equal(ks.code, 'KURYR_ERR_KEYSTONE_UNREACHABLE');
    assert.match(ks.message, /^Keystone not reachable since 2030-.* \(last error: Keystone authentication .* ECONNREFUSED\); retrying/);
    assert.match(notReadyError(since, 2, new KeystoneError(502, 'Keystone … 502')).message, /^Keystone not available since/);
    const creds = notReadyError(since, 2, new KeystoneError(401, 'Keystone authentication (POST http://k/v3/auth/tokens) failed: 401 Unauthorized'));
    assert.equal(creds.code, 'KURYR_ERR_KEYSTONE_CREDENTIALS');
    assert.match(creds.message, /^Keystone refuses kuryr's credentials since .*401 Unauthorized\); retrying \(2 attempts so far\); fix the \[neutron\] credentials of kuryr\.conf/);
    const ext = notReadyError(since, 1, new AppError('KURYR_ERR_NEUTRON_EXTENSION', 'unavailable', 'Neutron lacks the mandatory subnet_allocation extension'));
    assert.equal(ext.code, 'KURYR_ERR_NEUTRON_NOT_READY');
    assert.match(ext.message, /^Neutron not usable since .*subnet_allocation extension\)/);
  });

  it('a Neutron that lacks an extension for now, or credentials Keystone refuses for now, are retried too', async () => {
    const fake = new FakeNeutron();
    fake.extensions.delete('subnet_allocation');
    const { sleep, waits } = recordingSleep();
    let refusals = 2;
    const api = new Proxy(fake, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'hasExtension') return v;
        return async (alias: string) => {
          if (refusals > 0) {
            refusals--;
            throw new KeystoneError(401, 'Keystone authentication failed: 401 Unauthorized');
          }
          if (waits.length === 4) fake.extensions.add('subnet_allocation'); // neutron-server restarted with it
          return target.hasExtension(alias);
        };
      },
    });
    const probe = new NeutronProbe(api, quiet, { sleep });
    probe.start();
    await probe.ready;
    assert.equal(waits.length, 4);
  });
});

/** The driver as the daemon composes it, but over a switchable fake Neutron and a probe whose backoff pauses wait to be woken. */
function driverWithProbe(opts: { requestWaitMs: number }) {
  const { api, fake, state } = switchable();
  const probe = new NeutronProbe(api, quiet, { sleep: untilWoken, requestWaitMs: opts.requestWaitMs, minGapMs: 10 });
  const background: Array<Promise<void>> = [];
  const driver = composeDriver({
    neutron: api,
    host: { links: new FakeLinks(), ovs: new FakeOvs() },
    binding: { portDriver: 'veth', integrationBridge: 'br-int', linkIface: '', forceVifType: undefined },
    settings,
    neutronFeatures: probe,
    logger: pino({ level: 'silent' }),
    stats: new OpStats(),
    background: (work) => void background.push(work()),
    onUndoFailure: () => undefined,
  });
  const call = async (method: string, body?: unknown) => {
    const res = await driver.server.inject({ method: 'POST', url: `/${method}`, payload: body === undefined ? '' : `${JSON.stringify(body)}\n` });
    return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
  };
  return { probe, fake, state, driver, call };
}

const pool = (cidr: string) => ({ AddressSpace: 'no_address_space', Pool: cidr, SubPool: '', Options: {}, V6: false });

describe('driver calls while Neutron is away', () => {
  const probes: NeutronProbe[] = [];
  after(() => probes.forEach((p) => p.stop()));

  it('Plugin.Activate and the capability calls answer at once, before Neutron does', async () => {
    const { probe, state, call } = driverWithProbe({ requestWaitMs: 200 });
    probes.push(probe);
    state.down = true;
    state.downProbes = 1_000_000;
    probe.start();
    assert.deepEqual((await call('Plugin.Activate')).json, { Implements: ['NetworkDriver', 'IpamDriver'] });
    const caps = await call('NetworkDriver.GetCapabilities');
    assert.equal(caps.status, 200);
    assert.equal(caps.json.Scope, 'local');
    assert.equal((await call('IpamDriver.GetCapabilities')).status, 200);
    assert.equal((await call('IpamDriver.GetDefaultAddressSpaces')).status, 200);
    assert.equal(probe.isReady, false);
  });

  it('calls that need Neutron fail quickly with a coded 503 naming Neutron; the first success makes them work, no restart', async () => {
    const { probe, state, call } = driverWithProbe({ requestWaitMs: 300 });
    probes.push(probe);
    state.downProbes = 1_000_000;
    probe.start();
    const started = Date.now();
    const res = await call('IpamDriver.RequestPool', pool('10.50.0.0/24'));
    assert.ok(Date.now() - started < 2000, 'bounded wait, no hang');
    assert.equal(res.status, 503);
    assert.match(String(res.json.Error), /^IpamDriver\.RequestPool: Neutron not reachable since \d{4}-\d\d-\d\dT[\d:.]+Z \(last error: Neutron GET \/v2\.0\/extensions\/subnet_allocation failed: unreachable: ECONNREFUSED.*\); retrying/);
    assert.equal(res.json.Err, res.json.Error);
    const failedProbes = state.probes;
    assert.ok(failedProbes >= 2, 'a waiting call makes the probe try again at once, not after its backoff');

    state.downProbes = 0; // Neutron is back; the probe sleeps in a long backoff pause
    const ok = await call('IpamDriver.RequestPool', pool('10.50.0.0/24'));
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(probe.isReady, true);
  });

  it('a call made a moment before Neutron answers waits for it instead of failing', async () => {
    const { probe, state, call } = driverWithProbe({ requestWaitMs: 5000 });
    probes.push(probe);
    state.downProbes = 3;
    probe.start();
    const res = await call('IpamDriver.RequestPool', pool('10.51.0.0/24'));
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });

  it('after readiness, Neutron going away fails calls naming Neutron, and they work again when it is back', async () => {
    const { probe, state, call, fake } = driverWithProbe({ requestWaitMs: 300 });
    probes.push(probe);
    probe.start();
    await probe.ready;
    const p = await call('IpamDriver.RequestPool', pool('10.52.0.0/24'));
    assert.equal(p.status, 200);
    const networkId = dockerId();
    const create = (id: string) =>
      call('NetworkDriver.CreateNetwork', {
        NetworkID: id,
        Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
        IPv4Data: [{ AddressSpace: 'no_address_space', Pool: '10.52.0.0/24', Gateway: '10.52.0.1/24' }],
        IPv6Data: [],
      });
    state.down = true;
    const failed = await create(networkId);
    assert.equal(failed.status, 503);
    assert.match(String(failed.json.Err), /^NetworkDriver\.CreateNetwork: Neutron .* failed: unreachable: ECONNREFUSED/);
    state.down = false;
    const done = await create(networkId);
    assert.equal(done.status, 200, JSON.stringify(done.json));
    assert.equal([...fake.tables.networks.values()].length, 1);
  });
});

/** A loopback Keystone + Neutron whose behaviour the test switches, and which can be stopped and started again on the same port. */
class SwitchableCloud {
  keystone: 'ok' | 401 | 503 = 'ok';
  neutron: 'ok' | 503 = 'ok';
  tokens = 0;
  port = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.on('connection', (s) => (this.#sockets.add(s), s.on('close', () => this.#sockets.delete(s))));
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Gone, as a stopped service: listener closed and kept-alive connections cut. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const chunk of req) void chunk;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    if (req.url === '/v3/auth/tokens') {
      if (this.keystone === 401) return send(401, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
      if (this.keystone === 503) return send(503, { error: { message: 'Service Unavailable' } });
      this.tokens++;
      const catalog = [{ type: 'network', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: `${this.url}/network` }] }];
      return send(201, { token: { expires_at: '2999-01-01T00:00:00Z', catalog } }, { 'X-Subject-Token': `tok${this.tokens}` });
    }
    if (this.neutron === 503) return send(503, { NeutronError: { type: 'ServiceUnavailable', message: 'busy' } });
    if (req.url?.startsWith('/network/v2.0/extensions/')) return send(200, { extension: {} });
    if (req.url?.startsWith('/network/v2.0/networks')) return send(200, { networks: [] });
    send(404, { NeutronError: { type: 'HTTPNotFound', message: 'not found' } });
  }
}

describe('real HTTP clients: Keystone and Neutron down at start, then away and back', () => {
  const cloud = new SwitchableCloud();
  let probe: NeutronProbe | undefined;
  after(async () => {
    probe?.stop();
    await cloud.down();
  });

  it('probes through Keystone until both answer, with errors naming the one at fault; no failure is cached afterwards', async () => {
    // A port that was free a moment ago: Keystone is not there yet.
    await cloud.up();
    await cloud.down();
    const auth = new KeystoneAuth({ authUrl: cloud.url, method: { kind: 'password', user: { id: 'kuryr' }, password: 'pw' }, timeoutMs: 2000 });
    const neutron = new NeutronClient(auth, { timeoutMs: 2000, attempts: 2, stats: new OpStats(), sleep: async () => {} });
    // Backoff pauses a thousand times shorter (30 s → 30 ms), ended early by a waiting call as usual.
    const scaled = (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms / 1000);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    probe = new NeutronProbe(neutron, quiet, { sleep: scaled, requestWaitMs: 150, minGapMs: 5 });
    probe.start();
    const gate = async (): Promise<AppError> => probe!.usable().then(() => assert.fail('not ready yet'), (e: AppError) => e);

    const unreachable = await gate();
    assert.equal(unreachable.code, 'KURYR_ERR_KEYSTONE_UNREACHABLE');
    assert.match(unreachable.message, /^Keystone not reachable since .*ECONNREFUSED/);

    cloud.keystone = 401;
    await cloud.up();
    await waitFor(() => /401/.test(probe!.status().lastError ?? ''));
    const refused = await gate();
    assert.equal(refused.code, 'KURYR_ERR_KEYSTONE_CREDENTIALS');
    assert.match(refused.message, /^Keystone refuses kuryr's credentials since .*401 Unauthorized/);

    cloud.keystone = 'ok';
    cloud.neutron = 503;
    await waitFor(() => /Neutron/.test(probe!.status().lastError ?? ''));
    const neutron503 = await gate();
    assert.equal(neutron503.code, 'KURYR_ERR_NEUTRON_UNREACHABLE');
    assert.match(neutron503.message, /^Neutron not available since .*503 ServiceUnavailable: busy/);

    cloud.neutron = 'ok';
    await probe.usable();
    assert.equal(probe.isReady, true);

    // Later: Neutron (same host as this fake Keystone) goes away, and comes back.
    await cloud.down();
    await assert.rejects(neutron.list('networks'), (err: NeutronError) => err.code === 'KURYR_ERR_NEUTRON_UNREACHABLE' && /^Neutron GET \/v2\.0\/networks failed: unreachable/.test(err.message));
    await cloud.up();
    assert.deepEqual(await neutron.list('networks'), []);

    // The token gone (expired, or refused by Neutron) while Keystone is away: the error names Keystone.
    auth.invalidate();
    await cloud.down();
    await assert.rejects(neutron.list('networks'), (err: KeystoneError) => err.code === 'KURYR_ERR_KEYSTONE_UNREACHABLE' && /^Keystone authentication/.test(err.message));
    await cloud.up();
    assert.deepEqual(await neutron.list('networks'), []);
  });

  it('a plain Neutron (noauth) restarted on the same port is used again (pooled connections are not stuck)', async () => {
    const neutron = new NeutronClient(new NoAuth(`${cloud.url}/network`), { timeoutMs: 2000, attempts: 1, stats: new OpStats() });
    assert.deepEqual(await neutron.list('networks'), []);
    await cloud.down();
    await assert.rejects(neutron.list('networks'), /unreachable/);
    await cloud.up();
    assert.deepEqual(await neutron.list('networks'), []);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
