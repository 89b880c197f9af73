/**
 * zun.conf (oslo INI, like Zun's): read once, checked, frozen.
 *
 *   [DEFAULT] host (= kuryr's [binding] host_id), auth_strategy = keystone | noauth,
 *             noauth_project_id, noauth_roles (member): who a noauth caller that sends no
 *             X-Project-Id / X-Roles is (development only), admin_project_name (admin), admin_project_domain_name (Default),
 *             admin_role (admin): the cloud admins are that role in that project, debug; log_file, log_dir,
 *             use_json (oslo.log's: the log's file, else stdout, and JSON lines instead of oslo's text lines)
 *   [api] host_ip (127.0.0.1), port (9517), max_log_bytes (1 MiB: longer logs keep their end,
 *            marked), max_exec_output_bytes (1 MiB: longer output keeps its start, marked); metrics_uri
 *            (unset: http://HOST:PORT of a listener of /metrics, /healthz, /readyz only, loopback
 *            unless insecure_metrics_uri = True; docs/observability.md)
 *   [oslo_middleware] max_request_body_size (114688 bytes, oslo's default: larger bodies are 413)
 *   [database] connection: sqlite:////path/zun.db (default /var/lib/zun/zun.sqlite) | postgresql://user@host:port/db
 *   [docker] socket (/var/run/docker.sock), stop_timeout (10), ping_interval (10 s; 0 = only
 *            on demand), ping_timeout (3 s): the health check of every compute host;
 *            api_timeout (120 s: any other Docker call), exec_timeout (300 s: an exec's run)
 *   [compute_hosts] NAME = unix:///path/to/docker.sock, one line per Docker host; NAME is
 *            the host's binding host id (kuryr's [binding] host_id, the OVN chassis). When
 *            present it is the complete list; absent = one host, [DEFAULT] host at [docker] socket
 *   [scheduler] disabled_hosts: comma-separated hosts least-loaded placement skips (an admin may
 *            still request them; their containers keep working)
 *   [network] driver_name (kuryr), sandbox_image (kuryr/pause:latest)
 *   [neutron] keystoneauth options of the service's Neutron client (as kuryr.conf [neutron])
 *   [keystone_authtoken] keystoneauth options of the service user that validates tokens
 *                        (defaults to [neutron]'s when it has an auth_url); token_cache_time
 *                        (5 s: how long a validated token is reused for reads; writes always
 *                        ask Keystone)
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseIni, type IniDocument } from '@kuryr-ts/openstack/config/ini';
import { ConfigError } from '@kuryr-ts/openstack/errors';
import type { AdminProject } from '../domain/context.js';

export interface ComputeHostConfig {
  /** Binding host id = OVN chassis name. */
  name: string;
  /** Path of the Docker Engine API socket. */
  socket: string;
}

export interface ZunConfig {
  host: string;
  /** The Docker hosts containers are placed on (at least one). */
  computeHosts: ComputeHostConfig[];
  disabledHosts: string[];
  authStrategy: 'keystone' | 'noauth';
  noauthProjectId: string;
  noauthRoles: string[];
  adminProject: AdminProject;
  /** Seconds a validated token is reused for reads. */
  tokenCacheS: number;
  debug: boolean;
  /** Where the log goes: [DEFAULT] log_file, log_dir (oslo.log's rules); both unset: stdout. */
  log: { file: string | undefined; dir: string | undefined; json: boolean };
  api: {
    hostIp: string;
    port: number;
    maxBodyBytes: number;
    maxLogBytes: number;
    maxExecOutputBytes: number;
    metricsUri: string | undefined;
    insecureMetricsUri: boolean;
  };
  database: string;
  docker: { socket: string; stopTimeoutS: number; pingIntervalS: number; pingTimeoutS: number; apiTimeoutS: number; execTimeoutS: number };
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
  const bool = (v: string | undefined, what: string): boolean => {
    const t = (v ?? 'false').toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(t)) return true;
    if (['false', '0', 'no', 'off'].includes(t)) return false;
    throw new ConfigError(`zun.conf ${what} = ${v}: not a boolean`);
  };
  const strategy = (d.auth_strategy ?? 'keystone').toLowerCase();
  if (strategy !== 'keystone' && strategy !== 'noauth') throw new ConfigError(`zun.conf [DEFAULT] auth_strategy = ${strategy}: use keystone or noauth`);
  const neutron = section(doc, 'neutron');
  const ks = section(doc, 'keystone_authtoken');
  const port = num(env.ZUN_API_PORT ?? api.port, 9517, '[api] port');
  if (port > 65535) throw new ConfigError(`zun.conf [api] port = ${port}: out of range`);
  const dockerSection = section(doc, 'docker');
  const host = d.host ?? hostname();
  const socket = dockerSection.socket ?? '/var/run/docker.sock';
  const computeHosts = computeHostsOf(doc, { name: host, socket });
  const disabledHosts = (section(doc, 'scheduler').disabled_hosts ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  for (const h of disabledHosts) {
    if (!computeHosts.some((c) => c.name === h)) throw new ConfigError(`zun.conf [scheduler] disabled_hosts: ${h} is not a compute host (${computeHosts.map((c) => c.name).join(', ')})`);
  }
  const pingTimeoutS = num(dockerSection.ping_timeout, 3, '[docker] ping_timeout');
  if (pingTimeoutS < 1) throw new ConfigError('zun.conf [docker] ping_timeout must be at least 1 (seconds)');
  const positive = (v: string | undefined, dflt: number, what: string): number => {
    const n = num(v, dflt, what);
    if (n < 1) throw new ConfigError(`zun.conf ${what} must be at least 1`);
    return n;
  };
  const { token_cache_time: tokenCache, ...ksAuth } = ks;
  return Object.freeze({
    host,
    computeHosts,
    disabledHosts,
    authStrategy: strategy,
    noauthProjectId: d.noauth_project_id || 'noauth-project',
    noauthRoles: (d.noauth_roles || 'member').split(',').map((r) => r.trim()).filter(Boolean),
    adminProject: Object.freeze({ name: d.admin_project_name || 'admin', domainName: d.admin_project_domain_name || 'Default', role: d.admin_role || 'admin' }),
    tokenCacheS: num(tokenCache, 5, '[keystone_authtoken] token_cache_time'),
    debug: ['true', '1', 'yes'].includes((d.debug ?? '').toLowerCase()),
    log: { file: d.log_file || undefined, dir: d.log_dir || undefined, json: bool(d.use_json, '[DEFAULT] use_json') },
    api: {
      hostIp: api.host_ip ?? '127.0.0.1',
      port,
      maxBodyBytes: positive(section(doc, 'oslo_middleware').max_request_body_size, 114_688, '[oslo_middleware] max_request_body_size'),
      maxLogBytes: positive(api.max_log_bytes, 1024 * 1024, '[api] max_log_bytes'),
      maxExecOutputBytes: positive(api.max_exec_output_bytes, 1024 * 1024, '[api] max_exec_output_bytes'),
      metricsUri: api.metrics_uri || undefined,
      insecureMetricsUri: bool(api.insecure_metrics_uri, '[api] insecure_metrics_uri'),
    },
    database: env.ZUN_DATABASE_URL ?? section(doc, 'database').connection ?? 'sqlite:////var/lib/zun/zun.sqlite',
    docker: {
      socket,
      stopTimeoutS: num(dockerSection.stop_timeout, 10, '[docker] stop_timeout'),
      pingIntervalS: num(dockerSection.ping_interval, 10, '[docker] ping_interval'),
      pingTimeoutS,
      apiTimeoutS: positive(dockerSection.api_timeout, 120, '[docker] api_timeout'),
      execTimeoutS: positive(dockerSection.exec_timeout, 300, '[docker] exec_timeout'),
    },
    network: { driverName: section(doc, 'network').driver_name ?? 'kuryr', sandboxImage: section(doc, 'network').sandbox_image ?? 'kuryr/pause:latest' },
    neutron,
    keystoneAuthtoken: Object.keys(ksAuth).length > 0 ? ksAuth : neutron,
  }) as ZunConfig;
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/**
 * `[compute_hosts] NAME = unix:///path` (or a plain /path) per Docker host, in
 * file order; without the section, the single host `fallback`.
 */
export function computeHostsOf(doc: IniDocument, fallback: ComputeHostConfig): ComputeHostConfig[] {
  const entries = [...(doc.get('compute_hosts')?.entries() ?? [])];
  if (entries.length === 0) return [fallback];
  return entries.map(([name, { value }]) => {
    if (!HOST_NAME.test(name)) throw new ConfigError(`zun.conf [compute_hosts] ${name}: not a host name (letters, digits, '.', '_', '-')`);
    const path = value.replace(/^unix:\/\//, '');
    if (!path.startsWith('/')) throw new ConfigError(`zun.conf [compute_hosts] ${name} = ${value}: use unix:///absolute/path/docker.sock (only unix sockets are supported)`);
    return { name, socket: path };
  });
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
