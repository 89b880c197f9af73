/**
 * The bench's knobs (environment variables; defaults are those of the
 * committed results) and the names of what one run makes.
 */

export interface BenchParams {
  /** latency repetitions (BENCH_REPS) */
  reps: number;
  /** repetitions of each single-stack operation in the call counts (BENCH_COUNT_REPS) */
  countReps: number;
  /** containers started at once (BENCH_CONCURRENCY) */
  concurrency: number;
  /** networks of the scale phase (BENCH_NETWORKS) */
  networks: number;
  networkConcurrency: number;
  /** most attach/detach cycles of the scale phase (BENCH_CYCLES) */
  cycles: number;
  cycleConcurrency: number;
  minCycles: number;
  /** the cycles stop early to keep the run within this (BENCH_BUDGET_S) */
  budgetS: number;
  /** fewer networks are made only if they would not fit in this (BENCH_HARD_BUDGET_S) */
  hardBudgetS: number;
  phases: string[];
  /** results folder (BENCH_OUT) */
  out: string;
  /** the lab's neutron-server api_workers: how many Neutron calls can be served at the same time */
  neutronApiWorkers: number;
}

/** The knobs from the environment. The key order is the report's (meta.params in the JSON). */
export function readParams(env: NodeJS.ProcessEnv, defaults: { out: string; neutronApiWorkers: number }): BenchParams {
  const num = (k: string, d: number): number => (env[k] ? Number(env[k]) : d);
  return {
    reps: num('BENCH_REPS', 30),
    countReps: num('BENCH_COUNT_REPS', 2),
    concurrency: num('BENCH_CONCURRENCY', 50),
    networks: num('BENCH_NETWORKS', 200),
    networkConcurrency: num('BENCH_NETWORK_CONCURRENCY', 4),
    cycles: num('BENCH_CYCLES', 500),
    cycleConcurrency: num('BENCH_CYCLE_CONCURRENCY', 4),
    minCycles: num('BENCH_MIN_CYCLES', 20),
    budgetS: num('BENCH_BUDGET_S', 840),
    hardBudgetS: num('BENCH_HARD_BUDGET_S', 1320),
    phases: (env.BENCH_PHASES ?? 'calls,latency,concurrency,scale').split(',').map((s) => s.trim()),
    out: env.BENCH_OUT ?? defaults.out,
    neutronApiWorkers: defaults.neutronApiWorkers,
  };
}

export interface RunNames {
  /** prefix of every container and network name of the run */
  run: string;
  /** Docker driver name of the measured daemon (BENCH_DRIVER, socket /run/docker/plugins/<driver>.sock) */
  driver: string;
  image: string;
  /** Plugin-protocol network ids share their first 8 hex digits, so their Neutron names (kuryr-net-<NID[0:8]>) are one sweepable name. */
  nidPrefix: string;
}

export function runNames(pid: number, env: NodeJS.ProcessEnv): RunNames {
  return {
    run: `kb${pid.toString(36)}`,
    driver: env.BENCH_DRIVER ?? 'kbench',
    image: 'kuryr/busybox:latest',
    nidPrefix: `be${(pid % 0xffffff).toString(16).padStart(6, '0')}`,
  };
}
