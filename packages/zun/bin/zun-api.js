#!/usr/bin/env node
// Entry point of `zun-api` (the container service's REST API; compiled TypeScript lives in dist/).
//   zun-api --config-file /etc/zun/zun.conf [--config-file more.conf] [--debug]
//   zun-api --version
import { runZunApi } from '../dist/src/main/zun-api.js';
import { packageVersion } from '../dist/src/main/version.js';

const args = process.argv.slice(2);
const configFiles = [];
let debug = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--config-file' && args[i + 1]) configFiles.push(args[++i]);
  else if (args[i].startsWith('--config-file=')) configFiles.push(args[i].slice('--config-file='.length));
  else if (args[i] === '--debug') debug = true;
  else if (args[i] === '--version') {
    console.log(packageVersion());
    process.exit(0);
  } else {
    console.error(`usage: zun-api --config-file FILE [--config-file FILE] [--debug] | --version (unknown argument ${args[i]})`);
    process.exit(2);
  }
}
try {
  await runZunApi({ configFiles, debug });
} catch (err) {
  console.error(`zun-api: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
