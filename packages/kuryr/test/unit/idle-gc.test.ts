import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdleCollector } from '../../src/main/idle-gc.js';

describe('IdleCollector: one full GC once idle after requests', () => {
  it('collects once after idleMs without a request, not while busy, not again until the next request', () => {
    let now = 0;
    let runs = 0;
    const c = new IdleCollector({ idleMs: 10_000, gc: () => void runs++, now: () => now });
    assert.equal(c.check(), false, 'nothing served yet');
    c.touch();
    now = 9_999;
    assert.equal(c.check(), false, 'not idle long enough');
    now = 10_000;
    assert.equal(c.check(), true);
    now = 60_000;
    assert.equal(c.check(), false, 'idle since: nothing new to collect');
    c.touch();
    now = 70_000;
    assert.equal(c.check(), true);
    assert.equal(runs, 2);
  });

  it('without --expose-gc it does nothing', () => {
    const c = new IdleCollector({ idleMs: 0, gc: undefined });
    c.touch();
    assert.equal(c.check(), false);
    c.start();
    c.stop();
  });
});
