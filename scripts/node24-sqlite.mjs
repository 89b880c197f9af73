// Preloaded by scripts/node24.sh (NODE_OPTIONS=--import=…) in the processes of the
// Node.js 24 test run: `better-sqlite3` resolves to the copy that node24.sh built
// for Node 24's ABI (KURYR_NODE24_SQLITE), since the checkout's node_modules holds
// Node 20's build. Everything else resolves as usual.
import { registerHooks } from 'node:module';
import { env } from 'node:process';
import { pathToFileURL } from 'node:url';

const dir = env.KURYR_NODE24_SQLITE;
if (!dir) throw new Error('node24-sqlite.mjs: KURYR_NODE24_SQLITE (the Node 24 build of better-sqlite3) is not set');
const target = pathToFileURL(`${dir}/lib/index.js`).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'better-sqlite3') return { url: target, format: 'commonjs', shortCircuit: true };
    return nextResolve(specifier, context);
  },
});
