/** The knobs keep the defaults (and the order) of the committed results, so a new run compares with them. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readParams, runNames } from '../params.js';
import type { Results } from '../report.js';
import { REPO } from '../../test/lab-support/lab-host.js';

describe('bench params', () => {
  it('defaults to the parameters of the committed 21:09 run', () => {
    const committed = (JSON.parse(readFileSync(`${REPO}bench/results/2026-11-22-2109.json`, 'utf8')) as Results).meta.params;
    const p = readParams({}, { out: String(committed.out), neutronApiWorkers: Number(committed.neutronApiWorkers) });
    assert.equal(JSON.stringify(p), JSON.stringify(committed));
  });

  it('reads every BENCH_* knob', () => {
    const p = readParams(
      {
        BENCH_REPS: '3',
        BENCH_COUNT_REPS: '1',
        BENCH_CONCURRENCY: '5',
        BENCH_NETWORKS: '7',
        BENCH_NETWORK_CONCURRENCY: '2',
        BENCH_CYCLES: '9',
        BENCH_CYCLE_CONCURRENCY: '3',
        BENCH_MIN_CYCLES: '4',
        BENCH_BUDGET_S: '100',
        BENCH_HARD_BUDGET_S: '200',
        BENCH_PHASES: 'calls, scale',
        BENCH_OUT: '/tmp/out',
      },
      { out: '/unused', neutronApiWorkers: 4 },
    );
    assert.deepEqual(p, {
      reps: 3,
      countReps: 1,
      concurrency: 5,
      networks: 7,
      networkConcurrency: 2,
      cycles: 9,
      cycleConcurrency: 3,
      minCycles: 4,
      budgetS: 100,
      hardBudgetS: 200,
      phases: ['calls', 'scale'],
      out: '/tmp/out',
      neutronApiWorkers: 4,
    });
  });

  it('names a run after its pid, with the driver of BENCH_DRIVER', () => {
    assert.deepEqual(runNames(0x123456 + 0xffffff, {}), { run: `kb${(0x123456 + 0xffffff).toString(36)}`, driver: 'kbench', image: 'kuryr/busybox:latest', nidPrefix: 'be123456' });
    assert.equal(runNames(1, { BENCH_DRIVER: 'kb2' }).driver, 'kb2');
  });
});
