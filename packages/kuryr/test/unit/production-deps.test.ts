/**
 * Installing the driver alone (`npm ci --omit=dev -w @kuryr-ts/kuryr`, what the
 * managed plugin's rootfs holds) must not bring the container service's
 * libraries. Read from the committed package-lock.json, so it needs no network
 * and no installed tree: the production closure of packages/kuryr, resolved the
 * way npm and Node do (nested node_modules first, then each parent's,
 * workspace links followed).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

interface LockEntry {
  readonly link?: boolean;
  readonly resolved?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

function findLockfile(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'package-lock.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error('package-lock.json not found above the test');
  }
}

/** The location one level up in node_modules lookup order; '' is the root. */
function parentOf(location: string): string {
  const nested = location.lastIndexOf('/node_modules/');
  return nested >= 0 ? location.slice(0, nested) : '';
}

/** Lockfile locations (package paths) installed for `from` without dev dependencies. */
function productionClosure(packages: Record<string, LockEntry>, from: string): Set<string> {
  const seen = new Set<string>();
  const visit = (location: string): void => {
    if (seen.has(location)) return;
    seen.add(location);
    const entry = packages[location]!;
    const optional = new Set(Object.keys(entry.optionalDependencies ?? {}));
    // peers npm installs: all but those marked optional
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((p) => entry.peerDependenciesMeta?.[p]?.optional !== true);
    const wanted = [...Object.keys(entry.dependencies ?? {}), ...optional, ...peers];
    for (const name of new Set(wanted)) {
      let found: string | undefined;
      for (let at = location; found === undefined; at = parentOf(at)) {
        const candidate = `${at === '' ? '' : `${at}/`}node_modules/${name}`;
        if (packages[candidate]) found = candidate;
        else if (at === '') break;
      }
      if (found === undefined) {
        assert.ok(optional.has(name), `${location || 'root'} needs ${name}, which package-lock.json does not hold`);
        continue;
      }
      const target = packages[found]!;
      visit(target.link ? target.resolved! : found);
    }
  };
  visit(from);
  return seen;
}

const nameOf = (location: string): string => location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);

describe('production dependencies of the driver', () => {
  const lock = JSON.parse(readFileSync(findLockfile(), 'utf8')) as { packages: Record<string, LockEntry> };
  const closure = productionClosure(lock.packages, 'packages/kuryr');
  const names = new Set([...closure].filter((l) => l.includes('node_modules/')).map(nameOf));

  it('hold the driver, the OpenStack client and their libraries', () => {
    assert.ok(closure.has('packages/openstack'), 'the workspace link to @kuryr-ts/openstack is followed');
    for (const lib of ['fastify', 'pino', 'commander', 'yaml', 'prom-client']) assert.ok(names.has(lib), `${lib} is installed`);
    assert.ok(!names.has('undici'), 'Keystone and Neutron are reached with node:http: no undici');
  });

  it('prom-client (the metrics) brings only its three small dependencies', () => {
    const metrics = [...productionClosure(lock.packages, 'node_modules/prom-client')].map(nameOf).sort();
    assert.deepEqual(metrics, ['@opentelemetry/api', 'bintrees', 'prom-client', 'tdigest']);
  });

  it('hold none of the container service libraries', () => {
    assert.ok(!closure.has('packages/zun'));
    for (const lib of ['dockerode', 'kysely', 'pg', 'better-sqlite3']) assert.ok(!names.has(lib), `${lib} must not come with the driver`);
  });
});
