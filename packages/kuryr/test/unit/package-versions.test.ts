/**
 * One version across the three packages: the root and each package.json, the
 * @kuryr-ts/* dependencies pinned to it, and the lockfile's workspace entries
 * (a bump that misses one would pack tarballs that do not install together).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

interface Manifest {
  version?: string;
  dependencies?: Record<string, string>;
}

function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package-lock.json'))) return dir;
    if (dirname(dir) === dir) throw new Error('package-lock.json not found above the test');
  }
}

describe('package versions', () => {
  const root = repoRoot();
  const read = (path: string): Manifest => JSON.parse(readFileSync(join(root, path), 'utf8')) as Manifest;
  const version = read('package.json').version!;

  it('the root and the three packages carry one version, and depend on each other at exactly it', () => {
    for (const pkg of ['openstack', 'kuryr', 'zun']) {
      const m = read(`packages/${pkg}/package.json`);
      assert.equal(m.version, version, `packages/${pkg}/package.json`);
      for (const [dep, spec] of Object.entries(m.dependencies ?? {})) {
        if (dep.startsWith('@kuryr-ts/')) assert.equal(spec, version, `packages/${pkg} → ${dep}`);
      }
    }
    for (const [dep, spec] of Object.entries(read('package.json').dependencies ?? {})) {
      if (dep.startsWith('@kuryr-ts/')) assert.equal(spec, version, `root → ${dep}`);
    }
  });

  it('package-lock.json agrees', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { version: string; packages: Record<string, Manifest> };
    assert.equal(lock.version, version);
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || path.startsWith('packages/')) {
        assert.equal(entry.version, version, `package-lock.json "${path}"`);
        for (const [dep, spec] of Object.entries(entry.dependencies ?? {})) {
          if (dep.startsWith('@kuryr-ts/')) assert.equal(spec, version, `package-lock.json "${path}" → ${dep}`);
        }
      }
    }
  });
});
