/**
 * Which configuration `kuryr doctor` checks when given no --config-file or
 * --config-dir: the one the running daemon uses. The daemon is found through
 * /proc (a node process running kuryr.js `daemon` or kuryr-server): the one
 * holding the listening socket /run/docker/plugins/kuryr.sock, else the only
 * one in doctor's mount namespace. Its --config-file/--config-dir arguments
 * are resolved as the daemon resolved them (its cwd, its home, oslo's default
 * files), and read through /proc/PID/root when it runs under another root (a
 * managed plugin). No daemon found: oslo's default files, as `kuryr daemon`
 * with no flags would read. /proc is read through ProcView (ports/proc-view.ts).
 */
import { basename } from 'node:path';
import { configFiles, localFs, progName, type ConfigFs, type ConfigSearch, type ConfigSource } from '../config/config-files.js';
import type { ReadFile } from '../config/kuryr-config.js';
import { readFileSync } from 'node:fs';
import type { ProcView } from '../ports/proc-view.js';

export const DEFAULT_SOCKET = '/run/docker/plugins/kuryr.sock';

/** A kuryr-ts daemon command line: the script and its --config-file/--config-dir arguments, in order. */
export interface DaemonCommand {
  readonly script: string;
  readonly sources: readonly ConfigSource[];
}

/** Node options that take the next argument as their value. */
const NODE_VALUE_OPTIONS = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '--env-file', '--conditions', '-C', '--inspect-port']);

export function parseDaemonCommand(argv: readonly string[]): DaemonCommand | undefined {
  if (argv.length < 2 || !/^node(js)?[\d.-]*$/.test(basename(argv[0]!))) return undefined;
  let i = 1;
  while (i < argv.length && argv[i]!.startsWith('-')) i += NODE_VALUE_OPTIONS.has(argv[i]!) ? 2 : 1;
  const script = argv[i];
  if (!script) return undefined;
  const name = basename(script).replace(/\.js$/, '');
  let args: readonly string[];
  if (name === 'kuryr-server') args = argv.slice(i + 1);
  else if (name === 'kuryr' && argv[i + 1] === 'daemon') args = argv.slice(i + 2);
  else return undefined;
  const sources: ConfigSource[] = [];
  for (let j = 0; j < args.length; j++) {
    const m = /^--config-(file|dir)(?:=(.*))?$/.exec(args[j]!);
    if (!m) continue;
    const path = m[2] ?? args[++j];
    if (path !== undefined) sources.push({ kind: m[1] as 'file' | 'dir', path });
  }
  return { script, sources };
}

export interface RunningDaemon extends DaemonCommand {
  readonly pid: number;
  readonly argv: readonly string[];
  /** Why this one: it holds the plugin socket, or it is the only one. */
  readonly reason: string;
  /** Other kuryr-ts daemons on this host (e.g. in other namespaces). */
  readonly others: readonly number[];
}

export function findRunningDaemon(proc: ProcView, socket = DEFAULT_SOCKET): RunningDaemon | undefined {
  const candidates = proc
    .pids()
    .filter((pid) => pid !== proc.self)
    .flatMap((pid) => {
      const argv = proc.cmdline(pid);
      const cmd = argv && parseDaemonCommand(argv);
      return cmd ? [{ pid, argv, ...cmd }] : [];
    });
  if (candidates.length === 0) return undefined;
  const others = (pid: number): number[] => candidates.map((c) => c.pid).filter((p) => p !== pid);

  const inodes = proc.unixListeners().get(socket) ?? [];
  const holder = candidates.find((c) => {
    const open = proc.socketInodes(c.pid);
    return open !== undefined && inodes.some((i) => open.has(i));
  });
  if (holder) return { ...holder, reason: `it holds ${socket}`, others: others(holder.pid) };

  const ownNs = proc.mountNs(proc.self);
  const here = candidates.filter((c) => {
    const ns = proc.mountNs(c.pid);
    return ns === undefined || ownNs === undefined || ns === ownNs;
  });
  if (here.length === 0) return undefined;
  const pick = here.reduce((a, b) => (b.pid < a.pid ? b : a));
  return {
    ...pick,
    reason: `${here.length === 1 ? 'the only kuryr-ts daemon here' : `the lowest pid of ${here.length} kuryr-ts daemons here`}; none is seen holding ${socket}`,
    others: others(pick.pid),
  };
}

/** The configuration doctor checks: the files in reading order, how to read them, and why these. */
export interface ConfigChoice {
  readonly files: readonly string[];
  readonly read?: ReadFile;
  readonly why: string;
  /** The files could not be listed (e.g. a --config-dir that does not exist). */
  readonly error?: unknown;
}

function resolved(why: string, list: () => string[], read?: ReadFile): ConfigChoice {
  try {
    return { files: list(), why, ...(read ? { read } : {}) };
  } catch (error) {
    return { files: [], why, error };
  }
}

/** A ConfigFs/ReadFile that sees paths as a process with that root does. */
function under(root: string | undefined, pid: number): { fs: ConfigFs; read?: ReadFile; note: string } {
  if (root === undefined || root === '/') return { fs: localFs, note: '' };
  const at = (p: string): string => `/proc/${pid}/root${p}`;
  return {
    fs: { exists: (p) => localFs.exists(at(p)), isDir: (p) => localFs.isDir(at(p)), isFile: (p) => localFs.isFile(at(p)), list: (d) => localFs.list(at(d)) },
    read: (p) => readFileSync(at(p), 'utf8'),
    note: `, read through /proc/${pid}/root`,
  };
}

/**
 * Doctor's choice: the flags given, else the running daemon's, else oslo's
 * defaults. `search` is doctor's own cwd/home (for given flags and the fallback).
 */
export function chooseConfig(given: readonly ConfigSource[], proc: ProcView, search: Omit<ConfigSearch, 'prog'>): ConfigChoice {
  if (given.length > 0) return resolved('the --config-file/--config-dir given', () => configFiles(given, { ...search, prog: 'kuryr' }));
  const daemon = findRunningDaemon(proc);
  if (daemon) {
    const { fs, read, note } = under(proc.root(daemon.pid), daemon.pid);
    const cwd = proc.cwd(daemon.pid);
    const others = daemon.others.length > 0 ? `; other kuryr-ts daemons: pid ${daemon.others.join(', ')} (check one with --config-file)` : '';
    const why = `the running daemon's: pid ${daemon.pid} (${daemon.reason}), ${daemon.argv.join(' ')}${cwd ? '' : ' (its cwd is unreadable: relative paths taken from here)'}${note}${others}`;
    const daemonSearch = { prog: progName(daemon.script), home: proc.home(daemon.pid) ?? search.home, cwd: cwd ?? search.cwd, fs };
    return resolved(why, () => configFiles(daemon.sources, daemonSearch), read);
  }
  return resolved('no running kuryr-ts daemon found: the default files, as `kuryr daemon` with no flags reads', () => configFiles([], { ...search, prog: 'kuryr' }));
}
