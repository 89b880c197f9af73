/**
 * Deployment shapes, for real: the systemd units' identities and capability
 * bounds (the driver's, and zun-api's as an unprivileged user), the
 * TCP+TLS listener found through a Docker .json spec with client
 * certificates, and the Docker managed (v2) plugin built from this tree.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, REPO, RUN_PREFIX, cleanupDocker, containerIp, docker, sh, waitFor } from './support.js';
import { capsOf, identityOf, serviceSettings, setprivPrefix, setting } from './systemd-unit.js';

const containers: string[] = [];
const networks: string[] = [];
const daemons: TestDaemon[] = [];
const files: string[] = [];
const plugins: string[] = [];
after(async () => {
  await cleanupDocker(containers, networks);
  for (const d of daemons) await d.stop();
  for (const p of plugins) await docker('plugin', 'rm', '-f', p).catch(() => undefined);
  for (const f of files) rmSync(f, { recursive: true, force: true });
});

/** A network of `driver`, two containers, a ping between them, then everything removed. */
async function pingThrough(driver: string, label: string, subnet: string): Promise<void> {
  const net = `${RUN_PREFIX}-${label}`;
  networks.push(net);
  await docker('network', 'create', '-d', driver, '--ipam-driver', driver, '--subnet', `${subnet}.0/24`, '--gateway', `${subnet}.1`, net);
  const [a, b] = [`${RUN_PREFIX}-${label}a`, `${RUN_PREFIX}-${label}b`];
  containers.push(a, b);
  await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
  await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'sleep', '600');
  assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', await containerIp(b, net)), /2 packets received/);
  await docker('rm', '-f', a, b);
  await docker('network', 'rm', net);
}

describe('deployment shapes', { timeout: 600_000 }, () => {
  it('systemd unit: the daemon works under exactly its identity, capabilities and no_new_privs', async () => {
    const path = `${REPO}packaging/systemd/kuryr-ts.service`;
    const unit = readFileSync(path, 'utf8');
    const s = serviceSettings(path);
    assert.deepEqual(capsOf(setting(s, 'CapabilityBoundingSet')), ['net_admin', 'net_raw']);
    assert.deepEqual(capsOf(setting(s, 'AmbientCapabilities')), ['net_admin', 'net_raw']);
    assert.equal(setting(s, 'User'), '', 'runs as root (the ovsdb and plugin sockets are root\'s)');
    assert.equal(setting(s, 'ProtectSystem'), 'strict');
    assert.ok(setting(s, 'ReadWritePaths').split(/\s+/).includes('/run/docker/plugins'));
    assert.match(unit, /^Before=docker\.service$/m);
    const prefix = setprivPrefix(s, await identityOf(s));
    assert.ok(prefix.includes('--no-new-privs'));
    const d = await startDaemon(`${RUN_PREFIX}cap`, '', { prefix });
    daemons.push(d);
    await pingThrough(d.name, 'cap', '10.190.0');
  });

  it('systemd unit: zun-api answers /v1 as an unprivileged user with no capability, reaching Docker through its group', async () => {
    const s = serviceSettings(`${REPO}packaging/systemd/zun-api.service`);
    assert.equal(setting(s, 'User'), 'zun');
    assert.deepEqual(capsOf(setting(s, 'CapabilityBoundingSet')), []);
    assert.deepEqual(capsOf(setting(s, 'AmbientCapabilities')), []);
    assert.equal(setting(s, 'SupplementaryGroups'), 'docker');
    assert.equal(setting(s, 'StateDirectory'), 'zun');
    const who = await identityOf(s);
    assert.ok(who !== undefined && who.uid !== 0);
    // a temporary config: noauth, a SQLite database in the user's own state directory, Neutron
    // never called (loopback, nothing listens), this host's Docker as the only compute host
    const dir = mkdtempSync(`${tmpdir()}/${RUN_PREFIX}-zunapi.`);
    files.push(dir);
    chmodSync(dir, 0o755);
    mkdirSync(`${dir}/state`, { mode: 0o750 });
    chownSync(`${dir}/state`, who.uid, who.gid);
    const port = 29500 + (process.pid % 100);
    writeFileSync(
      `${dir}/zun.conf`,
      `[DEFAULT]\nauth_strategy = noauth\nhost = ${RUN_PREFIX}-zunhost\n[api]\nhost_ip = 127.0.0.1\nport = ${port}\n` +
        `[database]\nconnection = sqlite:///${dir}/state/zun.sqlite\n[docker]\nsocket = /var/run/docker.sock\nping_interval = 0\n` +
        '[neutron]\nauth_type = none\nendpoint_override = http://127.0.0.1:1\n',
      { mode: 0o644 },
    );
    const argv = [...setprivPrefix(s, who), process.execPath, `${REPO}packages/zun/bin/zun-api.js`, '--config-file', `${dir}/zun.conf`];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const base = `http://127.0.0.1:${port}`;
      const v1 = await waitFor('zun-api on /v1', async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`zun-api exited (${child.exitCode ?? child.signalCode})`);
        const r = await fetch(`${base}/v1`).catch(() => undefined);
        return r?.ok ? ((await r.json()) as { id?: string }) : undefined;
      }, 20_000);
      assert.equal(v1.id, 'v1');
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      assert.match(status, new RegExp(`^Uid:\\s+${who.uid}\\s`, 'm'));
      assert.match(status, /^CapEff:\s+0+$/m);
      assert.match(status, /^CapBnd:\s+0+$/m);
      assert.match(status, /^NoNewPrivs:\s+1$/m);
      // the docker group is what lets it reach Docker (the host list is the cloud admin's: noauth admin headers)
      const hosts = (await (await fetch(`${base}/v1/hosts?refresh=true`, { headers: { 'x-project-id': 'admin', 'x-project-name': 'admin', 'x-roles': 'admin' } })).json()) as { hosts: Array<{ hostname: string; state: string; reason?: string }> };
      assert.equal(hosts.hosts[0]?.state, 'up', JSON.stringify(hosts.hosts[0]));
    } finally {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('TCP + TLS through a Docker .json spec, with client certificates; no certificate, no entry', async () => {
    const dir = `/run/kuryr-lab/test/${RUN_PREFIX}-tls`;
    mkdirSync(dir, { recursive: true });
    files.push(dir);
    const ossl = (...args: string[]) => sh('openssl', args);
    await ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kuryr-test-ca', '-keyout', `${dir}/ca-key.pem`, '-out', `${dir}/ca.pem`);
    for (const who of ['server', 'client']) {
      await ossl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`, '-keyout', `${dir}/${who}-key.pem`, '-out', `${dir}/${who}.csr`);
      writeFileSync(`${dir}/${who}.ext`, who === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
      await ossl('x509', '-req', '-in', `${dir}/${who}.csr`, '-CA', `${dir}/ca.pem`, '-CAkey', `${dir}/ca-key.pem`, '-CAcreateserial', '-days', '1', '-extfile', `${dir}/${who}.ext`, '-out', `${dir}/${who}.pem`);
    }
    const port = 23800 + (process.pid % 100);
    const name = `${RUN_PREFIX}tls`;
    const d = await startDaemon(
      name,
      `kuryr_uri = https://127.0.0.1:${port}\nenable_ssl = true\nssl_cert_file = ${dir}/server.pem\nssl_key_file = ${dir}/server-key.pem\nssl_ca_file = ${dir}/ca.pem`,
      { socket: `${dir}/kuryr.sock` }, // not under /run/docker/plugins: Docker must use the .json spec
    );
    daemons.push(d);
    const spec = `/etc/docker/plugins/${name}.json`;
    mkdirSync('/etc/docker/plugins', { recursive: true });
    files.push(spec);
    writeFileSync(
      spec,
      JSON.stringify({ Name: name, Addr: `https://127.0.0.1:${port}`, TLSConfig: { CAFile: `${dir}/ca.pem`, CertFile: `${dir}/client.pem`, KeyFile: `${dir}/client-key.pem` } }),
    );
    await pingThrough(name, 'tls', '10.191.0');
    const refused = await sh('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', `${dir}/ca.pem`, '-X', 'POST', `https://127.0.0.1:${port}/Plugin.Activate`]).catch((e: Error) => e.message);
    assert.doesNotMatch(refused, /^200$/, 'a client without a certificate is refused');
  });

  it('Docker managed (v2) plugin built from this tree: enable, network, ping, disable', async () => {
    const name = `${RUN_PREFIX}plug:latest`;
    plugins.push(name);
    const work = (await sh('bash', [`${REPO}packaging/plugin/build.sh`, name], 300_000)).split('\n').pop()!;
    files.push(work);
    const confDir = `/run/kuryr-lab/test/${RUN_PREFIX}-plugconf`;
    mkdirSync(confDir, { recursive: true });
    files.push(confDir);
    writeFileSync(`${confDir}/kuryr.conf`, readFileSync('/etc/kuryr-lab/kuryr.conf'));
    await docker('plugin', 'set', name, `kuryr-conf.source=${confDir}`);
    await docker('plugin', 'enable', name);
    assert.match(await docker('plugin', 'inspect', '-f', '{{.Enabled}}', name), /true/);
    await pingThrough(name, 'plug', '10.192.0');
    await docker('plugin', 'disable', name);
    await docker('plugin', 'rm', name);
  });
});
