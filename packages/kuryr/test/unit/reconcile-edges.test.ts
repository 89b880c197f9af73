/**
 * The reconciler's edges: its kuryr.conf options, the Docker Engine adapter
 * (over a unix socket served here), `kuryr reconcile` asking the daemon and
 * printing the report, and the daemon's schedule.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { AppError } from '@kuryr-ts/openstack/errors';
import { EngineApi, parseDockerHost } from '../../src/adapters/docker/engine-api.js';
import { localFs } from '../../src/config/config-files.js';
import { buildConfig } from '../../src/config/kuryr-config.js';
import type { ReconcileReport } from '../../src/domain/reconcile-report.js';
import type { Reconciler } from '../../src/domain/reconciler.js';
import { main, type CliDeps } from '../../src/main/kuryr-cli.js';
import { askDaemon } from '../../src/main/reconcile-cli.js';
import { formatReport } from '../../src/main/reconcile-format.js';
import { ReconcileSchedule, driverNameOf } from '../../src/main/reconcile-schedule.js';
import type { ProcView } from '../../src/ports/proc-view.js';

const dir = mkdtempSync(join(tmpdir(), 'kuryr-reconcile-'));
const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

/** An HTTP server on a unix socket in a temporary directory (nothing leaves this machine). */
async function serve(name: string, handler: Parameters<typeof createServer>[1]): Promise<string> {
  const path = join(dir, name);
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

const conf = (text: string) => buildConfig(parseIni(text, 'kuryr.conf'), {});

const report = (over: Partial<ReconcileReport> = {}): ReconcileReport => ({
  host: 'vm',
  dryRun: false,
  startedAt: '2030-01-01T00:00:00.000Z',
  durationMs: 12,
  seen: { ports: 3 },
  inUse: { port: 2 },
  findings: [],
  skipped: [],
  notes: [],
  complete: true,
  ...over,
});

describe('reconcile: options, Docker adapter, command, schedule', () => {
  it('kuryr.conf: reconcile_interval, reconcile_grace_period, docker_host (defaults, and a negative value refused)', () => {
    assert.deepEqual(conf('').reconcile, { intervalS: 300, gracePeriodS: 600, dockerHost: 'unix:///var/run/docker.sock' });
    const c = conf('[DEFAULT]\nreconcile_interval = 0\nreconcile_grace_period = 30\ndocker_host = unix:///run/other/docker.sock\n');
    assert.deepEqual(c.reconcile, { intervalS: 0, gracePeriodS: 30, dockerHost: 'unix:///run/other/docker.sock' });
    assert.throws(() => conf('[DEFAULT]\nreconcile_interval = -1\n'), /\[DEFAULT\] reconcile_interval: -1 is negative/);
  });

  it('docker_host: unix sockets and tcp host:port; anything else is a config error', () => {
    assert.deepEqual(parseDockerHost('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
    assert.deepEqual(parseDockerHost('/run/docker.sock'), { socketPath: '/run/docker.sock' });
    assert.deepEqual(parseDockerHost('tcp://127.0.0.1:2375'), { host: '127.0.0.1', port: 2375 });
    assert.deepEqual(parseDockerHost('tcp://[::1]:2375'), { host: '::1', port: 2375 });
    assert.throws(() => parseDockerHost('ssh://me@host'), /KURYR_ERR_CONFIG|docker_host/);
    assert.equal(driverNameOf('/run/docker/plugins/kuryr.sock'), 'kuryr');
  });

  it("the Engine API adapter: every network, and each network's endpoints with or without a sandbox", async () => {
    const socket = await serve('docker.sock', (req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/networks') {
        res.end(JSON.stringify([{ Id: 'n1', Name: 'net1', Driver: 'kuryr' }, { Id: 'n2', Name: 'bridge', Driver: 'bridge' }]));
      } else if (req.url === '/networks/n1') {
        res.end(JSON.stringify({ Id: 'n1', Containers: { c0ffee: { EndpointID: 'e1' }, 'ep-e2': { EndpointID: 'e2' } } }));
      } else if (req.url === '/networks/n2') {
        res.end(JSON.stringify({ Id: 'n2', Containers: null }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ message: 'network not found' }));
      }
    });
    const engine = new EngineApi({ dockerHost: `unix://${socket}` });
    assert.deepEqual(await engine.networks(), [
      { id: 'n1', name: 'net1', driver: 'kuryr' },
      { id: 'n2', name: 'bridge', driver: 'bridge' },
    ]);
    assert.deepEqual(await engine.endpoints('n1'), ['e1', 'e2']);
    assert.deepEqual(await engine.endpoints('n2'), []);
    assert.equal(await engine.endpoints('gone'), undefined);
  });

  it('the Engine API adapter: no Docker, or an error answer, is KURYR_ERR_DOCKER naming the call', async () => {
    const none = new EngineApi({ dockerHost: `unix://${join(dir, 'nothing.sock')}` });
    await assert.rejects(none.networks(), (err: unknown) => err instanceof AppError && err.code === 'KURYR_ERR_DOCKER' && /GET \/networks failed: .*ENOENT/.test(err.message));
    const socket = await serve('broken.sock', (_req, res) => {
      res.statusCode = 500;
      res.end('{"message":"daemon is shutting down"}');
    });
    await assert.rejects(new EngineApi({ dockerHost: socket }).networks(), /GET \/networks failed: 500 .*shutting down/);
  });

  it('kuryr reconcile asks the daemon: its report; no daemon, or one without the route: undefined (run here)', async () => {
    let body = '';
    const socket = await serve('kuryr.sock', (req, res) => {
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => res.end(JSON.stringify(report({ dryRun: true }))));
    });
    assert.equal((await askDaemon(socket, true))?.dryRun, true);
    assert.deepEqual(JSON.parse(body), { dryRun: true });
    assert.equal(await askDaemon(join(dir, 'no-daemon.sock'), false), undefined);
    const old = await serve('old.sock', (_req, res) => {
      res.statusCode = 404;
      res.end('{"Err":"unknown method"}');
    });
    assert.equal(await askDaemon(old, false), undefined);
    const failing = await serve('failing.sock', (_req, res) => {
      res.statusCode = 503;
      res.end('{"Err":"kuryr/reconcile: Neutron is not usable"}');
    });
    await assert.rejects(askDaemon(failing, false), /the daemon's reconcile failed: .*Neutron is not usable/);
  });

  it('the printed report: what was removed, left alone and why, what could not be checked', () => {
    const text = formatReport(
      report({
        dryRun: true,
        findings: [
          { kind: 'port', id: 'p1', what: 'kuryr-unbound-port 10.0.0.5', outcome: 'would-remove', reason: 'its Docker endpoint 0123456789ab is gone' },
          { kind: 'network', id: 'n1', what: 'kuryr-net-01234567', outcome: 'left', reason: 'other Docker networks reference it' },
        ],
        skipped: ['host plumbing: OVS interfaces could not be listed'],
        complete: false,
      }),
      'the daemon on /run/docker/plugins/kuryr.sock',
    );
    assert.match(text, /^kuryr reconcile on host vm, run by the daemon on \/run\/docker\/plugins\/kuryr.sock — dry run: nothing was changed/);
    assert.match(text, /Would remove \(1\):\n {2}port p1: kuryr-unbound-port 10\.0\.0\.5\n {6}its Docker endpoint 0123456789ab is gone/);
    assert.match(text, /Left alone \(1\):\n {2}network n1: kuryr-net-01234567\n {6}other Docker networks reference it/);
    assert.match(text, /Not checked \(nothing there was touched\):\n {2}- host plumbing: OVS/);
    assert.match(text, /Would remove 1 leftover, left 1 alone — incomplete \(see above\); 12 ms\.$/);
  });

  it('the schedule: off with interval 0; a pass still running is not doubled', async () => {
    const log = pino({ level: 'silent' });
    let runs = 0;
    let finish!: () => void;
    const slow = {
      run: () => {
        runs++;
        return new Promise<ReconcileReport>((resolve) => (finish = () => resolve(report())));
      },
    } as unknown as Reconciler;
    const off = new ReconcileSchedule(slow, 0, log, (w) => void w());
    off.start();
    assert.equal(runs, 0);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const on = new ReconcileSchedule(slow, 0.01, log, (w) => void w());
    on.start();
    await sleep(60);
    assert.equal(runs, 1, 'not doubled while the first pass runs');
    finish();
    await sleep(60);
    on.stop();
    assert.ok(runs >= 2, 'the next pass came once the first was done');
  });

  it('kuryr reconcile [--dry-run] [--json] --config-file …: the daemon of that config does the pass; exit 0 complete, 1 not', async () => {
    let asked: unknown;
    let complete = true;
    const socket = await serve('cli-daemon.sock', (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        asked = JSON.parse(body);
        res.end(JSON.stringify(report({ dryRun: (asked as { dryRun: boolean }).dryRun, complete, skipped: complete ? [] : ['ports: Docker did not answer'] })));
      });
    });
    const conf = join(dir, 'kuryr.conf');
    writeFileSync(conf, `[DEFAULT]\nplugin_socket = ${socket}\n`);
    const out: string[] = [];
    const noProc = { pids: () => [], unixListeners: () => new Map() } as unknown as ProcView;
    const deps: CliDeps = {
      runDaemon: () => Promise.resolve(),
      runDoctor: () => Promise.resolve([]),
      proc: noProc,
      fs: localFs,
      cwd: dir,
      home: undefined,
      stdout: (t) => void out.push(t),
      stderr: (t) => void out.push(t),
    };
    assert.equal(await main(['node', 'kuryr', 'reconcile', '--dry-run', '--config-file', conf], deps), 0);
    assert.deepEqual(asked, { dryRun: true });
    assert.match(out.join(''), new RegExp(`run by the daemon on ${socket} — dry run: nothing was changed`));
    out.length = 0;
    complete = false;
    assert.equal(await main(['node', 'kuryr', 'reconcile', '--json', '--config-file', conf], deps), 1);
    assert.deepEqual(asked, { dryRun: false });
    assert.equal((JSON.parse(out.join('')) as ReconcileReport).complete, false);
  });
});
