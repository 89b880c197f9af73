#!/usr/bin/env -S node --max-semi-space-size=1 --max-old-space-size=256 --v8-pool-size=1 --optimize-for-size --expose-gc
// The daemon's V8 flags (docs/benchmarks.md, "Memory of the daemon"; measured with bench/rss.ts):
// --max-semi-space-size=1: 1 MB semi-spaces instead of 16 MB (~15 MB less resident memory);
// --max-old-space-size=256: V8 sizes the old generation for a small heap and collects it before
// it grows (under load the heap otherwise grew to ~80 MB of garbage between two full GCs; the
// daemon's live heap is ~20-30 MB); --v8-pool-size=1: one V8 background thread instead of four
// (each one's malloc arena kept several MB of compiler memory); --optimize-for-size: V8 favours
// memory over speed (a run's one-time warm-up of compiled code and heap kept ~2 MB instead of
// ~3-7 MB, for ~5-10% more CPU per call); --expose-gc: the daemon runs one full collection once
// it is idle after a busy spell (src/main/idle-collector.ts), which V8 alone does only after the
// heap grew by ~10 MB (a burst of containers otherwise left ~2-3 MB more resident for good).
// Launchers that run `node bin/kuryr.js` pass the same flags (lab/lib.sh KURYR_NODE_FLAGS,
// packaging/plugin/config.json, packaging/image/build.sh; the tests' and the bench's daemons read
// them from this line).
// Entry point of the `kuryr` command (compiled TypeScript lives in dist/).
import { main } from '../dist/src/main/kuryr-cli.js';

process.exitCode = await main(process.argv);
