/** The package version (packages/kuryr/package.json), for `--version`. */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  // dist/src/main/version.js → the package root
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
