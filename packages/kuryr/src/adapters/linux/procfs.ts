/**
 * ProcView over the real /proc (Linux): command lines, cwd, root, mount
 * namespace and $HOME of processes, their open sockets, and the listening
 * unix sockets of this network namespace (/proc/net/unix). Anything that
 * cannot be read (a process gone, no permission) is undefined.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { ProcView } from '../../ports/proc-view.js';

const tryRead = <T>(fn: () => T): T | undefined => {
  try {
    return fn();
  } catch {
    return undefined;
  }
};
const link = (path: string): string | undefined => tryRead(() => readlinkSync(path));
const nulSeparated = (path: string): string[] | undefined =>
  tryRead(() => readFileSync(path, 'utf8').replace(/\0$/, '').split('\0'));

/** `/proc/net/unix`: listening (flag __SO_ACCEPTCON) sockets with a file system path. */
export function parseProcNetUnix(text: string): Map<string, number[]> {
  const listeners = new Map<string, number[]>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const path = f.slice(7).join(' ');
    if (!path.startsWith('/') || (parseInt(f[3]!, 16) & 0x10000) === 0) continue;
    listeners.set(path, [...(listeners.get(path) ?? []), Number(f[6])]);
  }
  return listeners;
}

export const procfs: ProcView = {
  self: process.pid,
  pids: () => readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number),
  cmdline: (pid) => {
    const argv = nulSeparated(`/proc/${pid}/cmdline`);
    return argv && argv[0] ? argv : undefined; // kernel threads have an empty command line
  },
  cwd: (pid) => link(`/proc/${pid}/cwd`),
  root: (pid) => link(`/proc/${pid}/root`),
  mountNs: (pid) => link(`/proc/${pid}/ns/mnt`),
  home: (pid) => nulSeparated(`/proc/${pid}/environ`)?.find((e) => e.startsWith('HOME='))?.slice(5),
  socketInodes: (pid) =>
    tryRead(() => {
      const inodes = new Set<number>();
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(link(`/proc/${pid}/fd/${fd}`) ?? '');
        if (m) inodes.add(Number(m[1]));
      }
      return inodes;
    }),
  unixListeners: () => tryRead(() => parseProcNetUnix(readFileSync('/proc/net/unix', 'utf8'))) ?? new Map(),
};
