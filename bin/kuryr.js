#!/usr/bin/env node
// Entry point of the `kuryr` command (compiled TypeScript lives in dist/).
import { main } from '../dist/src/main/kuryr-cli.js';

process.exitCode = await main(process.argv);
