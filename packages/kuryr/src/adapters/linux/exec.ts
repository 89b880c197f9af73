/**
 * The one place that starts host commands. Always an argv array (never a
 * shell string), always a timeout, output captured and bounded.
 */
import { spawn } from 'node:child_process';
import { HostError } from '@kuryr-ts/openstack/errors';

export interface ExecOptions {
  timeoutMs?: number;
  /** Written to the command's stdin (e.g. `ip -batch -`). */
  input?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export class ExecFailure extends HostError {
  constructor(
    step: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    message: string,
  ) {
    super(step, message);
  }
}

const MAX_OUTPUT = 4 * 1024 * 1024;

export type Exec = (cmd: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

export const exec: Exec = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    const step = [cmd, ...args].join(' ');
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 10_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    child.on('error', (err) => reject(new ExecFailure(step, null, '', err.message)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else {
        const why = signal ? `killed by ${signal} (timeout?)` : `exit ${code}`;
        reject(new ExecFailure(step, code, stderr.trim(), `${why}: ${stderr.trim() || stdout.trim()}`));
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
