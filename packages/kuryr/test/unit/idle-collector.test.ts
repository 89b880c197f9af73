import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdleCollector } from '../../src/main/idle-collector.js';

const MB = 1024 * 1024;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A collector on a hand-driven heap and event loop: `work(ms, bytes)` is a window's activity. */
function rig(opts: { gc?: boolean } = {}) {
  let heap = 20 * MB;
  let active = 0;
  let gcs = 0;
  const live = 12 * MB;
  const c = new IdleCollector({
    gc: opts.gc === false ? undefined : () => {
      gcs++;
      heap = live;
      active += 15; // the collection's own time
    },
    heapUsed: () => heap,
    activeMs: () => active,
    log: quiet,
    everyMs: 5000,
    setInterval: () => ({ unref() {} }),
    clearInterval: () => {},
  });
  c.start();
  return {
    c,
    gcs: () => gcs,
    window(busyMs: number, allocated = 0): void {
      active += busyMs;
      heap += allocated;
      c.tick();
    },
  };
}

test('idle collector: the first idle window collects the start-up garbage, then nothing until the heap grows again', () => {
  const r = rig();
  r.window(0);
  assert.equal(r.gcs(), 1);
  r.window(0);
  r.window(10, 100 * 1024); // a health probe: some work, little garbage
  r.window(0);
  assert.equal(r.gcs(), 1, 'not on every idle tick, and not for a few kB');
});

test('idle collector: a busy window is never interrupted; the idle one after it collects once', () => {
  const r = rig();
  r.window(0);
  r.window(2000, 6 * MB); // a burst of containers
  r.window(900, 2 * MB);
  assert.equal(r.gcs(), 1, 'busy windows: no collection');
  r.window(0);
  assert.equal(r.gcs(), 2);
  r.window(0);
  assert.equal(r.gcs(), 2, "the collection's own time does not make the next window busy, and nothing is left to collect");
});

test('idle collector: without --expose-gc it does nothing', () => {
  const r = rig({ gc: false });
  r.window(0, 50 * MB);
  assert.equal(r.c.collections, 0);
});
