/**
 * docs/errors.md stays true: every error code written in the sources of the
 * three packages (openstack, kuryr, zun) is documented there, and every code
 * documented there is still written somewhere. A code built at run time
 * (`KURYR_ERR_NEUTRON_${status}`) shows in the sources as its prefix and is
 * documented as a pattern (`KURYR_ERR_NEUTRON_<status>`).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CODE = /\b(?:KURYR|ZUN)_ERR_[A-Z0-9_]+/g;
const PACKAGES = ['openstack', 'kuryr', 'zun'];

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'docs', 'errors.md'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('docs/errors.md not found above the test');
    dir = up;
  }
  return dir;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Code → the files that write it. */
function codesInSources(root: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const pkg of PACKAGES) {
    for (const file of [...sourceFiles(join(root, 'packages', pkg, 'src')), ...sourceFiles(join(root, 'packages', pkg, 'test'))]) {
      if (file.endsWith('error-catalogue.test.ts')) continue; // this file speaks of codes without writing any
      for (const code of readFileSync(file, 'utf8').match(CODE) ?? []) {
        const where = found.get(code) ?? [];
        where.push(relative(root, file));
        found.set(code, where);
      }
    }
  }
  return found;
}

function documented(root: string): { codes: Set<string>; patterns: string[] } {
  const text = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  const codes = new Set<string>();
  const patterns: string[] = [];
  for (const m of text.matchAll(/\b((?:KURYR|ZUN)_ERR_[A-Z0-9_]+)(<[a-z]+>)?/g)) {
    if (m[2]) patterns.push(m[1]!);
    else codes.add(m[1]!);
  }
  return { codes, patterns };
}

describe('error catalogue (docs/errors.md)', () => {
  const root = repoRoot();
  const sources = codesInSources(root);
  const doc = documented(root);

  it('finds the codes of all three packages', () => {
    assert.ok(sources.size > 40, `only ${sources.size} codes found: is the scan looking at the right place?`);
    for (const prefix of ['KURYR_ERR_', 'ZUN_ERR_']) assert.ok([...sources.keys()].some((c) => c.startsWith(prefix)), prefix);
  });

  it('documents every code the sources write', () => {
    const missing = [...sources].filter(([code]) => {
      if (doc.codes.has(code)) return false;
      // a prefix of a code built at run time, or one instance of it (a test's KURYR_ERR_KEYSTONE_401)
      return !doc.patterns.some((p) => code === p || (code.startsWith(p) && /^[0-9]+$/.test(code.slice(p.length))));
    });
    assert.deepEqual(
      missing.map(([code, files]) => `${code} (${[...new Set(files)].join(', ')})`),
      [],
      'codes missing from docs/errors.md',
    );
  });

  it('documents no code that the sources no longer write', () => {
    const stale = [...doc.codes].filter((code) => !sources.has(code));
    const stalePatterns = doc.patterns.filter((p) => !sources.has(p));
    assert.deepEqual([...stale, ...stalePatterns.map((p) => `${p}<…>`)], [], 'codes in docs/errors.md that nothing writes');
  });
});
