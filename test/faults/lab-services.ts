/**
 * The lab's services as the fault scenarios break them, always by the pid in
 * the lab's pid files (lab/lib.sh, lab/up.sh), never by name:
 *  - pause / resume a service's whole process group (SIGSTOP / SIGCONT; the
 *    lab starts each with setsid, so its pgid is its pid): the service stops
 *    answering but keeps its sockets, as a hung or partitioned API does. A
 *    watchdog of our own resumes it even if the test process dies first;
 *  - dockerd: SIGTERM by pid, then started again with the very command line
 *    and PATH it had, through lib.sh's `spawn` (its pid file, its log);
 *  - ovs-vswitchd: SIGKILL by pid (a crash), then started again with the very
 *    command line and environment it had (as ovs-ctl started it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { REPO } from '../lab-support/lab-host.js';
import { exec } from '../lab-support/exec.js';
import { sh } from '../integration/support.js';

export const PID_FILES = {
  neutron: { file: '/run/kuryr-lab/neutron-server.pid', name: 'neutron-server' },
  keystone: { file: '/run/kuryr-lab/keystone.pid', name: 'uwsgi' },
  dockerd: { file: '/run/kuryr-lab/dockerd.pid', name: 'dockerd' },
  vswitchd: { file: '/var/run/openvswitch/ovs-vswitchd.pid', name: 'ovs-vswitchd' },
} as const;
export type LabService = keyof typeof PID_FILES;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export const alive = (pid: number): boolean => {
  const s = processState(pid);
  return s !== undefined && s !== 'Z';
};

/** The pid in a lab pid file, if that process runs and its command line names `name`. */
export function labPid(service: LabService): number | undefined {
  const { file, name } = PID_FILES[service];
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]!.trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function requireLabPid(service: LabService): number {
  const pid = labPid(service);
  if (pid === undefined) throw new Error(`the lab's ${service} is not running (no live ${PID_FILES[service].name} in ${PID_FILES[service].file})`);
  return pid;
}

/** Why a scenario that breaks `services` cannot run here, or false. */
export function cannotBreak(...services: LabService[]): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const s of services) if (labPid(s) === undefined) return `the lab's ${s} is not running from its pid file (${PID_FILES[s].file}): not the lab's to break`;
  return false;
}

/**
 * A paused process group: SIGSTOP now, SIGCONT on resume() — or, whatever
 * happens to this process, from a detached watchdog after `maxS` seconds, or
 * at this process's exit.
 */
export class PausedService {
  readonly #pgid: number;
  readonly #watchdog: ChildProcess;
  readonly #onExit: () => void;
  #resumed = false;

  constructor(
    readonly service: LabService,
    maxS: number,
  ) {
    this.#pgid = requireLabPid(service);
    // The watchdog: a shell of its own session (detached: pgid = its pid), killed by that pid on resume().
    this.#watchdog = spawn('sh', ['-c', `sleep ${maxS}; kill -CONT -- -${this.#pgid}`], { detached: true, stdio: 'ignore' });
    this.#watchdog.unref();
    this.#onExit = () => this.#cont();
    process.once('exit', this.#onExit);
    process.kill(-this.#pgid, 'SIGSTOP');
  }

  #cont(): void {
    try {
      process.kill(-this.#pgid, 'SIGCONT');
    } catch {
      /* gone */
    }
  }

  get paused(): boolean {
    return !this.#resumed;
  }

  resume(): void {
    if (this.#resumed) return;
    this.#resumed = true;
    this.#cont();
    process.removeListener('exit', this.#onExit);
    try {
      if (this.#watchdog.pid !== undefined) process.kill(-this.#watchdog.pid, 'SIGKILL');
    } catch {
      /* already done */
    }
  }
}

/** How a process was started: its argv and environment (from /proc). */
interface Launch {
  argv: string[];
  env: Record<string, string>;
}

function launchOf(pid: number): Launch {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { argv, env };
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out (${timeoutMs / 1000} s) waiting for ${what}`);
    await sleep(200);
  }
  return performance.now() - t0;
}

const labBash = (script: string, args: string[] = []): Promise<string> =>
  sh('bash', ['-c', `set -euo pipefail; . "${REPO}lab/lib.sh"; ${script}`, 'faults', ...args], 180_000);

export const dockerAnswers = async (): Promise<boolean> => (await exec('docker', ['version', '--format', '{{.Server.Version}}'], 10_000)).ok;

/** The lab's dockerd, restarted by its pid as lab/lib.sh stops it and lab/up.sh starts it. */
export class DockerdRestart {
  #launch: Launch | undefined;

  /** SIGTERM by pid; waits for it and its descendants (containerd, shims) to go. Returns ms. */
  async stop(): Promise<number> {
    const pid = requireLabPid('dockerd');
    this.#launch = launchOf(pid);
    const t0 = performance.now();
    await labBash(`
      pid=$1
      kids=$(descendants "$pid" | tr '\\n' ' ')
      declare -A kidcmd=()
      for p in $kids; do kidcmd[$p]=$(tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true); done
      kill -TERM "$pid"
      wait_gone "$pid" 90 || die "dockerd (pid $pid) still alive after 90 s"
      for p in $kids; do
        wait_gone "$p" 10 && continue
        if [ "$(tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true)" = "\${kidcmd[$p]}" ]; then kill -KILL "$p" || true; fi
      done`, [String(pid)]);
    return performance.now() - t0;
  }

  /**
   * SIGKILL by pid: a crash. Its containerd follows (its parent-death signal);
   * the shims, and the containers in them, stay for the next dockerd to find.
   */
  async kill(): Promise<number> {
    const pid = requireLabPid('dockerd');
    this.#launch = launchOf(pid);
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    if (!(await waitGone(pid, 10_000))) throw new Error(`dockerd (pid ${pid}) survived SIGKILL`);
    return performance.now() - t0;
  }

  /** Starts it again as it was (its pid file, its log, its PATH); waits until it answers. Returns ms. */
  async start(): Promise<number> {
    const l = this.#launch;
    if (!l) throw new Error('dockerd was not stopped by this test');
    const t0 = performance.now();
    await labBash('spawn "$DOCKERD_PID" "$LOGDIR/dockerd.log" env PATH="$1" "${@:2}"', [l.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...l.argv]);
    await waitUntil('Docker to answer', dockerAnswers, 120_000);
    return performance.now() - t0;
  }

  /** For `after`: started again if this test stopped it and it is not running. */
  async restore(): Promise<void> {
    if (this.#launch && labPid('dockerd') === undefined) await this.start();
  }
}

const ovsAnswers = async (): Promise<boolean> => (await exec('ovs-vsctl', ['--timeout=5', 'show'], 10_000)).ok;

/** The lab's ovs-vswitchd (userspace datapath), crashed by its pid and started again as it was. */
export class VswitchdRestart {
  #launch: Launch | undefined;

  /** SIGKILL by pid; waits for it to go. */
  async kill(): Promise<void> {
    const pid = requireLabPid('vswitchd');
    this.#launch = launchOf(pid);
    process.kill(pid, 'SIGKILL');
    if (!(await waitGone(pid, 10_000))) throw new Error(`ovs-vswitchd (pid ${pid}) survived SIGKILL`);
  }

  /**
   * Starts it again with its own command line (it detaches and writes its pid
   * file), unless its --monitor parent already restarted it. Returns ms until
   * it answers with its bridges.
   */
  async start(): Promise<number> {
    const l = this.#launch;
    if (!l) throw new Error('ovs-vswitchd was not killed by this test');
    const t0 = performance.now();
    await sleep(500);
    if (labPid('vswitchd') === undefined) {
      const [cmd, ...args] = l.argv;
      // No pipes: with --detach the first process exits once the daemon is ready; its children keep no stdio of ours.
      const child = spawn(cmd!, args, { env: l.env, stdio: 'ignore', detached: true });
      const code = await new Promise<number | string>((resolve) => {
        child.once('error', (err) => resolve(err.message));
        child.once('exit', (c, sig) => resolve(c ?? sig ?? -1));
      });
      if (code !== 0) throw new Error(`ovs-vswitchd did not start again (${l.argv.join(' ')}): ${code}`);
    }
    await waitUntil('ovs-vswitchd to run from its pid file', async () => labPid('vswitchd') !== undefined, 30_000);
    await waitUntil('ovs-vsctl to answer', ovsAnswers, 30_000);
    return performance.now() - t0;
  }

  async restore(): Promise<void> {
    if (this.#launch && labPid('vswitchd') === undefined) await this.start();
  }
}
