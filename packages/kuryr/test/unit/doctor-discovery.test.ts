import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseProcNetUnix } from '../../src/adapters/linux/procfs.js';
import { localFs } from '../../src/config/config-files.js';
import { chooseConfig, findRunningDaemon, parseDaemonCommand, type ConfigChoice } from '../../src/main/config-discovery.js';
import { main, type CliDeps } from '../../src/main/kuryr-cli.js';
import type { Check } from '../../src/main/doctor.js';
import type { ProcView } from '../../src/ports/proc-view.js';

interface FakeProcess {
  argv: string[];
  cwd?: string;
  root?: string;
  mnt?: string;
  home?: string;
  sockets?: number[];
}

/** /proc as doctor sees it: processes by pid (1000 is doctor itself), listening sockets by path. */
function fakeProc(procs: Record<number, FakeProcess>, listeners: Record<string, number[]> = {}): ProcView {
  const all: Record<number, FakeProcess> = { 1000: { argv: ['node', '/usr/local/bin/kuryr', 'doctor'], mnt: 'mnt:[1]' }, ...procs };
  return {
    self: 1000,
    pids: () => Object.keys(all).map(Number),
    cmdline: (pid) => all[pid]?.argv,
    cwd: (pid) => all[pid]?.cwd,
    root: (pid) => all[pid]?.root,
    mountNs: (pid) => all[pid]?.mnt,
    home: (pid) => all[pid]?.home,
    socketInodes: (pid) => (all[pid]?.sockets ? new Set(all[pid].sockets) : undefined),
    unixListeners: () => new Map(Object.entries(listeners)),
  };
}

const LAB = ['node', '--max-semi-space-size=1', '/srv/kuryr-ts/packages/kuryr/bin/kuryr.js', 'daemon', '--config-file', '/etc/kuryr-lab/kuryr.conf'];

describe('doctor: which configuration it checks', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = (): string => (dirs.push(mkdtempSync(join(tmpdir(), 'kuryr-doctor-'))), dirs.at(-1)!);
  const here = { home: undefined, cwd: '/', fs: localFs };

  it('recognises kuryr-ts daemon command lines, and their --config-file/--config-dir in order', () => {
    assert.deepEqual(parseDaemonCommand(LAB), { script: LAB[2], sources: [{ kind: 'file', path: '/etc/kuryr-lab/kuryr.conf' }] });
    assert.deepEqual(parseDaemonCommand(['/usr/bin/node', '/usr/local/bin/kuryr-server', '--config-dir=/etc/kuryr/conf.d', '--debug', '--config-file', 'k.conf']), {
      script: '/usr/local/bin/kuryr-server',
      sources: [
        { kind: 'dir', path: '/etc/kuryr/conf.d' },
        { kind: 'file', path: 'k.conf' },
      ],
    });
    assert.equal(parseDaemonCommand(['node', '-r', 'x', '/app/bin/kuryr.js', 'daemon'])?.script, '/app/bin/kuryr.js');
    assert.equal(parseDaemonCommand(['node', '/usr/local/bin/kuryr', 'doctor']), undefined, 'not a daemon');
    assert.equal(parseDaemonCommand(['/usr/bin/python3', '/usr/local/bin/kuryr-server', '--config-file', '/etc/kuryr/kuryr.conf']), undefined, 'not kuryr-ts');
    assert.equal(parseDaemonCommand(['node', '/srv/zun/bin/zun-api.js', '--config-file', 'z.conf']), undefined);
  });

  it('picks the daemon that holds /run/docker/plugins/kuryr.sock, and names the others', () => {
    const proc = fakeProc(
      {
        200: { argv: [...LAB.slice(0, 4), '--config-file', '/run/kuryr-lab/test/extra.conf'], mnt: 'mnt:[1]', sockets: [77] },
        300: { argv: LAB, mnt: 'mnt:[1]', sockets: [55, 66] },
        400: { argv: ['node', '/srv/bin/kuryr.js', 'daemon'], mnt: 'mnt:[9]' },
      },
      { '/run/docker/plugins/kuryr.sock': [66], '/run/docker/plugins/extra.sock': [77] },
    );
    const d = findRunningDaemon(proc);
    assert.equal(d?.pid, 300);
    assert.match(d?.reason ?? '', /holds \/run\/docker\/plugins\/kuryr\.sock/);
    assert.deepEqual(d?.others, [200, 400]);
  });

  it("without socket ownership to see (not root): the only daemon in doctor's mount namespace", () => {
    const proc = fakeProc({ 300: { argv: LAB, mnt: 'mnt:[1]' }, 400: { argv: ['node', '/srv/bin/kuryr.js', 'daemon'], mnt: 'mnt:[9]' } }, { '/run/docker/plugins/kuryr.sock': [66] });
    assert.equal(findRunningDaemon(proc)?.pid, 300);
    assert.equal(findRunningDaemon(fakeProc({ 400: { argv: ['node', '/srv/bin/kuryr.js', 'daemon'], mnt: 'mnt:[9]' } })), undefined, 'another mount namespace only');
    assert.equal(findRunningDaemon(fakeProc({})), undefined);
  });

  it("resolves the daemon's relative --config-file against its cwd, and says which daemon and why", () => {
    const d = tmp();
    writeFileSync(join(d, 'kuryr.conf'), '[DEFAULT]\n');
    mkdirSync(join(d, 'conf.d'));
    writeFileSync(join(d, 'conf.d', 'host.conf'), '[binding]\nhost_id = h1\n');
    const proc = fakeProc(
      { 300: { argv: ['node', '/opt/kuryr-ts/bin/kuryr-server.js', '--config-file', 'kuryr.conf', '--config-dir', 'conf.d'], cwd: d, mnt: 'mnt:[1]', sockets: [66] } },
      { '/run/docker/plugins/kuryr.sock': [66] },
    );
    const choice = chooseConfig([], proc, here);
    assert.deepEqual(choice.files, [join(d, 'kuryr.conf'), join(d, 'conf.d', 'host.conf')]);
    assert.match(choice.why, /^the running daemon's: pid 300 \(it holds \/run\/docker\/plugins\/kuryr\.sock\), node \/opt\/kuryr-ts\/bin\/kuryr-server\.js --config-file kuryr\.conf/);
    assert.equal(choice.error, undefined);
  });

  it("a daemon's --config-dir that is gone is reported, not thrown", () => {
    const proc = fakeProc({ 300: { argv: [...LAB, '--config-dir', '/nonexistent/kuryr.conf.d'], mnt: 'mnt:[1]' } });
    const choice = chooseConfig([], proc, here);
    assert.match(String(choice.error), /cannot read config directory \/nonexistent\/kuryr\.conf\.d/);
    assert.match(choice.why, /pid 300/);
  });

  it('the flags given win over the running daemon; no daemon: the default files', () => {
    const proc = fakeProc({ 300: { argv: LAB, mnt: 'mnt:[1]' } });
    const given = chooseConfig([{ kind: 'file', path: '/etc/other.conf' }], proc, here);
    assert.deepEqual(given.files, ['/etc/other.conf']);
    assert.match(given.why, /--config-file\/--config-dir given/);
    const home = tmp();
    writeFileSync(join(home, 'kuryr.conf'), '[DEFAULT]\n');
    const none = chooseConfig([], fakeProc({}), { ...here, home });
    assert.deepEqual(none.files, [join(home, 'kuryr.conf')]);
    assert.match(none.why, /no running kuryr-ts daemon found/);
  });

  it('`kuryr doctor` with no flags hands doctor the running daemon’s files', async () => {
    let seen: ConfigChoice | undefined;
    const out: string[] = [];
    const deps: CliDeps = {
      runDaemon: () => Promise.reject(new Error('not this command')),
      runDoctor: (choice: ConfigChoice): Promise<Check[]> => ((seen = choice), Promise.resolve([{ name: 'configuration', ok: true, detail: `valid: ${choice.files.join(', ')}` }])),
      proc: fakeProc({ 300: { argv: LAB, mnt: 'mnt:[1]', sockets: [66] } }, { '/run/docker/plugins/kuryr.sock': [66] }),
      fs: localFs,
      cwd: '/',
      home: undefined,
      stdout: (t) => void out.push(t),
      stderr: (t) => void out.push(t),
    };
    assert.equal(await main(['node', '/usr/local/bin/kuryr', 'doctor'], deps), 0);
    assert.deepEqual(seen?.files, ['/etc/kuryr-lab/kuryr.conf']);
    assert.match(out.join(''), /✔ configuration: valid: \/etc\/kuryr-lab\/kuryr\.conf/);
  });

  it('reads listening unix sockets from /proc/net/unix', () => {
    const text = [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '0000000000000000: 00000002 00000000 00010000 0001 01 34485 /run/docker/plugins/kuryr.sock',
      '0000000000000000: 00000003 00000000 00000000 0001 03 34490 /run/docker/plugins/kuryr.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 17683 /var/run/docker.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 17700 @/containerd-shim/abc.sock',
      '0000000000000000: 00000002 00000000 00000000 0002 01 17701',
    ].join('\n');
    assert.deepEqual(
      [...parseProcNetUnix(text)],
      [
        ['/run/docker/plugins/kuryr.sock', [34485]],
        ['/var/run/docker.sock', [17683]],
      ],
    );
  });
});
