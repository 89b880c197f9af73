/**
 * A kuryr daemon of the fault suite's own, started as test/integration/daemons.ts
 * starts its daemons (the lab's kuryr.conf plus one more file: its own plugin
 * socket, so Docker knows it under its own driver name; the lab's daemon is
 * never touched), that can be killed with SIGKILL and started again on the
 * same socket, asked for a reconciliation (`kuryr reconcile`), and measured
 * from /proc (RSS, open file descriptors).
 *
 * Its config: no automatic reconciliation (the tests run `kuryr reconcile`
 * when nothing is in flight), a short grace period (so that the leftovers of
 * a crash a few seconds old are removed), a bounded Neutron timeout.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { startKuryrDaemon, type KuryrDaemon } from '../lab-support/kuryr-daemon.js';
import { runReconcile } from '../lab-support/kuryr-reconcile.js';
import { kuryrStats, type KuryrStats } from '../lab-support/plugin-socket.js';
import { knobs } from './knobs.js';

export const FAULT_LOG_DIR = '/var/log/kuryr-lab/faults';

/** `kuryr reconcile --json`'s report, the parts the suite reads. */
export interface ReconcileFinding {
  kind: string;
  id: string;
  what: string;
  outcome: string;
  reason: string;
}
export interface ReconcileReport {
  findings: ReconcileFinding[];
  skipped: string[];
  complete: boolean;
  durationMs: number;
}

export interface ReconcileRun {
  status: number;
  report: ReconcileReport;
  /** removed (or reset) per kind, over every pass */
  removed: Record<string, number>;
  ms: number;
  /** passes run: 2 when the first left something only because it had just changed */
  passes: number;
}

/** A finding the next pass judges again: the object changed within the grace period, or during the pass. */
const judgedLater = (f: ReconcileReport['findings'][number]): boolean => f.outcome === 'left' && /within the grace period|changed meanwhile/.test(f.reason);

export interface FaultDaemonOptions {
  /** more config lines (sections allowed) after the suite's own */
  extraConf?: string;
  /** [neutron] timeout (s); default the KURYR_FAULTS_NEUTRON_TIMEOUT_S knob */
  neutronTimeoutS?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export class FaultDaemon {
  readonly socket: string;
  readonly confFile: string;
  readonly logFile: string;
  readonly conf: string;
  #daemon: KuryrDaemon | undefined;
  /** SIGKILLs sent so far */
  kills = 0;
  /** time from spawn to the socket answering, per start (ms) */
  readonly startMs: number[] = [];

  constructor(
    readonly name: string,
    opts: FaultDaemonOptions = {},
  ) {
    this.socket = `/run/docker/plugins/${name}.sock`;
    this.confFile = `/run/kuryr-lab/test/${name}.conf`;
    this.logFile = `${FAULT_LOG_DIR}/${name}.log`;
    this.conf = [
      '[DEFAULT]',
      `plugin_socket = ${this.socket}`,
      `log_file = ${this.logFile}`,
      'reconcile_interval = 0',
      `reconcile_grace_period = ${knobs.graceS}`,
      '[neutron]',
      `timeout = ${opts.neutronTimeoutS ?? knobs.neutronTimeoutS}`,
      opts.extraConf ?? '',
      '',
    ].join('\n');
  }

  get pid(): number {
    if (!this.#daemon) throw new Error(`kuryr daemon ${this.name} is not running`);
    return this.#daemon.pid;
  }

  get running(): boolean {
    return this.#daemon !== undefined && alive(this.#daemon.pid);
  }

  async start(): Promise<void> {
    mkdirSync(FAULT_LOG_DIR, { recursive: true });
    const t0 = performance.now();
    this.#daemon = await startKuryrDaemon({
      name: this.name,
      confFile: this.confFile,
      conf: this.conf,
      socket: this.socket,
      readyTimeoutMs: 30_000,
      logFile: this.logFile,
      // The socket file survives a SIGKILL: ready once it answers, not once it exists.
      ready: async () => kuryrStats(this.socket, 2000).then(() => true, () => false),
    });
    this.startMs.push(performance.now() - t0);
  }

  /** Waits until the daemon has found Neutron (its probe), after a start. */
  async neutronReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats().catch(() => undefined);
      if (s?.neutronReady) return;
      if (Date.now() > deadline) throw new Error(`kuryr daemon ${this.name}: Neutron not ready after ${timeoutMs / 1000} s (see ${this.logFile})`);
      await sleep(250);
    }
  }

  /** kill -9: nothing runs after it (no shutdown, the socket file stays). */
  async kill9(): Promise<void> {
    const pid = this.pid;
    process.kill(pid, 'SIGKILL');
    this.kills++;
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
    if (alive(pid)) throw new Error(`kuryr daemon ${this.name} (pid ${pid}) survived SIGKILL`);
    this.#daemon = undefined;
  }

  async stop(): Promise<void> {
    await this.#daemon?.stop();
    this.#daemon = undefined;
  }

  stats(timeoutMs = 5000): Promise<KuryrStats> {
    return kuryrStats(this.socket, timeoutMs);
  }

  /** VmRSS in MiB and the number of open file descriptors, from /proc. */
  usage(): { rssMiB: number; fds: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    return { rssMiB: Math.round((kb / 1024) * 10) / 10, fds: readdirSync(`/proc/${this.pid}/fd`).length };
  }

  /**
   * `kuryr reconcile --json [--dry-run]` with this daemon's config (the
   * daemon runs the pass), as its periodic passes would do it: when a
   * pass left something only because it had just changed (Neutron itself
   * changes a port, e.g. OVN reporting it down seconds after its veth went),
   * once more after the grace period. The report is the last pass's.
   */
  async reconcile(dryRun = false): Promise<ReconcileRun> {
    const t0 = performance.now();
    const removed: Record<string, number> = {};
    for (let passes = 1; ; passes++) {
      const { status, report } = await runReconcile<ReconcileReport>(this.confFile, { dryRun, timeoutMs: 600_000 });
      for (const f of report.findings) if (f.outcome === 'removed' || f.outcome === 'reset') removed[f.kind] = (removed[f.kind] ?? 0) + 1;
      if (passes === 2 || dryRun || !report.findings.some(judgedLater)) return { status, report, removed, ms: performance.now() - t0, passes };
      await sleep((knobs.graceS + 2) * 1000);
    }
  }
}

/** "3 port, 1 host" — a reconcile's removals in one line. */
export function removedText(rec: ReconcileRun): string {
  const parts = Object.entries(rec.removed).map(([k, n]) => `${n} ${k}`);
  const left = rec.report.findings.filter((f) => f.outcome === 'left');
  const removed = `${parts.length > 0 ? parts.join(', ') : 'nothing'}${rec.passes > 1 ? ` in ${rec.passes} passes` : ''}`;
  if (left.length === 0) return removed;
  // what the pass left, with its reasons: the first few, so that a leak in the figures below explains itself
  const shown = left.slice(0, 4).map((f) => `${f.kind} ${f.id.slice(0, 8)}: ${f.reason}`);
  return `${removed}; left ${left.length} (${shown.join('; ')}${left.length > shown.length ? '; …' : ''})`;
}
