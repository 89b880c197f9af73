/**
 * zun.conf (oslo INI, like Zun's): read once, checked, frozen.
 *
 *   [DEFAULT] host (= kuryr's [binding] host_id), auth_strategy = keystone | noauth,
 *             noauth_project_id, debug
 *   [api] host_ip (127.0.0.1), port (9517)
 *   [database] connection: sqlite:////path/zun.db (default /var/lib/zun/zun.sqlite) | postgresql://user@host:port/db
 *   [docker] socket (/var/run/docker.sock), stop_timeout (10)
 *   [network] driver_name (kuryr), sandbox_image (kuryr/pause:latest)
 *   [neutron] keystoneauth options of the service's Neutron client (as kuryr.conf [neutron])
 *   [keystone_authtoken] keystoneauth options of the service user that validates tokens
 *                        (defaults to [neutron]'s when it has an auth_url)
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseIni, type IniDocument } from '../../config/ini.js';
import { ConfigError } from '../../domain/errors.js';

export interface ZunConfig {
  host: string;
  authStrategy: 'keystone' | 'noauth';
  noauthProjectId: string;
  debug: boolean;
  api: { hostIp: string; port: number };
  database: string;
  docker: { socket: string; stopTimeoutS: number };
  network: { driverName: string; sandboxImage: string };
  neutron: Record<string, string>;
  keystoneAuthtoken: Record<string, string>;
}

const section = (doc: IniDocument, name: string): Record<string, string> =>
  Object.fromEntries([...(doc.get(name)?.entries() ?? [])].map(([k, v]) => [k, v.value]));

export function buildZunConfig(doc: IniDocument, env: NodeJS.ProcessEnv = process.env): ZunConfig {
  const d = section(doc, 'DEFAULT');
  const api = section(doc, 'api');
  const num = (v: string | undefined, dflt: number, what: string): number => {
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`zun.conf ${what} = ${v}: not a non-negative integer`);
    return n;
  };
  const strategy = (d.auth_strategy ?? 'keystone').toLowerCase();
  if (strategy !== 'keystone' && strategy !== 'noauth') throw new ConfigError(`zun.conf [DEFAULT] auth_strategy = ${strategy}: use keystone or noauth`);
  const neutron = section(doc, 'neutron');
  const ks = section(doc, 'keystone_authtoken');
  const port = num(env.ZUN_API_PORT ?? api.port, 9517, '[api] port');
  if (port > 65535) throw new ConfigError(`zun.conf [api] port = ${port}: out of range`);
  return Object.freeze({
    host: d.host ?? hostname(),
    authStrategy: strategy,
    noauthProjectId: d.noauth_project_id ?? 'noauth-project',
    debug: ['true', '1', 'yes'].includes((d.debug ?? '').toLowerCase()),
    api: { hostIp: api.host_ip ?? '127.0.0.1', port },
    database: env.ZUN_DATABASE_URL ?? section(doc, 'database').connection ?? 'sqlite:////var/lib/zun/zun.sqlite',
    docker: { socket: section(doc, 'docker').socket ?? '/var/run/docker.sock', stopTimeoutS: num(section(doc, 'docker').stop_timeout, 10, '[docker] stop_timeout') },
    network: { driverName: section(doc, 'network').driver_name ?? 'kuryr', sandboxImage: section(doc, 'network').sandbox_image ?? 'kuryr/pause:latest' },
    neutron,
    keystoneAuthtoken: Object.keys(ks).length > 0 ? ks : neutron,
  }) as ZunConfig;
}

export function loadZunConfig(paths: readonly string[], env: NodeJS.ProcessEnv = process.env): ZunConfig {
  const doc: IniDocument = new Map();
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
    }
    for (const [name, entries] of parseIni(text, path)) {
      const target = doc.get(name) ?? new Map();
      for (const [k, v] of entries) target.set(k, v);
      doc.set(name, target);
    }
  }
  return buildZunConfig(doc, env);
}
