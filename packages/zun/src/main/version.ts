/** The package version (packages/zun/package.json), for `zun --version` and `zun-api --version`. */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  try {
    // dist/src/main/version.js → the package root
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
