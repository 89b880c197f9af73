/**
 * Where the daemon's Neutron credentials come from, first match wins:
 *   1. kuryr.conf [neutron] (keystoneauth option names, as Kuryr-libnetwork),
 *      when it sets auth_type = none/noauth or any credential option;
 *   2. a clouds.yaml cloud named by [neutron] cloud (kuryr-ts addition) or
 *      OS_CLOUD (standard search path, OS_CLIENT_CONFIG_FILE, secure.yaml);
 *   3. OS_* environment variables (as the openstack CLI reads them).
 * Adapter options set in kuryr.conf [neutron] (region_name, endpoint_type,
 * endpoint_override, cafile, certfile, keyfile, insecure) win over the
 * cloud's or the environment's. Every error names the source and the option,
 * never a secret value.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';
import { ConfigError } from '../errors.js';
import { NoAuth, type NeutronAuth } from './auth.js';
import {
  KeystoneAuth,
  normalizeInterface,
  tlsFetch,
  type DomainRef,
  type KeystoneMethod,
  type KeystoneScope,
  type UserRef,
} from './keystone-auth.js';

/** keystoneauth / kuryr.conf [neutron] option names. */
const AUTH_KEYS = [
  'auth_type',
  'auth_url',
  'username',
  'user_id',
  'password',
  'user_domain_name',
  'user_domain_id',
  'project_name',
  'project_id',
  'tenant_name',
  'tenant_id',
  'project_domain_name',
  'project_domain_id',
  'domain_name',
  'domain_id',
  'default_domain_name',
  'default_domain_id',
  'system_scope',
  'trust_id',
  'token',
  'application_credential_id',
  'application_credential_name',
  'application_credential_secret',
] as const;
const ADAPTER_KEYS = ['region_name', 'endpoint_type', 'endpoint_override', 'cafile', 'certfile', 'keyfile', 'insecure'] as const;
const CREDENTIAL_KEYS = [
  'auth_url',
  'username',
  'user_id',
  'password',
  'token',
  'application_credential_id',
  'application_credential_name',
  'application_credential_secret',
] as const;

type Key = (typeof AUTH_KEYS)[number] | (typeof ADAPTER_KEYS)[number];
export type AuthValues = Partial<Record<Key, string>>;

export interface AuthSource {
  /** e.g. `kuryr.conf [neutron]`, `clouds.yaml cloud "x" (/path)`, `OS_* environment`. */
  label: string;
  values: AuthValues;
  /** How the user spells an option in this source (for error messages). */
  optionName(key: Key): string;
}

export interface SourceOptions {
  env?: NodeJS.ProcessEnv;
  /** Directory of ./clouds.yaml (default process.cwd()). */
  cwd?: string;
  home?: string;
}

const ENV_NAMES: Record<Key, string> = {
  auth_type: 'OS_AUTH_TYPE',
  auth_url: 'OS_AUTH_URL',
  username: 'OS_USERNAME',
  user_id: 'OS_USER_ID',
  password: 'OS_PASSWORD',
  user_domain_name: 'OS_USER_DOMAIN_NAME',
  user_domain_id: 'OS_USER_DOMAIN_ID',
  project_name: 'OS_PROJECT_NAME',
  project_id: 'OS_PROJECT_ID',
  tenant_name: 'OS_TENANT_NAME',
  tenant_id: 'OS_TENANT_ID',
  project_domain_name: 'OS_PROJECT_DOMAIN_NAME',
  project_domain_id: 'OS_PROJECT_DOMAIN_ID',
  domain_name: 'OS_DOMAIN_NAME',
  domain_id: 'OS_DOMAIN_ID',
  default_domain_name: 'OS_DEFAULT_DOMAIN_NAME',
  default_domain_id: 'OS_DEFAULT_DOMAIN_ID',
  system_scope: 'OS_SYSTEM_SCOPE',
  trust_id: 'OS_TRUST_ID',
  token: 'OS_TOKEN',
  application_credential_id: 'OS_APPLICATION_CREDENTIAL_ID',
  application_credential_name: 'OS_APPLICATION_CREDENTIAL_NAME',
  application_credential_secret: 'OS_APPLICATION_CREDENTIAL_SECRET',
  region_name: 'OS_REGION_NAME',
  endpoint_type: 'OS_INTERFACE',
  endpoint_override: 'OS_ENDPOINT',
  cafile: 'OS_CACERT',
  certfile: 'OS_CERT',
  keyfile: 'OS_KEY',
  insecure: 'OS_INSECURE',
};
const CLOUD_NAMES: Partial<Record<Key, string>> = {
  auth_type: 'auth_type',
  region_name: 'region_name',
  endpoint_type: 'interface',
  endpoint_override: 'network_endpoint_override',
  cafile: 'cacert',
  certfile: 'cert',
  keyfile: 'key',
  insecure: 'verify/insecure',
};

const isTrue = (v: string | undefined): boolean => ['true', '1', 'yes', 'on'].includes((v ?? '').trim().toLowerCase());
const pick = (from: Readonly<Record<string, string | undefined>>, keys: readonly Key[]): AuthValues =>
  Object.fromEntries(keys.filter((k) => from[k] !== undefined && from[k] !== '').map((k) => [k, from[k]])) as AuthValues;

export function confSource(conf: Readonly<Record<string, string>>): AuthSource {
  const values = pick(conf, [...AUTH_KEYS, ...ADAPTER_KEYS]);
  if (!values.endpoint_override && conf.endpoint) values.endpoint_override = conf.endpoint;
  return { label: 'kuryr.conf [neutron]', values, optionName: (k) => `[neutron] ${k}` };
}

export function envSource(env: NodeJS.ProcessEnv): AuthSource {
  const values: AuthValues = {};
  for (const [key, name] of Object.entries(ENV_NAMES) as Array<[Key, string]>) {
    const v = env[name];
    if (v !== undefined && v !== '') values[key] = v;
  }
  if (!values.endpoint_type && env.OS_ENDPOINT_TYPE) values.endpoint_type = env.OS_ENDPOINT_TYPE;
  if (!values.default_domain_id && !values.default_domain_name && env.OS_DEFAULT_DOMAIN) values.default_domain_id = env.OS_DEFAULT_DOMAIN;
  if (env.OS_IDENTITY_API_VERSION && !/^3/.test(env.OS_IDENTITY_API_VERSION)) {
    throw new ConfigError(`OS_IDENTITY_API_VERSION=${env.OS_IDENTITY_API_VERSION}: only Keystone v3 is supported`);
  }
  return { label: 'OS_* environment', values, optionName: (k) => ENV_NAMES[k] };
}

/** clouds.yaml / secure.yaml search path, as openstacksdk: the env file first, then ., ~/.config/openstack, /etc/openstack. */
export function cloudsFiles(kind: 'clouds' | 'secure', opts: SourceOptions = {}): string[] {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const dirs = [opts.cwd ?? process.cwd(), join(env.XDG_CONFIG_HOME || join(home, '.config'), 'openstack'), '/etc/openstack'];
  const first = kind === 'clouds' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  return [...(first ? [first] : []), ...dirs.flatMap((d) => [join(d, `${kind}.yaml`), join(d, `${kind}.yml`)])];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(out[k]) ? merge(out[k] as Obj, v) : v;
  return out;
}

/** The YAML parser, loaded on the first clouds.yaml read (a daemon configured by kuryr.conf never needs it). */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof YamlModule).parse(text);
}

function loadYaml(path: string): Obj {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return isObj(doc) ? doc : {};
}

export function cloudSource(name: string, opts: SourceOptions = {}): AuthSource {
  const searched = cloudsFiles('clouds', opts);
  const file = searched.find((p) => existsSync(p));
  if (!file) throw new ConfigError(`clouds.yaml cloud "${name}": no clouds.yaml found (searched ${searched.join(', ')})`);
  const clouds = loadYaml(file).clouds;
  const secureFile = cloudsFiles('secure', opts).find((p) => existsSync(p));
  const secure = secureFile ? loadYaml(secureFile).clouds : undefined;
  const base = isObj(clouds) ? clouds[name] : undefined;
  if (!isObj(base)) {
    const have = isObj(clouds) ? Object.keys(clouds).join(', ') : 'none';
    throw new ConfigError(`clouds.yaml cloud "${name}" not found in ${file} (clouds there: ${have})`);
  }
  const cloud = isObj(secure) && isObj(secure[name]) ? merge(base, secure[name] as Obj) : base;
  const str = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v));
  const auth = isObj(cloud.auth) ? cloud.auth : {};
  const values: AuthValues = {};
  for (const k of AUTH_KEYS) {
    const v = str(k === 'auth_type' ? cloud.auth_type : auth[k]);
    if (v !== undefined) values[k] = v;
  }
  const regions = Array.isArray(cloud.regions) ? cloud.regions : [];
  const firstRegion = isObj(regions[0]) ? regions[0].name : regions[0];
  const adapter: Partial<Record<Key, string | undefined>> = {
    region_name: str(cloud.region_name) ?? str(firstRegion),
    endpoint_type: str(cloud.interface) ?? str(cloud.endpoint_type),
    endpoint_override: str(cloud.network_endpoint_override) ?? str(auth.endpoint),
    cafile: str(cloud.cacert),
    certfile: str(cloud.cert),
    keyfile: str(cloud.key),
    insecure: cloud.verify === false || isTrue(str(cloud.insecure)) ? 'true' : undefined,
  };
  for (const [k, v] of Object.entries(adapter) as Array<[Key, string | undefined]>) if (v !== undefined) values[k] = v;
  const api = str(cloud.identity_api_version);
  if (api && !/^3/.test(api)) throw new ConfigError(`clouds.yaml cloud "${name}": identity_api_version ${api}: only Keystone v3 is supported`);
  return {
    label: `clouds.yaml cloud "${name}" (${file})`,
    values,
    optionName: (k) => CLOUD_NAMES[k] ?? `auth.${k}`,
  };
}

/** The source the daemon uses, and kuryr.conf's adapter options laid over it. */
export function resolveAuthSource(conf: Readonly<Record<string, string>>, opts: SourceOptions = {}): AuthSource {
  const env = opts.env ?? process.env;
  const type = conf.auth_type?.toLowerCase();
  const fromConf = confSource(conf);
  if (type === 'none' || type === 'noauth' || CREDENTIAL_KEYS.some((k) => conf[k])) return fromConf;
  const cloud = conf.cloud || env.OS_CLOUD;
  const source = cloud
    ? cloudSource(cloud, opts)
    : CREDENTIAL_KEYS.some((k) => env[ENV_NAMES[k]]) || env.OS_AUTH_TYPE
      ? envSource(env)
      : undefined;
  if (!source) return fromConf;
  const overrides = pick(fromConf.values, ADAPTER_KEYS);
  return {
    label: Object.keys(overrides).length ? `${source.label} + kuryr.conf [neutron] ${Object.keys(overrides).join(', ')}` : source.label,
    values: { ...source.values, ...overrides },
    optionName: (k) => (k in overrides ? fromConf.optionName(k) : source.optionName(k)),
  };
}

type AuthKind = 'none' | 'password' | 'application_credential' | 'token';

function authKind(source: AuthSource): AuthKind {
  const v = source.values;
  const raw = v.auth_type?.toLowerCase().replace(/-/g, '_');
  if (!raw) return v.application_credential_secret ? 'application_credential' : v.token && !v.password ? 'token' : 'password';
  if (raw === 'none' || raw === 'noauth') return 'none';
  if (raw === 'password' || raw === 'v3password') return 'password';
  if (['v3applicationcredential', 'applicationcredential', 'application_credential', 'v3application_credential'].includes(raw)) {
    return 'application_credential';
  }
  if (raw === 'token' || raw === 'v3token') return 'token';
  if (raw.startsWith('v2')) throw new ConfigError(`${source.label}: ${source.optionName('auth_type')} = ${v.auth_type}: only Keystone v3 is supported`);
  throw new ConfigError(
    `${source.label}: ${source.optionName('auth_type')} = ${v.auth_type} is not supported (use password, v3applicationcredential, token or none)`,
  );
}

export interface BuildOptions {
  timeoutMs?: number;
  /** Catalog service type of the endpoint (default `network`; the zun CLI asks for `container`). */
  serviceType?: string;
  /** The current request's id, sent to Keystone as X-OpenStack-Request-ID (OpStats.requestId). */
  requestId?: (() => string | undefined) | undefined;
}

/** The NeutronAuth for a source; validates it (ConfigError naming the option). */
export function buildNeutronAuth(source: AuthSource, opts: BuildOptions = {}): { auth: NeutronAuth; description: string } {
  const v = source.values;
  const name = source.optionName;
  const fail = (what: string): never => {
    throw new ConfigError(`${source.label}: ${what}`);
  };
  const kind = authKind(source);
  const tls = { caFile: v.cafile, certFile: v.certfile, keyFile: v.keyfile, insecure: isTrue(v.insecure) };
  const fetch = tlsFetch(tls, (k) => name(k));
  const tlsText = tls.insecure ? ' (TLS not verified: insecure)' : tls.caFile ? ` (CA ${tls.caFile})` : '';
  if (kind === 'none') {
    if (!v.endpoint_override) fail(`auth_type none needs ${name('endpoint_override')} (the Neutron URL)`);
    return { auth: new NoAuth(v.endpoint_override!, fetch), description: `${source.label}: no auth, Neutron at ${v.endpoint_override}${tlsText}` };
  }
  if (!v.auth_url) {
    fail(
      `no Keystone auth_url: set ${name('auth_url')} (or [neutron] cloud / OS_CLOUD with a clouds.yaml, or OS_AUTH_URL and the other OS_* variables), ` +
        'or [neutron] auth_type = none with endpoint_override for a Neutron without Keystone',
    );
  }
  const domain = (id: string | undefined, nm: string | undefined): DomainRef | undefined => (id ? { id } : nm ? { name: nm } : undefined);
  const defaultDomain = domain(v.default_domain_id, v.default_domain_name) ?? { id: 'default' };
  const userDomain = domain(v.user_domain_id, v.user_domain_name) ?? defaultDomain;
  const projectDomain = domain(v.project_domain_id, v.project_domain_name) ?? defaultDomain;
  const user: UserRef | undefined = v.user_id ? { id: v.user_id } : v.username ? { name: v.username, domain: userDomain } : undefined;

  let method: KeystoneMethod;
  if (kind === 'password') {
    if (!user) fail(`password auth needs ${name('username')} or ${name('user_id')}`);
    if (v.password === undefined) fail(`password auth needs ${name('password')}`);
    method = { kind: 'password', user: user!, password: v.password! };
  } else if (kind === 'token') {
    if (!v.token) fail(`token auth needs ${name('token')}`);
    method = { kind: 'token', token: v.token! };
  } else {
    if (!v.application_credential_secret) fail(`application credential auth needs ${name('application_credential_secret')}`);
    const secret = v.application_credential_secret!;
    if (v.application_credential_id) method = { kind: 'application_credential', id: v.application_credential_id, secret };
    else if (v.application_credential_name && user) method = { kind: 'application_credential', name: v.application_credential_name, user, secret };
    else {
      method = fail(
        `application credential auth needs ${name('application_credential_id')}, or ${name('application_credential_name')} with ${name('username')} or ${name('user_id')}`,
      );
    }
  }

  let scope: KeystoneScope | undefined;
  const projectId = v.project_id ?? v.tenant_id;
  const projectName = v.project_name ?? v.tenant_name;
  if (kind === 'application_credential') scope = undefined;
  else if (projectId) scope = { project: { id: projectId } };
  else if (projectName) scope = { project: { name: projectName, domain: projectDomain } };
  else if (v.domain_id || v.domain_name) scope = { domain: domain(v.domain_id, v.domain_name)! };
  else if (v.system_scope) {
    if (v.system_scope.toLowerCase() !== 'all') fail(`${name('system_scope')} = ${v.system_scope}: only "all" is supported`);
    scope = { system: { all: true } };
  } else if (v.trust_id) scope = { 'OS-TRUST:trust': { id: v.trust_id } };

  const iface = normalizeInterface(v.endpoint_type ?? 'public');
  if (!iface) fail(`${name('endpoint_type')} = ${v.endpoint_type}: use public, internal or admin (publicURL, internalURL, adminURL)`);

  const auth = new KeystoneAuth({
    authUrl: v.auth_url!,
    method: method!,
    scope,
    interface: iface,
    regionName: v.region_name,
    endpointOverride: v.endpoint_override,
    serviceType: opts.serviceType,
    timeoutMs: opts.timeoutMs,
    fetch,
    requestId: opts.requestId,
  });
  return { auth, description: `${source.label}: ${auth.describe()}${tlsText}` };
}

/** resolveAuthSource + buildNeutronAuth: what the daemon calls. */
export function neutronAuthFrom(
  conf: Readonly<Record<string, string>>,
  opts: SourceOptions & BuildOptions = {},
): { auth: NeutronAuth; description: string } {
  return buildNeutronAuth(resolveAuthSource(conf, opts), opts);
}
