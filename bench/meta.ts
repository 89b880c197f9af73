/**
 * What a report says about the code and the machine it measured: the commit,
 * uncommitted changes to the daemon's sources, whether the build the daemon
 * runs is older than its sources, versions, CPUs and load, and the RSS of
 * idle Node.js processes (the floor under the daemon's own memory).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { BenchParams } from './params.js';
import { docker, procReading } from './lab.js';
import type { Results } from './report.js';
import { r2 } from './stats.js';
import { shebangFlags } from '../test/lab-support/kuryr-daemon.js';
import { sleep } from './util.js';

/** The packages the daemon runs: the driver and its OpenStack client. */
const DAEMON_PACKAGES = ['packages/kuryr', 'packages/openstack'];

export async function runMeta(repo: string, params: BenchParams): Promise<Results['meta']> {
  return {
    date: new Date().toISOString(),
    commit: execFileSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']).toString().trim(),
    uncommittedSrc: execFileSync('git', ['-C', repo, 'status', '--porcelain', '--', ...DAEMON_PACKAGES.map((p) => `${p}/src`), 'packages/kuryr/bin'])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean),
    node: process.version,
    docker: (await docker('version', '-f', '{{.Server.Version}}')).out,
    cpus: cpus().length,
    loadavgStart: loadavg().map(r2),
    loadavgEnd: [],
    durationS: 0,
    distStale: distIsStale(repo),
    params: params as unknown as Record<string, unknown>,
  };
}

/** Is any source file of the daemon's packages newer than that package's last build (tsc -b writes its .tsbuildinfo each time)? */
export function distIsStale(repo: string): boolean {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? statSync(`${dir}/${e.name}`).mtimeMs : 0), 0);
  const built = (pkg: string): number => statSync(`${repo}${pkg}/dist/.tsbuildinfo`, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return DAEMON_PACKAGES.some((pkg) => newest(`${repo}${pkg}/src`) > built(pkg));
}

/** What the dependency baseline loads and does, as the report words it. */
export const DEPENDENCY_LOADS = "one HTTP request made (fastify, pino, commander, yaml, prom-client, node:http's client)";

/**
 * RSS of idle Node.js processes of the same binary and V8 flags as the daemon (its entry point's
 * shebang): bare (the runtime itself), and with the
 * daemon's runtime dependencies loaded and one HTTP request made (fastify, pino, commander, yaml,
 * prom-client, node:http's client) — the floor under the daemon's own memory.
 */
export async function nodeBaselinesMB(repo: string): Promise<{ bare: number; withDependencies: number; loads: string }> {
  const measure = async (args: string[]): Promise<number> => {
    const child = spawn(process.execPath, [...shebangFlags(`${repo}packages/kuryr/bin/kuryr.js`), ...args], { stdio: 'ignore', cwd: repo });
    await sleep(2_500);
    try {
      return procReading(child.pid!).rssMB;
    } finally {
      child.kill('SIGTERM');
    }
  };
  const deps =
    "await import('fastify'); await import('pino'); await import('commander'); await import('yaml'); await import('prom-client'); " +
    "const http = await import('node:http'); await new Promise((r) => http.get('http://127.0.0.1:9696/', (res) => res.resume().on('end', r)).on('error', r)); setTimeout(() => {}, 5000);";
  return { bare: await measure(['-e', 'setTimeout(() => {}, 5000)']), withDependencies: await measure(['--input-type=module', '-e', deps]), loads: DEPENDENCY_LOADS };
}
