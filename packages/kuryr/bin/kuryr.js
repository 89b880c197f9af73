#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1: V8's young generation at 1 MB semi-spaces instead of 16 MB keeps the
// daemon's resident memory ~15 MB lower (bench/results); launchers that run `node bin/kuryr.js`
// pass the same flag (lab/lib.sh KURYR_NODE_FLAGS, bench/lab.ts, test/integration/daemons.ts).
// Entry point of the `kuryr` command (compiled TypeScript lives in dist/).
import { main } from '../dist/src/main/kuryr-cli.js';

process.exitCode = await main(process.argv);
