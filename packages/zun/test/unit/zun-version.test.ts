/** `zun --version` and `zun-api --version` print the package version (package.json) and exit 0. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../src/cli/zun-cli.js';

const PKG = new URL('../../../', import.meta.url).pathname; // dist/test/unit → the package root
const VERSION = (JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as { version: string }).version;
const run = promisify(execFile);

describe('zun and zun-api --version', () => {
  it('zun --version prints the package version and exits 0, with no zun-api to talk to', async () => {
    const out: string[] = [];
    const code = await main(['node', 'zun', '--version'], (t) => out.push(t), (t) => out.push(t), {});
    assert.equal(code, 0);
    assert.deepEqual(out, [`zun (kuryr-ts) ${VERSION}`]);
  });

  it('the bins: zun --version and zun-api --version (no config file needed)', async () => {
    assert.equal((await run(process.execPath, [join(PKG, 'bin/zun.js'), '--version'])).stdout.trim(), `zun (kuryr-ts) ${VERSION}`);
    assert.equal((await run(process.execPath, [join(PKG, 'bin/zun-api.js'), '--version'])).stdout.trim(), VERSION);
  });
});
