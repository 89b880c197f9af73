/**
 * Reconciliation on the real Docker + Neutron + OVS. A daemon of its own
 * (driver `<prefix>rc`, no automatic pass, a 5 s grace period) serves a live
 * network with two containers — one on a user's pre-created port — while the
 * test makes leftovers on purpose, as a crash would leave them:
 *  - a port RequestAddress made (kuryr's marks, bound to this host) that no
 *    endpoint took: the daemon is restarted right after, as after a kill -9;
 *  - a veth + OVS port with the owner marks and no Neutron port;
 *  - a network the daemon made (CreateNetwork straight on its socket) that no
 *    Docker network has, with its subnet and pool.
 * `kuryr reconcile --dry-run` reports them and changes nothing; `kuryr
 * reconcile` removes what the dry run reported, no more; the live containers,
 * their ports and the user's ports are untouched and still talk.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { ReconcileReport } from '@kuryr-ts/kuryr/domain/reconcile-report';
import { runReconcile, type ReconcileOutput } from '../lab-support/kuryr-reconcile.js';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, RUN_PREFIX, cleanupDocker, containerIp, docker, hostId, networkId, neutron, waitFor, pluginCall, pluginGet, sh } from './support.js';

const NAME = `${RUN_PREFIX}rc`;
const SOCKET = `/run/docker/plugins/${NAME}.sock`;
const CONF = `/run/kuryr-lab/test/${NAME}.conf`; // written by startDaemon
const EXTRA = 'reconcile_interval = 0\nreconcile_grace_period = 5';
const GRACE_MS = 5000;
const LIVE_SUBNET = '10.221.0.0/24';
const LEFTOVER_SUBNET = '10.222.0.0/24';

const containers: string[] = [];
const networks: string[] = [];
const cleanup: Array<() => Promise<unknown>> = [];
let daemon: TestDaemon | undefined;
after(async () => {
  await cleanupDocker(containers, networks);
  for (const undo of cleanup.reverse()) await undo().catch(() => undefined);
  await daemon?.stop();
});

/** `kuryr reconcile --json [--dry-run]` with the test daemon's config: its exit status and report. */
const reconcile = (dryRun: boolean): Promise<ReconcileOutput<ReconcileReport>> => runReconcile<ReconcileReport>(CONF, { dryRun });

async function call(method: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await pluginCall(method, JSON.stringify(body), SOCKET);
  if (res.status !== 200) throw new Error(`${method} → ${res.status} ${res.body}`);
  return JSON.parse(res.body) as Record<string, unknown>;
}

const ids = (r: ReconcileReport, ...outcomes: string[]): string[] =>
  r.findings
    .filter((f) => outcomes.includes(f.outcome))
    .map((f) => `${f.kind} ${f.id}`)
    .sort();

describe('reconciliation', { timeout: 600_000 }, () => {
  it('kuryr reconcile --dry-run reports the leftovers a crash leaves; kuryr reconcile removes exactly those', async () => {
    daemon = await startDaemon(NAME, EXTRA);

    // ---- what must survive: a live network, a container, a container on a user's pre-created port, a plain user port
    const live = `${RUN_PREFIX}-rclive`;
    networks.push(live);
    await docker('network', 'create', '-d', NAME, '--ipam-driver', NAME, '--subnet', LIVE_SUBNET, '--gateway', '10.221.0.1', live);
    const [liveNet] = await neutron.list('networks', { name: `kuryr-net-${(await networkId(live)).slice(0, 8)}` });
    assert.ok(liveNet);
    const [livePool] = await neutron.list('subnetpools', { name: `kuryrPool-${LIVE_SUBNET}` });
    assert.ok(livePool);
    const userPort = await neutron.create('ports', { network_id: liveNet.id, name: `${RUN_PREFIX}-rcuser`, fixed_ips: [{ ip_address: '10.221.0.50' }] });
    cleanup.push(() => neutron.delete('ports', userPort.id));
    const plainUserPort = await neutron.create('ports', { network_id: liveNet.id, name: `${RUN_PREFIX}-rcplain`, fixed_ips: [{ ip_address: '10.221.0.51' }] });
    cleanup.push(() => neutron.delete('ports', plainUserPort.id));
    const [a, b] = [`${RUN_PREFIX}-rca`, `${RUN_PREFIX}-rcb`];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', live, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', live, '--ip', '10.221.0.50', IMAGE, 'sleep', '600');
    const ipA = await containerIp(a, live);
    const portA = (await neutron.list('ports', { network_id: liveNet.id, fixed_ips: [`ip_address=${ipA}`] }))[0]!;
    assert.ok((await neutron.show('ports', userPort.id)).tags.includes('kuryr.port.existing'), 'b adopted the user port');

    // ---- leftover 1: a port RequestAddress made, then the daemon "crashed" before Docker's CreateEndpoint
    const addr = await call('IpamDriver.RequestAddress', { PoolID: livePool.id, Address: '', Options: { 'com.docker.network.endpoint.macaddress': '02:42:0a:dd:00:fe' } });
    const strayIp = String(addr.Address).split('/')[0]!;
    const [strayPort] = await neutron.list('ports', { network_id: liveNet.id, fixed_ips: [`ip_address=${strayIp}`] });
    assert.ok(strayPort);
    cleanup.push(() => neutron.delete('ports', strayPort.id));
    assert.match(strayPort.device_id, /^kuryr-request:/);
    assert.equal(strayPort['binding:host_id'], hostId());

    // ---- leftover 2: a network (subnet, pool) made for a Docker network that does not exist
    const ghostNid = randomBytes(32).toString('hex');
    const ghostPool = await call('IpamDriver.RequestPool', { AddressSpace: '', Pool: LEFTOVER_SUBNET, SubPool: '', Options: {}, V6: false });
    cleanup.push(() => neutron.delete('subnetpools', String(ghostPool.PoolID)));
    await call('IpamDriver.RequestAddress', { PoolID: ghostPool.PoolID, Address: '10.222.0.1', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    await call('NetworkDriver.CreateNetwork', {
      NetworkID: ghostNid,
      Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: '', Pool: LEFTOVER_SUBNET, Gateway: '10.222.0.1/24' }],
      IPv6Data: [],
    });
    const [ghostNet] = await neutron.list('networks', { name: `kuryr-net-${ghostNid.slice(0, 8)}` });
    assert.ok(ghostNet);
    cleanup.push(() => neutron.delete('networks', ghostNet.id));
    assert.equal(ghostNet.description, `kuryr-ts: Docker network ${ghostNid} on host ${hostId()}`);

    // ---- leftover 3: a veth and an OVS port with kuryr's owner marks; no Neutron port, no Docker endpoint
    const strayEndpoint = randomBytes(32).toString('hex');
    const strayPortId = randomUUID();
    const tap = `tap${strayPortId.slice(0, 11)}`;
    await sh('ip', ['link', 'add', 'name', tap, 'type', 'veth', 'peer', 'name', `t_c${strayPortId.slice(0, 11)}`]);
    cleanup.push(() => sh('ip', ['link', 'del', 'dev', tap]));
    await sh('ip', ['link', 'set', 'dev', tap, 'alias', `kuryr:${strayEndpoint}`]);
    await sh('ovs-vsctl', ['--timeout=10', '--', '--may-exist', 'add-port', 'br-int', tap, '--', 'set', 'Interface', tap,
      `external_ids:iface-id="${strayPortId}"`, `external_ids:vm-uuid="${strayEndpoint}"`, 'external_ids:owner=kuryr', 'external_ids:iface-status=active']);
    cleanup.push(() => sh('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-port', 'br-int', tap]));

    // ---- the crash: what the daemon had in hand is gone; then the grace period passes
    await daemon.stop();
    daemon = await startDaemon(NAME, EXTRA);
    await new Promise((r) => setTimeout(r, GRACE_MS + 2000));

    const expected = [`host ${strayEndpoint}`, `network ${ghostNet.id}`, `port ${strayPort.id}`, `subnetpool ${String(ghostPool.PoolID)}`].sort();
    const untouched = [`port ${portA.id}`, `port ${userPort.id}`, `port ${plainUserPort.id}`, `network ${liveNet.id}`, `subnetpool ${livePool.id}`];

    // ---- dry run: reported, nothing changed
    const dry = await reconcile(true);
    assert.equal(dry.status, 0, `exit status (${dry.stderr}; skipped: ${dry.report.skipped.join('; ')})`);
    assert.equal(dry.report.dryRun, true);
    assert.equal(dry.report.host, hostId());
    const wouldRemove = ids(dry.report, 'would-remove', 'would-reset');
    for (const e of expected) assert.ok(wouldRemove.includes(e), `the dry run reports ${e}: ${JSON.stringify(dry.report.findings, null, 1)} (skipped: ${dry.report.skipped.join('; ') || 'nothing'})`);
    for (const u of untouched) assert.ok(!dry.report.findings.some((f) => `${f.kind} ${f.id}` === u), `${u} is in use, not reported`);
    assert.match(dry.report.findings.find((f) => f.id === strayPort.id)!.reason, /no endpoint took/);
    assert.match(dry.report.findings.find((f) => f.id === strayEndpoint)!.reason, /Docker endpoint .* and its Neutron port are gone/);
    assert.ok(await neutron.show('ports', strayPort.id), 'a dry run changes nothing');
    assert.ok(await neutron.show('networks', ghostNet.id));
    await sh('ip', ['link', 'show', 'dev', tap]);

    // ---- the real pass: exactly what the dry run reported
    const real = await reconcile(false);
    assert.equal(real.status, 0, `exit status (${real.stderr}; skipped: ${real.report.skipped.join('; ')})`);
    const removed = ids(real.report, 'removed', 'reset');
    for (const e of expected) assert.ok(removed.includes(e), `removed ${e}`);
    // Exactly what the dry run reported (a lab leftover crossing the grace period in between would be the only extra).
    for (const r of removed) assert.ok(wouldRemove.includes(r), `${r} was removed without the dry run reporting it`);
    assert.deepEqual(ids(real.report, 'failed'), []);

    assert.deepEqual(await neutron.list('ports', { id: strayPort.id }), []);
    assert.deepEqual(await neutron.list('networks', { id: ghostNet.id }), []);
    assert.deepEqual(await neutron.list('subnets', { network_id: ghostNet.id }), []);
    assert.deepEqual(await neutron.list('subnetpools', { id: String(ghostPool.PoolID) }), []);
    await assert.rejects(sh('ip', ['link', 'show', 'dev', tap]), /does not exist/);
    assert.equal(await sh('ovs-vsctl', ['--timeout=10', '--columns=name', '--format=csv', '--no-headings', 'find', 'Interface', `name=${tap}`]), '');

    // ---- what is in use is untouched and works
    const p = await neutron.show('ports', userPort.id);
    assert.equal(p['binding:host_id'], hostId(), "the live container's pre-created port is still bound");
    assert.ok(p.tags.includes('kuryr.port.existing'));
    assert.equal((await neutron.show('ports', portA.id)).device_id, portA.device_id);
    assert.equal((await neutron.show('ports', plainUserPort.id)).device_owner, '', 'the plain user port is untouched');
    assert.ok(await neutron.show('networks', liveNet.id));
    // the user's port was made in another project, with that project's default group: let a's group in
    await neutron.update('ports', userPort.id, { security_groups: (await neutron.show('ports', portA.id)).security_groups ?? [] });
    await waitFor('a ping from a to b', async () => /2 packets received/.test(await docker('exec', a, 'ping', '-c', '2', '-W', '2', await containerIp(b, live)).catch(() => '')), 30_000);

    const stats = (await pluginGet('/kuryr/stats', SOCKET)) as { reconcile: { runs: number; removed: Record<string, number> } };
    assert.equal(stats.reconcile.runs, 2);
    for (const kind of ['port', 'host', 'network', 'subnetpool']) assert.ok((stats.reconcile.removed[kind] ?? 0) >= 1, `counted: ${kind}`);

    // ---- and a second pass finds nothing of ours
    const again = await reconcile(true);
    for (const e of expected) assert.ok(!ids(again.report, 'would-remove').includes(e));

    await docker('rm', '-f', a, b);
    await docker('network', 'rm', live);
  });
});
