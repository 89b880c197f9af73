/**
 * A kuryr daemon of one's own next to the lab's: the lab's kuryr.conf (Neutron,
 * Keystone, host id) plus one more config file (another plugin socket, so
 * Docker knows it under another driver name, and any other option). Started
 * and stopped by pid; a daemon that exits or does not come up in time is an
 * error naming it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LAB_KURYR_CONF, REPO } from './lab-host.js';

export interface KuryrDaemonOptions {
  /** for messages */
  name: string;
  /** the extra config file, written here, read after the lab's kuryr.conf */
  confFile: string;
  conf: string;
  /** the plugin socket the extra config sets: the daemon is up once it exists (and `ready` says so) */
  socket: string;
  /** a command the daemon runs under, e.g. `ip netns exec <ns>` */
  prefix?: readonly string[] | undefined;
  /** the daemon's command, before the config files (default: this checkout's `node bin/kuryr.js daemon`) */
  command?: readonly string[] | undefined;
  readyTimeoutMs: number;
  /** a further readiness probe once the socket exists */
  ready?: (() => Promise<boolean>) | undefined;
  /** the daemon's log file, named when it exits early */
  logFile?: string | undefined;
}

export interface KuryrDaemon {
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Node flags of an entry point's `#!/usr/bin/env -S node …` line (the daemon's V8 flags). */
export function shebangFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n')[0]!;
  return first.replace(/^#!\/usr\/bin\/env -S node\s*/, '').split(/\s+/).filter(Boolean);
}

export async function startKuryrDaemon(o: KuryrDaemonOptions): Promise<KuryrDaemon> {
  mkdirSync(dirname(o.confFile), { recursive: true });
  writeFileSync(o.confFile, o.conf);
  const bin = `${REPO}packages/kuryr/bin/kuryr.js`;
  const command = o.command ?? [process.execPath, ...shebangFlags(bin), bin, 'daemon'];
  const argv = [...command, '--config-file', LAB_KURYR_CONF, '--config-file', o.confFile];
  const [cmd, ...args] = [...(o.prefix ?? []), ...argv];
  const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (running()) child.kill('SIGTERM');
    // The 10 s timer goes with the daemon: a pending one would keep the test process alive that long after its last test.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    if (running()) child.kill('SIGKILL');
  };
  const deadline = Date.now() + o.readyTimeoutMs;
  while (!existsSync(o.socket) || (o.ready !== undefined && !(await o.ready()))) {
    if (!running()) throw new Error(`kuryr daemon ${o.name} exited (${child.exitCode ?? child.signalCode})${o.logFile ? `; see ${o.logFile}` : ''}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kuryr daemon ${o.name} did not answer on ${o.socket} within ${o.readyTimeoutMs / 1000} s`);
    }
    await sleep(100);
  }
  return { pid: child.pid!, stop };
}
