/**
 * Extra kuryr daemons for integration tests: same Neutron and host as the
 * lab's daemon, another plugin socket (so Docker knows it under another
 * driver name) and extra config. Started and stopped by pid.
 */
import { startKuryrDaemon } from '../lab-support/kuryr-daemon.js';

export interface TestDaemon {
  name: string;
  stop(): Promise<void>;
}

/** A daemon startDaemon started: its process too (a `prefix` command must exec it, as env and setpriv do). */
export interface StartedDaemon extends TestDaemon {
  pid: number;
}

export interface StartOptions {
  /** A command the daemon runs under, e.g. setpriv with a capability bounding set. */
  prefix?: string[];
  /** Plugin socket path (default /run/docker/plugins/<name>.sock, i.e. Docker driver <name>). */
  socket?: string;
  /** The daemon's command before its config files, e.g. an installed `kuryr-server` (default: this checkout's `kuryr daemon`). */
  command?: string[];
  /** Up once this says so too (the socket exists first). A socket file left by a killed daemon exists already: probe it. */
  ready?: () => Promise<boolean>;
}

export async function startDaemon(name: string, extraConf: string, opts: StartOptions = {}): Promise<StartedDaemon> {
  const socket = opts.socket ?? `/run/docker/plugins/${name}.sock`;
  const daemon = await startKuryrDaemon({
    name,
    confFile: `/run/kuryr-lab/test/${name}.conf`,
    conf: `[DEFAULT]\nplugin_socket = ${socket}\n${extraConf}\n`,
    socket,
    prefix: opts.prefix,
    command: opts.command,
    readyTimeoutMs: 20_000,
    ready: opts.ready,
  });
  return { name, pid: daemon.pid, stop: () => daemon.stop() };
}
