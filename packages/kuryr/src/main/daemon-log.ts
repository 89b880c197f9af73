/**
 * The daemon's logger, oslo.log style: JSON lines on stdout, or appended to a
 * file — `--log-file`/`[DEFAULT] log_file`, under `--log-dir`/`log_dir` when
 * both are set, `<program>.log` in the log dir when only that is set (the
 * command line wins over kuryr.conf). Logs, once, what the configuration
 * holds that kuryr-ts ignores.
 */
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { KuryrConfig } from '../config/kuryr-config.js';

export interface LogOptions {
  /** `--debug`: wins over `[DEFAULT] debug = false`. */
  readonly debug?: boolean;
  /** `--log-file`, `--log-dir`: win over kuryr.conf's log_file, log_dir. */
  readonly logFile?: string;
  readonly logDir?: string;
  /** The program name, for `<prog>.log` (default kuryr). */
  readonly prog?: string;
}

/** oslo.log's `_get_log_file_path`: where the log goes (undefined: stdout). */
export function logFilePath(config: Pick<KuryrConfig, 'logFile' | 'logDir'>, opts: LogOptions): string | undefined {
  const file = opts.logFile ?? config.logFile;
  const dir = opts.logDir ?? config.logDir;
  if (file && dir) return resolve(dir, file); // an absolute log_file wins, as Python's os.path.join
  if (dir) return resolve(dir, `${opts.prog ?? 'kuryr'}.log`);
  return file;
}

export function daemonLogger(config: KuryrConfig, opts: LogOptions): Logger {
  const file = logFilePath(config, opts);
  const log = pino(
    { level: opts.debug || config.debug ? 'debug' : 'info', base: { svc: 'kuryr' } },
    file ? pino.destination({ dest: file, mkdir: true, append: true }) : undefined,
  );
  log.info({ files: config.files }, 'configuration read');
  for (const { message, ...where } of config.warnings) log.warn(where, message);
  if (config.ignoredOptions.length > 0) log.info({ options: config.ignoredOptions }, 'options accepted for compatibility, no effect');
  return log;
}
