/** The targets table: each ratio against the bridge and the null driver, with and without pools, and what an older run lacks left out. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Results } from '../report.js';
import { missedTargetBounds, poolsRunFloor, targetRows } from '../targets.js';
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
    assert.deepEqual(rows[0], ['pools: run -d (median)', '330 ms', '1.1×', '1.1×', '–', '≤ 1.2× bridge', '✅']);
    assert.deepEqual(rows[1], ['no pools: rm -f', '500 ms', '2.5×', '2×', '–', '≤ 2× bridge', '❌']);
    assert.deepEqual(rows.slice(2, 4).map((x) => x[6]), ['✅', '❌']);
    assert.deepEqual(rows[4]!.slice(0, 2), ['pools: Neutron calls of docker rm -f (detach) (Docker waits / after the reply)', '0 / 2']);
    // no bound measured (no bridge medians, no node baselines): the missed targets say so
    assert.deepEqual(
      missedTargetBounds(r).map((m) => [m.row[0], m.bound]),
      [
        ['no pools: rm -f', undefined],
        ['pools: daemon RSS idle → end of run', undefined],
      ],
    );
  });

  it('each missed target with the bound its run measured', () => {
    const proc = (rssMB: number) => ({ rssMB, fds: 20 });
    const r = {
      meta: { cpus: 2, params: { neutronApiWorkers: 2 } },
      latency: {
        summaries: {
          'kuryr pools run -d': sum(700),
          'null remote driver run -d': sum(350),
          'bridge run -d': sum(300),
          'floor: port update': sum(250),
          'floor: bound port create': sum(500),
          'kuryr rm -f': sum(600),
          'bridge rm -f': sum(200),
          'floor: port delete': sum(300),
          'kuryr network create': sum(550),
          'bridge network create': sum(150),
          'floor: network + subnet create': sum(350),
          'floor: Kuryr footprint network create': sum(450),
        },
        ratios: {
          'run -d, port pools': { kuryrOverBridge: 2.33, floorRatio: 1.17, overNull: 2 },
          'rm -f': { kuryrOverBridge: 3, floorRatio: 2.5 },
          'network create': { kuryrOverBridge: 3.67, floorRatio: 3.33 },
        },
      },
      concurrency: {
        containers: 10,
        parallelOverSerial: 1,
        bridge: { parallelOverSerial: 0.5, parallelStartsMs: 1000 },
        pools: { serialStartsMs: 5000, parallelStartsMs: 4000, parallelOverSerial: 0.8, freePortsBeforeBurst: 6, failures: [], addressesSeen: 10, duplicateIpsDocker: 0 },
      },
      memory: { fresh: proc(80), final: proc(81), nodeBaselineMB: 40, nodeWithDependenciesMB: 76, pools: { fresh: proc(66), final: proc(67) } },
    } as unknown as Results;
    const rows = targetRows(r);
    // pools run -d: null driver 350 + guarded PUT 250 = 600 ms over bridge 300
    assert.deepEqual(rows[0], ['pools: run -d (median)', '700 ms', '2.33×', '2×', '2× (600 ms)', '≤ 1.2× bridge', '❌']);
    // no pools rm -f: bridge 200 + DELETE 300; network create: bridge 150 + the Kuryr footprint 450
    assert.equal(rows[1]![4], '2.5× (500 ms)');
    assert.equal(rows[2]![4], '4× (600 ms)');
    // 6 free ports: 6 PUTs + 4 port creates = 3500 ms of Neutron work over 2 workers = 1750 ms, over 5000 ms serial
    assert.deepEqual(rows[3], ['pools: 10 at once / 10 serial', '0.8', 'bridge 0.5', '–', '≥ 0.35', '≤ 0.6', '❌']);
    assert.equal(rows[6]![4], '≥ 76 MB idle');
    const missed = missedTargetBounds(r);
    assert.deepEqual(
      missed.map((m) => m.row[0]),
      ['pools: run -d (median)', 'no pools: rm -f', 'no pools: network create', 'pools: 10 at once / 10 serial', 'no pools: daemon RSS idle → end of run'],
    );
    assert.match(missed[0]!.bound!.why, /the null remote driver 350 ms \+ a guarded `PUT ports\/<id>` 250 ms = 600 ms, 2× bridge \(300 ms\)/);
    assert.match(missed[3]!.bound!.why, /6 guarded `PUT ports\/<id>`.* and 4 bound `POST ports`.*3500 ms of Neutron work.*cannot take less than 1750 ms/);
    assert.match(missed[4]!.bound!.why, /76 MB before any of the daemon's code runs\. The daemon: 80 MB idle \(4 MB of its own\)/);
    assert.equal(poolsRunFloor(r), '2× (600 ms)');

    // The same run, with the pool handing its ports out in memory (Docker waited for no Neutron call).
    const inMemory = { ...r, callsPools: [{ op: 'docker run -d (attach)', foreground: [0], background: [2], failures: 0 }] } as Results;
    const free = targetRows(inMemory);
    // pools run -d: the null driver alone, 350 ms over bridge 300
    assert.equal(free[0]![4], '1.17× (350 ms)');
    // 6 free ports cost no call: 4 port creates = 2000 ms of Neutron work over 2 workers = 1000 ms = Docker's 1000 ms, over 5000 ms serial
    assert.equal(free[3]![4], '≥ 0.2');
    const why = missedTargetBounds(inMemory);
    assert.match(why[0]!.bound!.why, /Docker waits for no Neutron call .*the null remote driver's `run -d`: 350 ms, 1.17× bridge/);
    assert.match(why[3]!.bound!.why, /^Of the 10 starts: 6 pool ports handed out with no Neutron call and 4 bound `POST ports`/);
    assert.equal(poolsRunFloor(inMemory), undefined);
  });
});
