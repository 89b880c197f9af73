/** Commands on this host (argv, no shell), timed; a failure is a value, not an exception. */
import { execFile } from 'node:child_process';

export interface ExecResult {
  ok: boolean;
  /** stdout when ok; else the command's error text (stderr, else stdout, else why it could not run) */
  out: string;
  ms: number;
}

export function exec(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<ExecResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      if (err) resolve({ ok: false, out: `${String(stderr || stdout || err.message).trim()}${err.killed ? ' (timed out)' : ''}`, ms });
      else resolve({ ok: true, out: String(stdout).trim(), ms });
    });
  });
}
