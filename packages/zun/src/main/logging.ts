/**
 * zun-api's logger: pino (JSON lines), every line passed through the
 * Redactor before it is written — whatever logged it (zun-api, fastify's
 * request log, an error's message or stack): the configuration's own secrets
 * ([neutron] / [keystone_authtoken] passwords and application credential
 * secrets, the database password) and the generic shapes (URL passwords,
 * password=…, tokens) never reach the log.
 */
import { pino, type Logger } from 'pino';
import { secretValues, urlPassword, type Redactor } from '../lib/redact.js';
import type { ZunConfig } from './zun-config.js';

/** Every secret a zun.conf holds. */
export function secretsOf(config: Pick<ZunConfig, 'neutron' | 'keystoneAuthtoken' | 'database'>): string[] {
  const db = urlPassword(config.database);
  return [...secretValues(config.neutron), ...secretValues(config.keystoneAuthtoken), ...(db ? [db, decodeURIComponentSafe(db)] : [])];
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface LoggerOptions {
  level: string;
  redactor: Redactor;
  /** Where the lines go (default: standard output). */
  write?: (line: string) => void;
}

export function zunLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => void process.stdout.write(line));
  return pino({ level: opts.level, base: { svc: 'zun-api' } }, { write: (line: string) => write(opts.redactor.text(line)) });
}
