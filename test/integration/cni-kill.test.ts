/**
 * CNI mode on the real lab: a kuryr daemon of the test's own is killed
 * (SIGKILL) in the middle of a `kuryr-cni` ADD: after Neutron made the port,
 * before the veth. The plugin fails with a CNI error; once the daemon is back
 * and the grace period has passed, `kuryr reconcile` removes the port, and
 * nothing is left in Neutron, on the host (veth, OVS) or in the namespace;
 * DEL is still a success. To land in that window every time, the killed
 * daemon runs with an `ip` in front of iproute2's that holds the veth's
 * creation (`ip -batch`) while a gate file exists, and then fails it.
 * The reconcile pass is host-wide: this file runs alone (scripts/test.sh).
 * All traffic stays inside the Neutron networks and namespaces made here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cniPortName } from '@kuryr-ts/kuryr/domain/cni-naming';
import type { ReconcileReport } from '@kuryr-ts/kuryr/domain/reconcile-report';
import { runReconcile, type ReconcileOutput } from '../lab-support/kuryr-reconcile.js';
import { cniPortsOf, kuryrCni } from './cni-plugin.js';
import { startDaemon, type StartedDaemon } from './daemons.js';
import { RUN_PREFIX, neutron, sh, waitFor } from './support.js';


/** Neutron's timestamps (UTC, with or without a zone) as ms. */
const neutronTime = (t: string | undefined): number => (t ? Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`) : Number.NaN);

describe('CNI mode: a daemon killed in the middle of ADD', { timeout: 120_000 }, () => {
  const NAME = `${RUN_PREFIX}cnk`;
  const SOCKET = `/run/docker/plugins/${NAME}.sock`;
  const CONF = `/run/kuryr-lab/test/${NAME}.conf`; // written by startDaemon
  const GRACE_MS = 5000;
  const EXTRA = `reconcile_interval = 0\nreconcile_grace_period = ${GRACE_MS / 1000}\n[neutron]\nvif_plugging_timeout = 60`;
  const CIDR = '10.178.0.0/24';
  const NETNS = `${RUN_PREFIX}cnk`;
  let daemon: StartedDaemon | undefined;
  const cleanups: Array<() => Promise<unknown>> = [async () => daemon?.stop()];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  /** `kuryr reconcile --json` with the test daemon's config: its exit status and report. */
  const reconcile = (): Promise<ReconcileOutput<ReconcileReport>> => runReconcile<ReconcileReport>(CONF, { timeoutMs: 120_000 });

  it('the plugin fails with a CNI error; after the grace period kuryr reconcile leaves no port, veth, OVS port or interface; DEL succeeds', async () => {
    // a Neutron network of the test's own
    const net = await neutron.create('networks', { name: `${RUN_PREFIX}-cnk` });
    cleanups.push(() => neutron.delete('networks', net.id));
    await neutron.create('subnets', { network_id: net.id, cidr: CIDR, ip_version: 4, gateway_ip: '10.178.0.1' });
    await sh('ip', ['netns', 'add', NETNS]);
    cleanups.push(() => sh('ip', ['netns', 'del', NETNS]));

    // `ip -batch` (how the daemon makes a veth) waits while the gate exists, then fails; every other ip call is iproute2's
    const shim = mkdtempSync(join(tmpdir(), 'kuryr-cni-kill-'));
    cleanups.push(async () => rmSync(shim, { recursive: true, force: true }));
    const gate = join(shim, 'gate');
    writeFileSync(
      join(shim, 'ip'),
      '#!/bin/sh\n' +
        `if [ "$1" = -batch ] && [ -e '${gate}' ]; then\n` +
        `  while [ -e '${gate}' ] && kill -0 "$PPID" 2>/dev/null; do sleep 0.05; done\n` +
        '  exit 1\n' +
        'fi\n' +
        'PATH=${PATH#*:}\n' +
        'exec ip "$@"\n',
    );
    chmodSync(join(shim, 'ip'), 0o755);
    daemon = await startDaemon(NAME, EXTRA, { prefix: ['env', `PATH=${shim}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`] });

    const containerId = randomBytes(32).toString('hex');
    const env = { CNI_CONTAINERID: containerId, CNI_NETNS: `/var/run/netns/${NETNS}`, CNI_IFNAME: 'eth0' };
    const config = { cniVersion: '1.0.0', name: 'kuryr-lab-kill', type: 'kuryr-cni', daemon_socket: SOCKET, neutron: { network: net.id } };
    const name = cniPortName(containerId, 'eth0');
    cleanups.push(async () => {
      for (const p of await neutron.list('ports', { name })) await neutron.delete('ports', p.id).catch(() => undefined);
    });

    // ---- ADD, and SIGKILL as soon as Neutron has the port (the daemon is then at the veth at the latest)
    writeFileSync(gate, '');
    const adding = kuryrCni({ ...env, CNI_COMMAND: 'ADD' }, config);
    const made = await waitFor(`Neutron port ${name}`, async () => (await neutron.list('ports', { name }))[0], 30_000, 50);
    process.kill(daemon.pid, 'SIGKILL');
    rmSync(gate, { force: true });
    const add = await adding;
    assert.equal(add.code, 1, `the plugin fails: ${add.stdout}`);
    assert.equal(add.json?.code, 11, `a CNI "try again later" error: ${add.stdout}`);
    assert.equal(typeof add.json?.msg, 'string');
    assert.equal(add.json?.cniVersion, '1.0.0');
    const tap = `tap${made.id.slice(0, 11)}`;
    await assert.rejects(sh('ip', ['link', 'show', 'dev', tap]), /does not exist/, 'the daemon was killed before the veth');

    // ---- the daemon again (a SIGKILL leaves its socket file behind), and the grace period
    await daemon.stop();
    rmSync(SOCKET, { force: true });
    daemon = await startDaemon(NAME, EXTRA);
    const [left] = await neutron.list('ports', { id: made.id });
    assert.ok(left, 'the port is left in Neutron until the reconciler removes it');
    const changed = Math.max(neutronTime(left.created_at), neutronTime(left.updated_at));
    // Neutron's timestamps have whole seconds: one more second
    const until = (Number.isNaN(changed) ? Date.now() : changed + 1000) + GRACE_MS + 500;
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));

    // ---- kuryr reconcile removes it, and nothing of the attachment is left
    const rec = await reconcile();
    assert.equal(rec.status, 0, `exit status (${rec.stderr}; skipped: ${rec.report.skipped.join('; ')})`);
    const finding = rec.report.findings.find((f) => f.kind === 'port' && f.id === made.id);
    assert.ok(finding?.outcome === 'removed', `kuryr reconcile removed port ${made.id}: ${JSON.stringify(rec.report.findings, null, 1)}`);
    assert.match(finding.reason, /CNI attachment .* whose veth is gone/);
    assert.deepEqual(await neutron.list('ports', { name }), [], `no Neutron port ${name}`);
    assert.deepEqual(await cniPortsOf(containerId), []);
    await assert.rejects(sh('ip', ['link', 'show', 'dev', tap]), /does not exist/, `no veth ${tap}`);
    assert.equal(await sh('ovs-vsctl', ['--timeout=10', '--columns=name', '--format=csv', '--no-headings', 'find', 'Interface', `external_ids:iface-id="${made.id}"`]), '', 'no OVS interface with its iface-id');
    const links = JSON.parse(await sh('ip', ['-n', NETNS, '-json', 'link', 'show'])) as Array<{ ifname: string }>;
    assert.deepEqual(links.map((l) => l.ifname), ['lo'], 'nothing in the namespace');

    // ---- DEL still succeeds (nothing to remove), and again
    for (let i = 0; i < 2; i++) {
      const del = await kuryrCni({ ...env, CNI_COMMAND: 'DEL' }, config);
      assert.deepEqual([del.code, del.stdout], [0, ''], 'DEL is idempotent');
    }
  });
});
