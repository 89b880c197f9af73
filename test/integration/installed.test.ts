/**
 * kuryr-ts installed from its npm tarballs, as docs/install.md does it on a
 * host: the three packages packed (scripts/pack.sh), installed in one
 * `npm install -g --prefix <temporary prefix>` (they depend on each other and
 * are on no registry), then the quickstart with the INSTALLED commands:
 * `kuryr-server` from the prefix's bin on its own plugin socket (Docker driver
 * <RUN_PREFIX>inst) with the lab's kuryr.conf, the installed `kuryr doctor`
 * on it, a Docker network of that driver, two containers, a ping, cleanup,
 * and the daemon stopped by its pid; and `--version` of every installed command.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type TestDaemon } from './daemons.js';
import { IMAGE, REPO, RUN_PREFIX, cleanupDocker, containerIp, docker, hostId, networkId, portsOfNetwork, sh, taggedWith, waitFor } from './support.js';

const VERSION = (JSON.parse(readFileSync(`${REPO}packages/kuryr/package.json`, 'utf8')) as { version: string }).version;
const PACKAGES = ['openstack', 'kuryr', 'zun'] as const;

const work = mkdtempSync('/tmp/kuryr-installed-');
const packDir = join(work, 'pack');
const prefix = join(work, 'prefix');
const bin = (command: string): string => join(prefix, 'bin', command);

const containers: string[] = [];
const networks: string[] = [];
const daemons: TestDaemon[] = [];
after(async () => {
  await cleanupDocker(containers, networks);
  for (const d of daemons) await d.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('installed from the npm tarballs', { timeout: 1_800_000 }, () => {
  before(async () => {
    const tarballs = (await sh('bash', [`${REPO}scripts/pack.sh`, packDir], 300_000)).split('\n').filter(Boolean);
    assert.deepEqual(
      tarballs.map((t) => t.slice(packDir.length + 1)),
      PACKAGES.map((p) => `kuryr-ts-${p}-${VERSION}.tgz`),
    );
    // One command for the three. better-sqlite3 (of @kuryr-ts/zun) takes its native addon from a
    // local prebuild, as an offline host does (docs/install.md): the one this checkout's npm ci built
    // for this Node.js, packed the way prebuild-install looks for it, and named in a
    // .prebuild-installrc above the prefix, where prebuild-install finds it from the package's
    // directory (else it compiles, ~90 s).
    const sqlite = JSON.parse(readFileSync(`${REPO}node_modules/better-sqlite3/package.json`, 'utf8')) as { version: string };
    const prebuilds = join(work, 'prebuilds');
    const addon = `${REPO}node_modules/better-sqlite3/build/Release/better_sqlite3.node`;
    if (existsSync(addon)) {
      await sh('bash', ['-c', 'mkdir -p "$1/stage/build/Release" && cp "$2" "$1/stage/build/Release/" && tar -C "$1/stage" -czf "$1/$3" build', '-', prebuilds, addon, `better-sqlite3-v${sqlite.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`]);
      writeFileSync(join(work, '.prebuild-installrc'), `local-prebuilds=${prebuilds}\n`);
    }
    await sh('env', ['JOBS=2', 'npm', 'install', '-g', '--prefix', prefix, '--allow-scripts=better-sqlite3', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], 1_200_000);
  }, { timeout: 1_500_000 });

  it('every installed command answers --version with the packages’ version', async () => {
    for (const p of PACKAGES) {
      const pkg = JSON.parse(readFileSync(join(prefix, 'lib/node_modules/@kuryr-ts', p, 'package.json'), 'utf8')) as { version: string };
      assert.equal(pkg.version, VERSION, `@kuryr-ts/${p} installed at ${VERSION}`);
    }
    for (const command of ['kuryr', 'kuryr-server', 'zun-api']) {
      assert.equal(await sh(bin(command), ['--version']), VERSION, `${command} --version`);
    }
    assert.equal(await sh(bin('zun'), ['--version']), `zun (kuryr-ts) ${VERSION}`);
    assert.match(await sh(bin('kuryr'), ['doctor', '--help']), /Usage: kuryr doctor/);
  });

  it('the quickstart with the installed kuryr-server: a network, two containers, a ping, cleanup', async () => {
    const name = `${RUN_PREFIX}inst`;
    const d = await startDaemon(name, '', { command: [bin('kuryr-server')] });
    daemons.push(d);

    // the installed doctor on the installed daemon's configuration
    const doctor = await sh(bin('kuryr'), ['doctor', '--config-file', '/etc/kuryr-lab/kuryr.conf', '--config-file', `/run/kuryr-lab/test/${name}.conf`]);
    assert.match(doctor, new RegExp(`✔ plugin socket: /run/docker/plugins/${name}\\.sock`));
    assert.match(doctor, new RegExp(`✔ Docker discovery: Docker finds it as "${name}"`));
    assert.doesNotMatch(doctor, /✘/);

    const net = `${RUN_PREFIX}-inst`;
    networks.push(net);
    await docker('network', 'create', '-d', name, '--ipam-driver', name, '--subnet', '10.195.0.0/24', '--gateway', '10.195.0.1', net);
    const dockerNetId = await networkId(net);
    const [neutronNet] = await taggedWith('networks', dockerNetId);
    assert.ok(neutronNet, 'the installed daemon made the Neutron network, tagged with the Docker network id');

    const [a, b] = [`${RUN_PREFIX}-insta`, `${RUN_PREFIX}-instb`];
    containers.push(a, b);
    await docker('run', '-d', '--name', a, '--net', net, IMAGE, 'sleep', '600');
    await docker('run', '-d', '--name', b, '--net', net, IMAGE, 'sleep', '600');
    const ports = await waitFor(
      'two ACTIVE container ports',
      async () => {
        const mine = (await portsOfNetwork(neutronNet.id)).filter((p) => p.device_owner === 'compute:kuryr');
        return mine.length === 2 && mine.every((p) => p.status === 'ACTIVE') && mine;
      },
      30_000,
    );
    for (const p of ports) assert.equal(p['binding:host_id'], hostId(), `port ${p.id} bound to this host`);
    assert.match(await docker('exec', a, 'ping', '-c', '3', '-W', '2', await containerIp(b, net)), /3 packets received/);

    await docker('rm', '-f', a, b);
    await docker('network', 'rm', net);
    assert.deepEqual(await taggedWith('networks', dockerNetId), [], 'the Neutron network went with the Docker network');
    await d.stop(); // SIGTERM to its pid: it drains and removes its socket
    assert.ok(!existsSync(`/run/docker/plugins/${name}.sock`), 'the stopped daemon removed its socket');
  });
});
