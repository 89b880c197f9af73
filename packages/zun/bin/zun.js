#!/usr/bin/env node
// Entry point of the `zun` command (compiled TypeScript lives in dist/).
import { main } from '../dist/src/cli/zun-cli.js';

process.exitCode = await main(process.argv);
