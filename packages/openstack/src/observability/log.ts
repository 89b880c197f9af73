/**
 * The services' logger, in the manner of oslo.log: level names (DEBUG, INFO,
 * WARNING, ERROR, CRITICAL), the request id of the request a line belongs to
 * (from the OpStats scope, on every line of that request, whoever logs it),
 * and either oslo's text line (`use_json = False`, oslo's default)
 *
 *   2026-12-06 07:00:00.123 12345 INFO kuryr [req-6f1c…] NetworkDriver.CreateEndpoint ok neutronCalls=1 ms=42
 *
 * or one JSON object per line (`use_json = True`) with an ISO 8601 UTC
 * `time`. Lines go to stdout, or are appended to a file that `reopen()` opens
 * again (SIGHUP after logrotate moved it). Values under secret-bearing keys
 * (passwords, tokens, secrets, auth headers) are written as `***`.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export interface ServiceLogOptions {
  /** oslo's %(name)s: the service (kuryr, zun-api). */
  readonly name: string;
  readonly level: LevelWithSilent;
  /** Append to this file (made with its directory when missing); undefined: stdout. */
  readonly file?: string | undefined;
  /** JSON lines (oslo's use_json) instead of text lines. */
  readonly json?: boolean | undefined;
  /** The current request's id (OpStats.requestId), written on every line logged in that request. */
  readonly requestId?: (() => string | undefined) | undefined;
  /** Where the lines go instead of stdout or the file (tests). */
  readonly sink?: { write(line: string): unknown } | undefined;
  /** Rewrites every line before it is written (e.g. a redactor of the configuration's own secrets). */
  readonly filter?: ((line: string) => string) | undefined;
}

export interface ServiceLog {
  readonly logger: Logger;
  /** Opens the log file again (SIGHUP): after logrotate renamed it, lines go to the new file. No-op on stdout. */
  reopen(): void;
  /** Writes what is buffered (before exiting). */
  flush(): void;
}

/**
 * oslo.log's `_get_log_file_path`: where the log goes (undefined: stdout).
 * A relative log_file is taken in log_dir (an absolute one wins, as Python's
 * os.path.join); a log_dir alone means `<log_dir>/<program>.log`.
 */
export function logFilePath(file: string | undefined, dir: string | undefined, program: string): string | undefined {
  if (file && dir) return resolve(dir, file);
  if (dir) return resolve(dir, `${program}.log`);
  return file;
}

const LEVEL_NAMES: Readonly<Record<string, string>> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** Keys whose values never reach a log line, at the top level or one level down. */
const SECRET_KEYS = ['password', 'token', 'secret', 'application_credential_secret', 'auth_token', 'headers["x-auth-token"]', 'headers["x-subject-token"]', 'headers.authorization'];
export const REDACTED_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`]);

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** oslo.log's asctime.msecs: `YYYY-MM-DD HH:MM:SS.mmm`, local time. */
export function osloTime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

const OWN_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'request_id']);

/**
 * One JSON record (as pino writes it) as oslo's text line:
 * `<time> <pid> <LEVEL> <name> [<request id>|-] <message> key=value…`; an
 * error's stack follows on lines of their own with the same prefix.
 */
export function osloLine(record: Record<string, unknown>): string {
  const time = typeof record.time === 'string' || typeof record.time === 'number' ? new Date(record.time) : new Date();
  const prefix = `${osloTime(time)} ${String(record.pid ?? process.pid)} ${String(record.level ?? 'INFO')} ${String(record.name ?? '-')} [${typeof record.request_id === 'string' ? record.request_id : '-'}]`;
  const fields: string[] = [];
  let stack: string[] = [];
  for (const [k, v] of Object.entries(record)) {
    if (OWN_KEYS.has(k) || v === undefined) continue;
    const e = v as { message?: unknown; stack?: unknown };
    if (v && typeof v === 'object' && typeof e.stack === 'string') {
      // a serialized Error: its message inline, its stack below
      fields.push(`${k}=${valueText(e.message ?? '')}`);
      stack = e.stack.split('\n').slice(1);
      continue;
    }
    fields.push(`${k}=${valueText(v)}`);
  }
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const head = [prefix, msg, ...fields].filter((s) => s !== '').join(' ');
  return [head, ...stack.map((l) => `${prefix} ${l.trim()}`)].join('\n') + '\n';
}

/** A pino destination that writes text lines instead of pino's JSON. */
function textStream(out: { write(s: string): unknown }): { write(line: string): void } {
  return {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      out.write(osloLine(record));
    },
  };
}

export function serviceLog(opts: ServiceLogOptions): ServiceLog {
  const sonic = opts.sink ? undefined : pino.destination(opts.file ? { dest: opts.file, mkdir: true, append: true, sync: true } : { dest: 1, sync: false });
  const raw = opts.sink ?? sonic!;
  const filter = opts.filter;
  const out = filter ? { write: (line: string) => raw.write(filter(line)) } : raw;
  const requestId = opts.requestId;
  const logger = pino(
    {
      name: opts.name,
      level: opts.level,
      base: { pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: LEVEL_NAMES[label] ?? label.toUpperCase() }) },
      redact: { paths: [...REDACTED_PATHS], censor: '***' },
      ...(requestId
        ? {
            mixin: () => {
              const id = requestId();
              return id ? { request_id: id } : {};
            },
          }
        : {}),
    },
    opts.json ? out : textStream(out),
  );
  return {
    logger,
    reopen: () => {
      if (opts.file && sonic) sonic.reopen();
    },
    flush: () => {
      if (sonic) {
        try {
          sonic.flushSync();
        } catch {
          /* nothing buffered, or the stream is closing */
        }
      }
    },
  };
}
