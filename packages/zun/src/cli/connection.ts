/**
 * Where the `zun` CLI sends its requests and as whom, decided as
 * python-zunclient and the openstack CLI decide it:
 *
 * - credentials: `--os-cloud` / OS_CLOUD (clouds.yaml), else the OS_*
 *   variables, read by the shared auth-sources; every `--os-*` option given on
 *   the command line wins over them (`--os-token` alone means token auth);
 * - the zun-api URL: `--zun-url` (alias `--bypass-url`) or ZUN_URL when given,
 *   else the Keystone catalog's `container` endpoint for `--os-interface`
 *   (default public) in `--os-region-name`; a catalog URL ending in /v1 is
 *   the API root (the CLI's paths start with /v1);
 * - no credentials at all (or auth type none): zun-api's noauth mode at the
 *   given URL or http://127.0.0.1:9517, acting as `--os-project-id`
 *   (X-Project-Id); `--os-token` with a URL sends the token as is (no
 *   Keystone call), as python-zunclient's `--os-token --bypass-url`.
 */
import { buildNeutronAuth, cloudSource, envSource, type AuthSource, type AuthValues } from '@kuryr-ts/openstack/keystone/auth-sources';

export const DEFAULT_URL = 'http://127.0.0.1:9517';
export const SERVICE_TYPE = 'container';

export interface ConnectionOptions {
  /** `--zun-url` / `--bypass-url`. */
  url?: string | undefined;
  /** `--os-cloud`. */
  cloud?: string | undefined;
  /** The `--os-*` options given, by keystoneauth name (endpoint_type is `--os-interface`). */
  auth: { [K in keyof AuthValues]?: string | undefined };
  env: NodeJS.ProcessEnv;
}

export interface Connection {
  /** zun-api's root URL (no /v1, no trailing slash). */
  baseUrl(): Promise<string>;
  headers(): Promise<Record<string, string>>;
  /** Where the URL came from when the user did not give it (for error messages), else undefined. */
  readonly via?: string | undefined;
}

const FLAG: Partial<Record<keyof AuthValues, string>> = { endpoint_type: '--os-interface', cafile: '--os-cacert', insecure: '--insecure' };
const flagOf = (key: keyof AuthValues): string => FLAG[key] ?? `--os-${key.replace(/_/g, '-')}`;

/** `http://host:9517/v1/` → `http://host:9517`; `https://cloud/container/v1` → `https://cloud/container`. */
export const apiRoot = (url: string): string => url.trim().replace(/\/+$/, '').replace(/\/v1$/, '');

export function connect(o: ConnectionOptions): Connection {
  const cloud = o.cloud ?? o.env.OS_CLOUD;
  const base = cloud ? cloudSource(cloud, { env: o.env }) : envSource(o.env);
  const given = Object.fromEntries(Object.entries(o.auth).filter(([, v]) => v !== undefined && v !== '')) as AuthValues;
  const values: AuthValues = { ...base.values, ...given };
  // OS_ENDPOINT and a cloud's network_endpoint_override are Neutron's, never zun-api's
  delete values.endpoint_override;
  if (given.token && !given.auth_type) {
    values.auth_type = 'token';
    delete values.password;
  }
  const url = o.url ?? o.env.ZUN_URL;
  const kind = values.auth_type?.toLowerCase();

  if (kind === 'none' || kind === 'noauth' || (!values.auth_url && !values.token)) {
    const root = apiRoot(url ?? DEFAULT_URL);
    const project = values.project_id ?? o.env.OS_PROJECT_ID;
    return { baseUrl: async () => root, headers: async () => (project ? { 'X-Project-Id': project } : {}), via: url ? undefined : 'the default URL: no credentials were given' };
  }
  if (values.token && url && kind === 'token') {
    const token = values.token;
    return { baseUrl: async () => apiRoot(url), headers: async () => ({ 'X-Auth-Token': token }) };
  }
  const fromBase = Object.keys(base.values).length > 0;
  const source: AuthSource = {
    label: !fromBase ? 'command line' : Object.keys(given).length > 0 ? `${base.label} + command line` : base.label,
    values: { ...values, ...(url ? { endpoint_override: url } : {}) },
    optionName: (k) => (k in given ? flagOf(k) : `${flagOf(k)} / ${base.optionName(k)}`),
  };
  const { auth } = buildNeutronAuth(source, { serviceType: SERVICE_TYPE });
  return {
    baseUrl: async () => apiRoot(await auth.endpoint()),
    headers: () => auth.headers(),
    via: url ? undefined : `the URL of the Keystone catalog's ${SERVICE_TYPE} endpoint; --zun-url gives another`,
  };
}
