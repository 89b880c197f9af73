/**
 * `kuryr reconcile --json [--dry-run]` run by a test against one of its own
 * daemons' configs (the lab's kuryr.conf, then the daemon's own file): the
 * exit status, the parsed JSON report and stderr. A run that prints no JSON
 * report is an error naming what it printed.
 */
import { execFile } from 'node:child_process';
import { LAB_KURYR_CONF, REPO } from './lab-host.js';

export interface ReconcileRunOptions {
  dryRun?: boolean;
  timeoutMs?: number;
}

export interface ReconcileOutput<Report> {
  status: number;
  report: Report;
  stderr: string;
}

export function runReconcile<Report>(confFile: string, opts: ReconcileRunOptions = {}): Promise<ReconcileOutput<Report>> {
  const args = [`${REPO}packages/kuryr/bin/kuryr.js`, 'reconcile', '--json', '--config-file', LAB_KURYR_CONF, '--config-file', confFile];
  if (opts.dryRun) args.push('--dry-run');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      let report: Report;
      try {
        report = JSON.parse(stdout) as Report;
      } catch {
        reject(new Error(`kuryr reconcile: exit ${status}, no JSON report: ${`${stdout}${stderr}`.trim().slice(0, 600)}`));
        return;
      }
      resolve({ status, report, stderr });
    });
  });
}
