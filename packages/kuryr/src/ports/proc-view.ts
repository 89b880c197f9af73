/**
 * What doctor reads of /proc to find the running daemon (real implementation
 * in adapters/linux/procfs.ts; tests pass a fake). Every method answers
 * undefined when it cannot read (no such process, no permission).
 */
export interface ProcView {
  readonly self: number;
  pids(): number[];
  cmdline(pid: number): string[] | undefined;
  cwd(pid: number): string | undefined;
  /** The process's root directory (`/` unless chrooted or in a container). */
  root(pid: number): string | undefined;
  mountNs(pid: number): string | undefined;
  /** $HOME of the process. */
  home(pid: number): string | undefined;
  /** Inodes of the sockets the process has open. */
  socketInodes(pid: number): ReadonlySet<number> | undefined;
  /** Listening unix sockets with a path: path → inodes. */
  unixListeners(): ReadonlyMap<string, readonly number[]>;
}
