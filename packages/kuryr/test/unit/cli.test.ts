import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { localFs } from '../../src/config/config-files.js';
import { logFilePath } from '../../src/main/daemon-log.js';
import type { DaemonOptions } from '../../src/main/kuryr-daemon.js';
import { main, serverMain, type CliDeps } from '../../src/main/kuryr-cli.js';
import type { ProcView } from '../../src/ports/proc-view.js';

const PKG = new URL('../../../', import.meta.url).pathname; // dist/test/unit → the package root
const VERSION = (JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as { version: string }).version;
const SERVER_BIN = join(PKG, 'bin/kuryr-server.js');
const KURYR_BIN = join(PKG, 'bin/kuryr.js');
/**
 * A daemon of a unit test runs on a real host but speaks to a stand-in Neutron: it must never
 * reconcile (the host's veths and OVS ports are not its Neutron's, and the host's Docker is real).
 */
const NO_HOST_RECONCILE = 'reconcile_interval = 0\ndocker_host = unix:///nonexistent/docker.sock\n';
const run = promisify(execFile);

const noProc: ProcView = {
  self: 1,
  pids: () => [],
  cmdline: () => undefined,
  cwd: () => undefined,
  root: () => undefined,
  mountNs: () => undefined,
  home: () => undefined,
  socketInodes: () => undefined,
  unixListeners: () => new Map(),
};

/** The command lines over a recording runDaemon; returns what the daemon would have been started with. */
function recording(cwd = '/'): { deps: CliDeps; started: DaemonOptions[]; out: string[] } {
  const started: DaemonOptions[] = [];
  const out: string[] = [];
  const deps: CliDeps = {
    runDaemon: (opts) => (started.push(opts), Promise.resolve()),
    runDoctor: () => Promise.resolve([]),
    proc: noProc,
    fs: localFs,
    cwd,
    home: undefined,
    stdout: (t) => void out.push(t),
    stderr: (t) => void out.push(t),
  };
  return { deps, started, out };
}

describe('kuryr-server and kuryr command lines', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = (): string => (dirs.push(mkdtempSync(join(tmpdir(), 'kuryr-cli-'))), dirs.at(-1)!);

  it('kuryr-server --version and kuryr --version print the package version and exit 0', async () => {
    assert.equal((await run(process.execPath, [SERVER_BIN, '--version'])).stdout.trim(), VERSION);
    assert.equal((await run(process.execPath, [KURYR_BIN, '--version'])).stdout.trim(), VERSION);
  });

  it('`kuryr-server --config-file /etc/kuryr/kuryr.conf` starts the daemon on that file, as `kuryr daemon`', async () => {
    const s = recording();
    assert.equal(await serverMain(['node', '/usr/local/bin/kuryr-server', '--config-file', '/etc/kuryr/kuryr.conf'], s.deps), 0);
    assert.deepEqual(s.started, [{ configFiles: ['/etc/kuryr/kuryr.conf'], prog: 'kuryr-server' }]);
    const k = recording();
    assert.equal(await main(['node', '/usr/local/bin/kuryr', 'daemon', '--config-file', '/etc/kuryr/kuryr.conf'], k.deps), 0);
    assert.deepEqual(k.started, [{ configFiles: ['/etc/kuryr/kuryr.conf'], prog: 'kuryr' }]);
  });

  it("takes oslo's flags: --config-dir in command-line order, --log-file, --log-dir, --debug (-d)", async () => {
    const d = tmp();
    writeFileSync(join(d, 'b.conf'), '[DEFAULT]\n');
    writeFileSync(join(d, 'a.conf'), '[DEFAULT]\n');
    const s = recording('/srv');
    const argv = ['node', 'kuryr-server', '--config-file=base.conf', '--config-dir', d, '--config-file', '/etc/last.conf', '--log-file', 'k.log', '--log-dir', '/var/log/kuryr', '-d'];
    assert.equal(await serverMain(argv, s.deps), 0);
    assert.deepEqual(s.started, [
      { configFiles: ['/srv/base.conf', join(d, 'a.conf'), join(d, 'b.conf'), '/etc/last.conf'], prog: 'kuryr-server', debug: true, logFile: 'k.log', logDir: '/var/log/kuryr' },
    ]);
  });

  it('a bad flag or a missing --config-dir exits 2 without starting anything', async () => {
    const s = recording();
    assert.equal(await serverMain(['node', 'kuryr-server', '--config-fiel', 'x'], s.deps), 2);
    assert.equal(await serverMain(['node', 'kuryr-server', '--config-dir', '/nonexistent/kuryr.conf.d'], s.deps), 2);
    assert.match(s.out.join(''), /kuryr-server: KURYR_ERR_CONFIG: cannot read config directory \/nonexistent\/kuryr\.conf\.d/);
    assert.deepEqual(s.started, []);
  });

  it("the log file: oslo.log's log_file/log_dir rules, the command line over kuryr.conf", () => {
    const conf = (logFile?: string, logDir?: string) => ({ logFile, logDir });
    assert.equal(logFilePath(conf(), {}), undefined, 'stdout');
    assert.equal(logFilePath(conf('/var/log/kuryr/kuryr.log'), {}), '/var/log/kuryr/kuryr.log');
    assert.equal(logFilePath(conf('/var/log/kuryr/kuryr.log'), { logFile: '/tmp/k.log' }), '/tmp/k.log');
    assert.equal(logFilePath(conf('k.log', '/var/log/kuryr'), {}), '/var/log/kuryr/k.log');
    assert.equal(logFilePath(conf(undefined, '/var/log/kuryr'), { prog: 'kuryr-server' }), '/var/log/kuryr/kuryr-server.log');
    assert.equal(logFilePath(conf(undefined, '/var/log/kuryr'), { logFile: '/abs.log' }), '/abs.log');
  });

  it('kuryr-server --log-file appends the log there (nothing on stdout), warnings for unknown options included (use_json: JSON lines)', async (t) => {
    const d = tmp();
    // Neutron on loopback, answering every extension probe
    const neutron = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"extension": {}}'));
    await new Promise<void>((resolve) => neutron.listen(0, '127.0.0.1', resolve));
    t.after(() => neutron.close());
    const conf = join(d, 'kuryr.conf');
    writeFileSync(
      conf,
      `[DEFAULT]\nplugin_socket = ${join(d, 'kuryr.sock')}\nuse_json = true\n${NO_HOST_RECONCILE}state_path = /var/lib/kuryr\n[oslo_concurrency]\nlock_path = /var/lock/kuryr\n` +
        `[neutron]\nauth_type = none\nendpoint_override = http://127.0.0.1:${(neutron.address() as AddressInfo).port}\n[binding]\nhost_id = unit-test\n`,
    );
    const log = join(d, 'kuryr.log');
    writeFileSync(log, 'an earlier line\n');
    const child = spawn(process.execPath, [SERVER_BIN, '--config-file', conf, '--log-file', log], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    t.after(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const deadline = Date.now() + 20_000;
    while (!/Neutron ready/.test(readFileSync(log, 'utf8'))) {
      assert.ok(child.exitCode === null && Date.now() < deadline, `the daemon did not log to ${log}: ${readFileSync(log, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    const lines = readFileSync(log, 'utf8').split('\n');
    assert.equal(lines[0], 'an earlier line', 'appended, not truncated');
    const records = lines.slice(1).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.some((r) => r.msg === 'configuration read' && JSON.stringify(r.files) === JSON.stringify([conf])));
    assert.ok(records.some((r) => r.level === 'WARNING' && r.file === conf && r.section === 'DEFAULT' && r.option === 'state_path'));
    assert.ok(records.some((r) => r.level === 'WARNING' && r.section === 'oslo_concurrency'));
    assert.ok(records.some((r) => typeof r.msg === 'string' && r.msg.startsWith('kuryr-ts listening')));
    assert.equal(stdout, '');
  });
});
