#!/usr/bin/env -S node --max-semi-space-size=1 --max-old-space-size=256 --v8-pool-size=1 --optimize-for-size --expose-gc
// Entry point of `kuryr-server`: Kuryr-libnetwork's daemon command (oslo's --config-file,
// --config-dir, --log-file, --debug, --version), the same daemon as `kuryr daemon`.
// The V8 flags: see bin/kuryr.js.
import { serverMain } from '../dist/src/main/kuryr-cli.js';

process.exitCode = await serverMain(process.argv);
