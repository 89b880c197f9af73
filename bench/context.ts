/**
 * One run's state, made in main and handed to each phase: its knobs and
 * names, the counting proxy, Neutron, the log, the daemon's progress (operations
 * served, phase, RSS and fds over time), what the run has made (for cleanup),
 * and the results so far.
 */
import type { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { procReading, type BenchDaemon, type ProcReading } from './lab.js';
import type { NullDriver } from './null-driver.js';
import type { BenchParams, RunNames } from './params.js';
import type { PluginNetworks } from './plugin-nets.js';
import type { CountingProxy } from './proxy.js';
import type { QuotaRaise } from './quota.js';
import type { Results, TimelinePoint } from './report.js';
import { r1 } from './stats.js';

export class Clock {
  readonly started = performance.now();

  elapsedS(): number {
    return (performance.now() - this.started) / 1000;
  }
}

export type Log = (msg: string) => void;

export function consoleLog(clock: Clock): Log {
  return (msg) => console.log(`[bench ${clock.elapsedS().toFixed(0).padStart(4)} s] ${msg}`);
}

/** Docker-level operations the bench daemon has served (network create/rm, attach, detach, connect, disconnect), the phase running, and the daemon's RSS and fds over the run. */
export class Progress {
  ops = 0;
  phase = 'startup';
  readonly timeline: TimelinePoint[] = [];
  #pid: number | undefined;

  constructor(readonly clock: Clock) {}

  /** The daemon whose RSS and fds are sampled from now on. */
  watch(pid: number): void {
    this.#pid = pid;
  }

  sample(): void {
    if (this.#pid === undefined) return;
    try {
      this.timeline.push({ t: r1(this.clock.elapsedS()), ops: this.ops, phase: this.phase, ...procReading(this.#pid) });
    } catch {
      /* the daemon is gone */
    }
  }
}

/** What the run has made and not yet removed: cleanup removes it, after a failure or a signal too. */
export interface Made {
  /** Docker ids of the kuryr networks made through Docker (their Neutron networks are checked for leaks) */
  readonly dockerNetworkIds: Set<string>;
  /** the measured daemon, while it runs */
  daemon?: BenchDaemon | undefined;
  /** networks and endpoints made on the measured daemon through the plugin protocol */
  pluginNets?: PluginNetworks | undefined;
  /** the latency phase's port-pool daemon and null remote driver, while they run */
  poolDaemon?: BenchDaemon | undefined;
  /** the port-pool daemon's RSS and fds once started, idle (bench/pools.ts) */
  poolDaemonFresh?: ProcReading | undefined;
  nullDriver?: NullDriver | undefined;
  /** the latency phase's daemon with `[DEFAULT] delete_ports_after_reply = true` (no pools), while it runs */
  afterReplyDaemon?: BenchDaemon | undefined;
  /** Neutron quotas raised for the scale phase */
  readonly quota: QuotaRaise;
}

/** The run before its daemon is up. */
export interface Lab {
  readonly params: BenchParams;
  readonly names: RunNames;
  readonly proxy: CountingProxy;
  readonly neutron: NeutronClient;
  readonly clock: Clock;
  readonly log: Log;
  readonly progress: Progress;
  readonly made: Made;
  readonly results: Partial<Results>;
}

/** What a phase gets: the run with its daemon up. */
export interface BenchContext extends Lab {
  readonly daemon: BenchDaemon;
  readonly pluginNets: PluginNetworks;
}
