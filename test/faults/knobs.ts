/**
 * The fault suite's knobs (environment variables) and their defaults: the
 * defaults are what `KURYR_FAULTS=1 npm test` runs; scale them up for a longer soak, down
 * for a quick look. Every scenario draws its random choices from the seed.
 */
import { REPO } from '../lab-support/lab-host.js';

function text(name: string, fallback: string): string {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
}

function int(name: string, fallback: number, min = 0): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${v}: want an integer >= ${min}`);
  return n;
}

export const knobs = {
  /** KURYR_FAULTS_SEED: every random choice (kill moments, operations, fuzzed requests) follows from it. */
  seed: text('KURYR_FAULTS_SEED', 'kuryr-faults'),
  /** KURYR_FAULTS_CHURN_OPS: container starts + removals during the kill -9 churn (at least 100). */
  churnOps: int('KURYR_FAULTS_CHURN_OPS', 100, 1),
  /** KURYR_FAULTS_CHURN_WORKERS: docker commands in flight at once during the churn. */
  churnWorkers: int('KURYR_FAULTS_CHURN_WORKERS', 4, 1),
  /** KURYR_FAULTS_KILL_GAP_S: a kill -9 every N/2..N seconds (seeded) during the churn. */
  killGapS: int('KURYR_FAULTS_KILL_GAP_S', 12, 4),
  /** KURYR_FAULTS_BURST: containers started at once, then removed at once, with a kill -9 in each half. */
  burst: int('KURYR_FAULTS_BURST', 50, 2),
  /** KURYR_FAULTS_OUTAGE_S: how long Neutron, then Keystone, stop answering. */
  outageS: int('KURYR_FAULTS_OUTAGE_S', 30, 5),
  /** KURYR_FAULTS_FUZZ: requests sent to the plugin socket. */
  fuzzRequests: int('KURYR_FAULTS_FUZZ', 10_000, 1),
  /** KURYR_FAULTS_FUZZ_FLOWS: real call sequences sent in a wrong order (each followed by Docker's teardown). */
  fuzzFlows: int('KURYR_FAULTS_FUZZ_FLOWS', 16, 0),
  /** KURYR_FAULTS_FUZZ_CONCURRENCY: fuzzed requests in flight at once. */
  fuzzConcurrency: int('KURYR_FAULTS_FUZZ_CONCURRENCY', 8, 1),
  /** KURYR_FAULTS_GRACE_S: the test daemons' reconcile_grace_period. */
  graceS: int('KURYR_FAULTS_GRACE_S', 10, 1),
  /** KURYR_FAULTS_NEUTRON_TIMEOUT_S: the test daemons' [neutron] timeout. */
  neutronTimeoutS: int('KURYR_FAULTS_NEUTRON_TIMEOUT_S', 10, 1),
  /** KURYR_FAULTS_COMMAND_BOUND_S: no docker command may take longer (else: a wedge). */
  commandBoundS: int('KURYR_FAULTS_COMMAND_BOUND_S', 120, 10),
  /** KURYR_FAULTS_EXTRA=1: also the scenarios left out of the default run (docs/faults.md says which and why). */
  extra: process.env.KURYR_FAULTS_EXTRA === '1',
  /** KURYR_FAULTS_RESULTS: where each scenario writes its figures (the report is built from them). */
  resultsDir: text('KURYR_FAULTS_RESULTS', `${REPO}dist/faults-results`),
};

/** Attempts the daemon makes of a Neutron read that goes unanswered (kuryr-daemon.ts), 0.2 s then 0.4 s apart. */
const NEUTRON_READ_ATTEMPTS = 3;

/**
 * The shortest outage in which a docker run surely fails, for a daemon whose
 * [neutron] timeout is `timeoutS`: a port create whose POST times out is
 * looked up (was it made?) by a read that is itself tried three times, and a
 * service back before the last try lets the run succeed; `beforeS` more when
 * the first call only starts waiting that long into the outage, and 3 s of
 * slack (the pauses between the tries among them).
 */
export function outageThatFailsS(timeoutS: number, beforeS = 0): number {
  return beforeS + (1 + NEUTRON_READ_ATTEMPTS) * timeoutS + 3;
}

/**
 * The [neutron] timeout of an outage scenario's daemon: short enough that a
 * docker run in flight when the outage starts fails before it ends (else that
 * one run can last the whole outage, and succeed once the service is back).
 */
export function outageTimeoutS(): number {
  return Math.min(knobs.neutronTimeoutS, 5);
}

/** The note of an outage scenario's "a docker run failed" figure: what it shows, or why this outage cannot show it. */
export function outageNote(minS: number): string {
  return knobs.outageS < minS ? `an outage of ${knobs.outageS} s is shorter than the ${minS} s a docker run needs to fail: raise KURYR_FAULTS_OUTAGE_S` : 'the fault reached Docker';
}

/** The knobs as the report records them. */
export function knobValues(): Record<string, string | number | boolean> {
  return { ...knobs };
}
