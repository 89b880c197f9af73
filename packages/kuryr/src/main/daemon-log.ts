/**
 * The daemon's logger, oslo.log style (@kuryr-ts/openstack/observability/log:
 * oslo's text lines, or JSON lines with `[DEFAULT] use_json`; level names;
 * the request id on every line of a request) on stdout, or appended to a
 * file — `--log-file`/`[DEFAULT] log_file`, under `--log-dir`/`log_dir` when
 * both are set, `<program>.log` in the log dir when only that is set (the
 * command line wins over kuryr.conf); `reopen()` (SIGHUP) opens the file
 * again after logrotate moved it. Logs, once, what the configuration holds
 * that kuryr-ts ignores.
 */
import { logFilePath as osloLogFile, serviceLog, type ServiceLog } from '@kuryr-ts/openstack/observability/log';
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
  return osloLogFile(opts.logFile ?? config.logFile, opts.logDir ?? config.logDir, opts.prog ?? 'kuryr');
}

/** `requestId`: the current request's id (OpStats.requestId), written on every line. */
export function daemonLogger(config: KuryrConfig, opts: LogOptions, requestId?: () => string | undefined): ServiceLog {
  const file = logFilePath(config, opts);
  const service = serviceLog({ name: 'kuryr', level: opts.debug || config.debug ? 'debug' : 'info', file, json: config.useJson, requestId });
  const log = service.logger;
  log.info({ files: config.files }, 'configuration read');
  for (const { message, ...where } of config.warnings) log.warn(where, message);
  if (config.ignoredOptions.length > 0) log.info({ options: config.ignoredOptions }, 'options accepted for compatibility, no effect');
  return service;
}
