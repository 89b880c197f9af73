import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ledger } from '../../src/domain/ledger.js';

test('ledger: hand-outs older than holdMs are forgotten as new ones come, not kept until the bound pushes them out', () => {
  let now = 0;
  const ledger = new Ledger({ holdMs: 1000, now: () => now });
  for (let i = 0; i < 300; i++) ledger.handOutPool(`pool-${i}`); // 300 network creates in one moment
  ledger.handOut('port-a');
  assert.equal(ledger.holds('pool-0'), true);
  now += 999;
  ledger.handOutPool('pool-0'); // handed out again: fresh, and now the newest
  now += 1;
  ledger.handOutPool('pool-new');
  ledger.handOut('port-b');
  assert.deepEqual([ledger.sizes().pools, ledger.sizes().handedOut], [2, 1], 'only what is still within holdMs');
  assert.equal(ledger.holds('pool-0'), true);
  assert.equal(ledger.holds('pool-1'), false);
  assert.equal(ledger.holds('port-a'), false);
});

test('ledger: a bound port stays in hand until its endpoint is deleted', () => {
  let now = 0;
  const ledger = new Ledger({ holdMs: 1000, now: () => now });
  ledger.handOut('port-a');
  ledger.bind('port-a', 'ep-a');
  now += 5000;
  ledger.handOut('port-b');
  assert.equal(ledger.liveEndpointOf('port-a'), 'ep-a');
  ledger.unbind('ep-a');
  assert.equal(ledger.liveEndpointOf('port-a'), undefined);
  assert.deepEqual(ledger.sizes(), { busy: 0, handedOut: 1, pools: 0, liveEndpoints: 0, lost: 0 });
});
