/**
 * Extra kuryr daemons for integration tests: same Neutron and host as the
 * lab's daemon, another plugin socket (so Docker knows it under another
 * driver name) and extra config. Started and stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { REPO, waitFor } from './support.js';

export interface TestDaemon {
  name: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** A command the daemon runs under, e.g. setpriv with a capability bounding set. */
  prefix?: string[];
  /** Plugin socket path (default /run/docker/plugins/<name>.sock, i.e. Docker driver <name>). */
  socket?: string;
}

export async function startDaemon(name: string, extraConf: string, opts: StartOptions = {}): Promise<TestDaemon> {
  mkdirSync('/run/kuryr-lab/test', { recursive: true });
  const conf = `/run/kuryr-lab/test/${name}.conf`;
  const socket = opts.socket ?? `/run/docker/plugins/${name}.sock`;
  writeFileSync(conf, `[DEFAULT]\nplugin_socket = ${socket}\n${extraConf}\n`);
  const argv = [process.execPath, '--max-semi-space-size=1', `${REPO}packages/kuryr/bin/kuryr.js`, 'daemon', '--config-file', '/etc/kuryr-lab/kuryr.conf', '--config-file', conf];
  const [cmd, ...args] = [...(opts.prefix ?? []), ...argv];
  const child: ChildProcess = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(`daemon ${name} socket`, async () => existsSync(socket), 20_000);
  return {
    name,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
