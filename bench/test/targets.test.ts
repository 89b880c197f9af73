/** The targets table: each ratio against the bridge and the null driver, with and without pools, and what an older run lacks left out. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Results } from '../report.js';
import { targetRows } from '../targets.js';
import { REPO } from '../../test/lab-support/lab-host.js';

const sum = (median: number) => ({ n: 20, mean: median, median, p95: median, min: median, max: median });

describe('bench targets', () => {
  it('an older run (no pool measures) has no target rows', () => {
    const old = JSON.parse(readFileSync(join(`${REPO}bench/results`, '2026-11-22-2109.json'), 'utf8')) as Results;
    assert.deepEqual(targetRows(old), []);
  });

  it('with and without pools, against bridge and null driver', () => {
    const proc = (rssMB: number) => ({ rssMB, fds: 20 });
    const r = {
      latency: {
        summaries: { 'kuryr pools run -d': sum(330), 'null remote driver run -d': sum(300), 'kuryr rm -f': sum(500), 'null remote driver rm -f': sum(250) },
        ratios: {
          'run -d, port pools': { kuryrOverBridge: 1.1, floorRatio: 1, overNull: 1.1 },
          'rm -f': { kuryrOverBridge: 2.5, floorRatio: 1.5 },
        },
      },
      memory: { fresh: proc(66), final: proc(68), pools: { fresh: proc(72), final: proc(73) } },
      callsPools: [{ op: 'docker rm -f (detach)', foreground: [0, 0], background: [2, 2], failures: 0 }],
    } as unknown as Results;
    const rows = targetRows(r);
    assert.deepEqual(rows[0], ['pools: run -d (median)', '330 ms', '1.1×', '1.1×', '≤ 1.2× bridge', '✅']);
    assert.deepEqual(rows[1], ['no pools: rm -f', '500 ms', '2.5×', '2×', '≤ 2× bridge', '❌']);
    assert.deepEqual(rows.slice(2, 4).map((x) => x[5]), ['✅', '❌']);
    assert.deepEqual(rows[4]!.slice(0, 2), ['pools: Neutron calls of docker rm -f (detach) (Docker waits / after the reply)', '0 / 2']);
  });
});
