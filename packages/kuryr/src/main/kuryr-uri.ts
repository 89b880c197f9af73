/**
 * Whether `[DEFAULT] kuryr_uri` may be served. The plugin API has no
 * authentication of its own: whoever reaches it can create networks and plug
 * ports on this host. Plain HTTP on a non-loopback address is refused unless
 * `[DEFAULT] insecure_kuryr_uri = True`; on loopback (Kuryr's own
 * http://127.0.0.1:23750 spec file) it is served with a warning, as any local
 * user can call it; HTTPS without `ssl_ca_file` (no client certificate) too.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AppError } from '@kuryr-ts/openstack/errors';

export interface KuryrUriOptions {
  kuryrUri: string | undefined;
  enableSsl: boolean;
  sslCaFile: string | undefined;
  insecureKuryrUri: boolean;
  /** Where the address comes from, for the messages (default: `[DEFAULT] kuryr_uri = <uri>`). */
  source?: string | undefined;
}

export type KuryrUriVerdict =
  | { level: 'none' }
  | { level: 'ok' | 'warn'; message: string }
  | { level: 'refuse'; error: AppError };

export function isLoopback(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(a) === 4) return a.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!.startsWith('127.');
  return isIP(a) === 6 && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(a);
}

/** All the addresses `host` stands for are loopback ones (a name is resolved as listen() would: localhost is). */
async function loopbackOnly(host: string): Promise<boolean> {
  if (host === '') return false; // every interface
  if (isIP(host)) return isLoopback(host);
  try {
    const all = await lookup(host, { all: true });
    return all.length > 0 && all.every((a) => isLoopback(a.address));
  } catch {
    return false;
  }
}

export async function assessKuryrUri(opts: KuryrUriOptions): Promise<KuryrUriVerdict> {
  if (!opts.kuryrUri) return { level: 'none' };
  let url: URL;
  try {
    url = new URL(opts.kuryrUri);
  } catch {
    return { level: 'refuse', error: new AppError('KURYR_ERR_CONFIG', 'bad-request', `[DEFAULT] kuryr_uri = ${opts.kuryrUri} is not a URL`) };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const where = opts.source ?? `[DEFAULT] kuryr_uri = ${opts.kuryrUri}`;
  const loopback = await loopbackOnly(host);
  if (opts.enableSsl) {
    if (opts.sslCaFile) return { level: 'ok', message: `${where}: HTTPS, Docker's client certificate required (ssl_ca_file)` };
    return {
      level: loopback ? 'ok' : 'warn',
      message: `${where}: HTTPS without ssl_ca_file: ${loopback ? 'any local user' : 'anyone who reaches it'} can call the plugin API (set ssl_ca_file to require Docker's client certificate)`,
    };
  }
  if (loopback) {
    return {
      level: 'warn',
      message: `${where}: plain HTTP on loopback: any local user can call the plugin API (create networks, plug ports); prefer the unix socket, or HTTPS with ssl_ca_file`,
    };
  }
  if (opts.insecureKuryrUri) {
    return {
      level: 'warn',
      message: `${where}: plain HTTP on a non-loopback address, allowed by insecure_kuryr_uri: anyone who reaches it can call the plugin API unauthenticated`,
    };
  }
  return {
    level: 'refuse',
    error: new AppError(
      'KURYR_ERR_INSECURE_KURYR_URI',
      'bad-request',
      `${where}: plain HTTP on a non-loopback address would serve the plugin API (create networks, plug ports on this host) to anyone who reaches it, ` +
        'unauthenticated; use the unix socket, a loopback address, or enable_ssl with ssl_ca_file (client certificates); ' +
        `or accept the risk with [DEFAULT] insecure_kuryr_uri = True${opts.source ? '; or set [DEFAULT] kuryr_uri, or remove the spec file' : ''}`,
    ),
  };
}
