/**
 * kuryr.conf: the same sections, option names and defaults as
 * Kuryr-libnetwork + kuryr-lib (oslo.config), so an existing
 * /etc/kuryr/kuryr.conf works unchanged. As with oslo.config, options and
 * sections kuryr-ts does not know are ignored — each one is reported as a
 * warning naming the file, section and option; an invalid value of a known
 * option fails at start with a message naming it and where it was set.
 * Options that only meant something to the Python implementation are
 * accepted and ignored (listed in docs/configuration.md).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError } from '@kuryr-ts/openstack/errors';
import { parseIni, type IniDocument, type IniEntry } from '@kuryr-ts/openstack/config/ini';

type Kind = 'str' | 'bool' | 'int' | 'list' | { choices: readonly string[] };
interface OptionDef {
  kind: Kind;
  default?: string;
  /** Accepted for compatibility, no effect in kuryr-ts. */
  ignored?: true;
  deprecatedName?: string;
  secret?: true;
}

const OSLO_LOG_IGNORED = [
  'verbose',
  'use_syslog',
  'syslog_log_facility',
  'use_stderr',
  'use_journal',
  'log_config_append',
  'log_date_format',
  'watch_log_file',
  'default_log_levels',
  'logging_context_format_string',
  'logging_default_format_string',
  'logging_exception_prefix',
  'logging_debug_format_suffix',
  'logging_user_identity_format',
  'instance_format',
  'instance_uuid_format',
  'publish_errors',
  'fatal_deprecations',
  'rate_limit_interval',
  'rate_limit_burst',
  'rate_limit_except_level',
  'use_eventlog',
  'log_rotation_type',
  'log_rotate_interval',
  'log_rotate_interval_type',
  'max_logfile_count',
  'max_logfile_size_mb',
] as const;

const DEFS: Record<string, Record<string, OptionDef>> = {
  DEFAULT: {
    kuryr_uri: { kind: 'str' },
    capability_scope: { kind: { choices: ['local', 'global'] }, default: 'local' },
    local_default_address_space: { kind: 'str', default: 'no_address_space' },
    global_default_address_space: { kind: 'str', default: 'no_address_space' },
    default_port_driver: { kind: 'str', default: 'kuryr_libnetwork.port_driver.drivers.veth' },
    port_driver: { kind: 'str', ignored: true },
    enabled_port_drivers: { kind: 'list', default: 'kuryr_libnetwork.port_driver.drivers.veth' },
    process_external_connectivity: { kind: 'bool', default: 'true' },
    enable_ssl: { kind: 'bool', default: 'false' },
    ssl_cert_file: { kind: 'str', default: '/var/lib/kuryr/certs/cert.pem' },
    ssl_key_file: { kind: 'str', default: '/var/lib/kuryr/certs/key.pem' },
    // kuryr-ts addition: require Docker's client certificate, signed by this CA
    ssl_ca_file: { kind: 'str' },
    // kuryr-ts addition: serve kuryr_uri over plain HTTP on a non-loopback address
    insecure_kuryr_uri: { kind: 'bool', default: 'false' },
    pybasedir: { kind: 'str', ignored: true },
    bindir: { kind: 'str', default: '/usr/libexec/kuryr', ignored: true },
    subnetpool_name_prefix: { kind: 'str', default: 'kuryrPool' },
    deployment_type: { kind: 'str', ignored: true },
    debug: { kind: 'bool', default: 'false' },
    log_file: { kind: 'str' },
    log_dir: { kind: 'str' },
    use_json: { kind: 'bool', default: 'false' },
    // kuryr-ts additions
    plugin_socket: { kind: 'str', default: '/run/docker/plugins/kuryr.sock' },
    ip_range_as_allocation_pool: { kind: 'bool', default: 'false' },
    delete_ports_after_reply: { kind: 'bool', default: 'false' },
    // kuryr-ts additions: reconciliation (docs/reconcile.md)
    reconcile_interval: { kind: 'int', default: '300' },
    reconcile_grace_period: { kind: 'int', default: '600' },
    docker_host: { kind: 'str', default: 'unix:///var/run/docker.sock' },
    // kuryr-ts additions: /metrics, /healthz, /readyz on a TCP listener of their own (docs/observability.md)
    metrics_uri: { kind: 'str' },
    insecure_metrics_uri: { kind: 'bool', default: 'false' },
    ...Object.fromEntries(OSLO_LOG_IGNORED.map((o) => [o, { kind: 'str', ignored: true } as OptionDef])),
  },
  neutron: {
    enable_dhcp: { kind: 'bool', default: 'true' },
    default_subnetpool_v4: { kind: 'str', default: 'kuryr' },
    default_subnetpool_v6: { kind: 'str', default: 'kuryr6' },
    vif_plugging_is_fatal: { kind: 'bool', default: 'false' },
    vif_plugging_timeout: { kind: 'int', default: '0' },
    region_name: { kind: 'str' },
    // keystoneauth's names; the Keystone v2 spellings are accepted too
    endpoint_type: { kind: { choices: ['public', 'admin', 'internal', 'publicURL', 'adminURL', 'internalURL'] }, default: 'public' },
    cafile: { kind: 'str' },
    certfile: { kind: 'str' },
    keyfile: { kind: 'str' },
    insecure: { kind: 'bool', default: 'false' },
    timeout: { kind: 'int' },
    collect_timing: { kind: 'bool', ignored: true },
    split_loggers: { kind: 'bool', ignored: true },
    auth_type: { kind: 'str' },
    auth_section: { kind: 'str' },
    auth_url: { kind: 'str' },
    username: { kind: 'str' },
    user_id: { kind: 'str' },
    password: { kind: 'str', secret: true },
    project_name: { kind: 'str' },
    project_id: { kind: 'str' },
    project_domain_name: { kind: 'str' },
    project_domain_id: { kind: 'str' },
    user_domain_name: { kind: 'str' },
    user_domain_id: { kind: 'str' },
    domain_name: { kind: 'str' },
    domain_id: { kind: 'str' },
    default_domain_name: { kind: 'str' },
    default_domain_id: { kind: 'str' },
    trust_id: { kind: 'str' },
    system_scope: { kind: 'str' },
    token: { kind: 'str', secret: true },
    tenant_name: { kind: 'str' },
    tenant_id: { kind: 'str' },
    application_credential_id: { kind: 'str' },
    application_credential_name: { kind: 'str' },
    application_credential_secret: { kind: 'str', secret: true },
    // keystoneauth adapter options; `endpoint` is the noauth plugin's option
    endpoint_override: { kind: 'str' },
    endpoint: { kind: 'str' },
    // kuryr-ts addition: take the credentials from this clouds.yaml cloud
    cloud: { kind: 'str' },
    // kuryr-ts additions: the background probe of Neutron (seconds; a deadline of 0 retries forever)
    probe_max_interval: { kind: 'int', default: '30' },
    probe_deadline: { kind: 'int', default: '0' },
  },
  binding: {
    veth_dst_prefix: { kind: 'str', default: 'eth' },
    default_driver: { kind: 'str', default: 'kuryr.lib.binding.drivers.veth', deprecatedName: 'driver' },
    enabled_drivers: { kind: 'list', default: 'kuryr.lib.binding.drivers.veth' },
    link_iface: { kind: 'str', default: '' },
    // kuryr-ts additions
    host_id: { kind: 'str' },
    integration_bridge: { kind: 'str', default: 'br-int' },
    force_vif_type: { kind: { choices: ['ovs', 'ovs_hybrid', 'bridge', 'tap'] } },
  },
  // kuryr-ts addition, with Kuryr-Kubernetes' option names: ports made and bound ahead of time
  vif_pool: {
    enabled: { kind: 'bool', default: 'false' },
    ports_pool_min: { kind: 'int', default: '5' },
    ports_pool_batch: { kind: 'int', default: '10' },
    ports_pool_max: { kind: 'int', default: '0' },
    mark_hand_outs: { kind: 'bool', default: 'false' },
  },
};

export interface KuryrConfig {
  readonly kuryrUri: string | undefined;
  readonly pluginSocket: string;
  readonly capabilityScope: 'local' | 'global';
  readonly localDefaultAddressSpace: string;
  readonly globalDefaultAddressSpace: string;
  readonly defaultPortDriver: string;
  readonly enabledPortDrivers: readonly string[];
  readonly processExternalConnectivity: boolean;
  readonly enableSsl: boolean;
  readonly sslCertFile: string;
  readonly sslKeyFile: string;
  readonly sslCaFile: string | undefined;
  readonly insecureKuryrUri: boolean;
  readonly subnetpoolNamePrefix: string;
  /** `--ip-range`: false = the range is the Neutron subnet (Kuryr); true = the range is the allocation pool of `--subnet`. */
  readonly ipRangeAsAllocationPool: boolean;
  /** ReleaseAddress answers before Neutron has deleted the port (false: after, as Kuryr). */
  readonly deletePortsAfterReply: boolean;
  readonly debug: boolean;
  readonly logFile: string | undefined;
  readonly logDir: string | undefined;
  /** `[DEFAULT] use_json`: JSON lines instead of oslo's text lines. */
  readonly useJson: boolean;
  /** `[DEFAULT] metrics_uri`: http://HOST:PORT of the metrics listener (loopback unless insecureMetricsUri). */
  readonly metricsUri: string | undefined;
  readonly insecureMetricsUri: boolean;
  readonly neutron: {
    readonly enableDhcp: boolean;
    readonly defaultSubnetpoolV4: string;
    readonly defaultSubnetpoolV6: string;
    readonly vifPluggingIsFatal: boolean;
    readonly vifPluggingTimeout: number;
    readonly authType: string;
    readonly endpoint: string | undefined;
    readonly timeoutS: number;
    /** Longest pause between two probes of a Neutron that is not usable yet. */
    readonly probeMaxIntervalS: number;
    /** Exit when Neutron is still not usable after this long (0: retry forever). */
    readonly probeDeadlineS: number;
    /** The [neutron] string, choice and boolean options set in the files, as strings (for auth-sources.ts). */
    readonly auth: Readonly<Record<string, string>>;
  };
  readonly binding: {
    readonly vethDstPrefix: string;
    readonly defaultDriver: string;
    readonly enabledDrivers: readonly string[];
    readonly linkIface: string;
    readonly hostId: string;
    readonly integrationBridge: string;
    readonly forceVifType: string | undefined;
  };
  readonly vifPool: {
    readonly enabled: boolean;
    readonly min: number;
    readonly batch: number;
    readonly max: number;
    readonly markHandOuts: boolean;
  };
  /** `[DEFAULT] reconcile_interval` (s, 0: no automatic runs), `reconcile_grace_period` (s), `docker_host`. */
  readonly reconcile: {
    readonly intervalS: number;
    readonly gracePeriodS: number;
    readonly dockerHost: string;
  };
  /** Options that were set but have no effect in kuryr-ts (logged at start). */
  readonly ignoredOptions: readonly string[];
  /** Options and sections kuryr-ts does not know, and a missing config file (logged at start as warnings). */
  readonly warnings: readonly ConfigWarning[];
  /** The files read, in reading order. */
  readonly files: readonly string[];
}

/** Something in the files that kuryr-ts ignored; `message` names all of it. */
export interface ConfigWarning {
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly section?: string;
  readonly option?: string;
}

type Value = string | boolean | number | string[];

const at = (e: IniEntry): string => `${e.source}:${e.line}`;

function coerce(section: string, name: string, def: OptionDef, raw: string, setAt?: string): Value {
  const where = `[${section}] ${name}${setAt ? ` (${setAt})` : ''}`;
  const kind = def.kind;
  if (kind === 'str') return raw;
  if (kind === 'bool') {
    const v = raw.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(`invalid value for ${where}: "${raw}" is not a boolean`);
  }
  if (kind === 'int') {
    if (!/^-?\d+$/.test(raw)) throw new ConfigError(`invalid value for ${where}: "${raw}" is not an integer`);
    return Number(raw);
  }
  if (kind === 'list') return raw.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
  if (!kind.choices.includes(raw)) {
    throw new ConfigError(`invalid value for ${where}: "${raw}" (choose one of ${kind.choices.join(', ')})`);
  }
  return raw;
}

export type ReadFile = (path: string) => string;
const readLocal: ReadFile = (path) => readFileSync(path, 'utf8');

/** Merges several files (later files win, as with oslo's repeated --config-file; config-files.ts orders them). */
export function readConfigFiles(paths: readonly string[], read: ReadFile = readLocal): IniDocument {
  const merged: IniDocument = new Map();
  for (const path of paths) {
    let text: string;
    try {
      text = read(path);
    } catch (err) {
      throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
    for (const [section, entries] of parseIni(text, path)) {
      const target = merged.get(section) ?? new Map();
      for (const [k, v] of entries) target.set(k, v);
      merged.set(section, target);
    }
  }
  return merged;
}

/** Sections kuryr-ts does not read: one warning per section and file, naming its options (never their values). */
function unknownSection(section: string, entries: Map<string, IniEntry>): ConfigWarning[] {
  const byFile = new Map<string, string[]>();
  for (const [name, e] of entries) byFile.set(e.source, [...(byFile.get(e.source) ?? []), name]);
  return [...byFile].map(([file, names]) => ({
    message: `unknown section [${section}] in ${file}, ignored (options ${names.join(', ')})`,
    file,
    section,
  }));
}

export function buildConfig(doc: IniDocument, env: NodeJS.ProcessEnv = process.env, files: readonly string[] = []): KuryrConfig {
  const values = new Map<string, Value>();
  const setAt = new Map<string, string>();
  const ignored: string[] = [];
  const warnings: ConfigWarning[] = [];
  for (const [section, entries] of doc) {
    const defs = DEFS[section];
    if (!defs) {
      // other services' sections (e.g. [keystone_authtoken], [oslo_concurrency]): oslo.config ignores them too
      warnings.push(...unknownSection(section, entries));
      continue;
    }
    for (const [rawName, entry] of entries) {
      const name = Object.entries(defs).find(([, d]) => d.deprecatedName === rawName)?.[0] ?? rawName;
      const def = defs[name];
      if (!def) {
        warnings.push({
          message: `unknown option [${section}] ${rawName} at ${at(entry)}, ignored`,
          file: entry.source,
          line: entry.line,
          section,
          option: rawName,
        });
        continue;
      }
      values.set(`${section}.${name}`, coerce(section, name, def, entry.value, at(entry)));
      setAt.set(`${section}.${name}`, at(entry));
      if (def.ignored) ignored.push(`[${section}] ${name}`);
    }
  }
  const where = (section: string, name: string): string => {
    const loc = setAt.get(`${section}.${name}`);
    return `[${section}] ${name}${loc ? ` (${loc})` : ''}`;
  };
  const get = <T extends Value>(section: string, name: string): T | undefined => {
    const v = values.get(`${section}.${name}`);
    if (v !== undefined) return v as T;
    const def = DEFS[section]?.[name];
    return def?.default === undefined ? undefined : (coerce(section, name, def, def.default) as T);
  };
  const str = (s: string, n: string): string | undefined => get<string>(s, n);
  const must = <T extends Value>(s: string, n: string): T => get<T>(s, n) as T;
  const nonNegative = (name: string): number => {
    const v = must<number>('vif_pool', name);
    if (v < 0) throw new ConfigError(`invalid value for ${where('vif_pool', name)}: ${v} is negative`);
    return v;
  };

  const atLeastZero = (name: string): number => {
    const v = must<number>('DEFAULT', name);
    if (v < 0) throw new ConfigError(`invalid value for [DEFAULT] ${name}: ${v} is negative`);
    return v;
  };

  const auth: Record<string, string> = {};
  for (const [name, def] of Object.entries(DEFS.neutron ?? {})) {
    const v = values.get(`neutron.${name}`);
    if (v !== undefined && (def.kind === 'str' || def.kind === 'bool' || typeof def.kind === 'object')) auth[name] = String(v);
  }
  const scope = env.CAPABILITY_SCOPE && !values.has('DEFAULT.capability_scope') ? env.CAPABILITY_SCOPE : must<string>('DEFAULT', 'capability_scope');
  if (scope !== 'local' && scope !== 'global') throw new ConfigError(`invalid capability scope "${scope}" (local or global)`);
  const timeout = get<number>('neutron', 'vif_plugging_timeout') ?? 0;
  if (timeout < 0) throw new ConfigError(`invalid value for ${where('neutron', 'vif_plugging_timeout')}: must be >= 0`);
  const neutronTimeout = get<number>('neutron', 'timeout') ?? 30;
  if (neutronTimeout <= 0) throw new ConfigError(`invalid value for ${where('neutron', 'timeout')}: must be > 0`);
  const probeMaxInterval = must<number>('neutron', 'probe_max_interval');
  if (probeMaxInterval < 1) throw new ConfigError(`invalid value for ${where('neutron', 'probe_max_interval')}: must be >= 1`);
  const probeDeadline = must<number>('neutron', 'probe_deadline');
  if (probeDeadline < 0) throw new ConfigError(`invalid value for ${where('neutron', 'probe_deadline')}: must be >= 0 (0: retry forever)`);

  return Object.freeze({
    kuryrUri: str('DEFAULT', 'kuryr_uri'),
    pluginSocket: must<string>('DEFAULT', 'plugin_socket'),
    capabilityScope: scope,
    localDefaultAddressSpace: must<string>('DEFAULT', 'local_default_address_space'),
    globalDefaultAddressSpace: must<string>('DEFAULT', 'global_default_address_space'),
    defaultPortDriver: must<string>('DEFAULT', 'default_port_driver'),
    enabledPortDrivers: must<string[]>('DEFAULT', 'enabled_port_drivers'),
    processExternalConnectivity: must<boolean>('DEFAULT', 'process_external_connectivity'),
    enableSsl: must<boolean>('DEFAULT', 'enable_ssl'),
    sslCertFile: must<string>('DEFAULT', 'ssl_cert_file'),
    sslKeyFile: must<string>('DEFAULT', 'ssl_key_file'),
    sslCaFile: str('DEFAULT', 'ssl_ca_file'),
    insecureKuryrUri: must<boolean>('DEFAULT', 'insecure_kuryr_uri'),
    subnetpoolNamePrefix: must<string>('DEFAULT', 'subnetpool_name_prefix'),
    ipRangeAsAllocationPool: must<boolean>('DEFAULT', 'ip_range_as_allocation_pool'),
    deletePortsAfterReply: must<boolean>('DEFAULT', 'delete_ports_after_reply'),
    debug: must<boolean>('DEFAULT', 'debug'),
    logFile: str('DEFAULT', 'log_file'),
    logDir: str('DEFAULT', 'log_dir'),
    useJson: must<boolean>('DEFAULT', 'use_json'),
    metricsUri: str('DEFAULT', 'metrics_uri'),
    insecureMetricsUri: must<boolean>('DEFAULT', 'insecure_metrics_uri'),
    neutron: Object.freeze({
      enableDhcp: must<boolean>('neutron', 'enable_dhcp'),
      defaultSubnetpoolV4: must<string>('neutron', 'default_subnetpool_v4'),
      defaultSubnetpoolV6: must<string>('neutron', 'default_subnetpool_v6'),
      vifPluggingIsFatal: must<boolean>('neutron', 'vif_plugging_is_fatal'),
      vifPluggingTimeout: timeout,
      authType: str('neutron', 'auth_type') ?? 'password',
      endpoint: str('neutron', 'endpoint_override') ?? str('neutron', 'endpoint'),
      timeoutS: neutronTimeout,
      probeMaxIntervalS: probeMaxInterval,
      probeDeadlineS: probeDeadline,
      auth: Object.freeze(auth),
    }),
    binding: Object.freeze({
      vethDstPrefix: must<string>('binding', 'veth_dst_prefix'),
      defaultDriver: must<string>('binding', 'default_driver'),
      enabledDrivers: must<string[]>('binding', 'enabled_drivers'),
      linkIface: must<string>('binding', 'link_iface'),
      hostId: str('binding', 'host_id') ?? hostname(),
      integrationBridge: must<string>('binding', 'integration_bridge'),
      forceVifType: str('binding', 'force_vif_type'),
    }),
    vifPool: Object.freeze({
      enabled: must<boolean>('vif_pool', 'enabled'),
      min: nonNegative('ports_pool_min'),
      batch: Math.max(1, nonNegative('ports_pool_batch')),
      max: nonNegative('ports_pool_max'),
      markHandOuts: must<boolean>('vif_pool', 'mark_hand_outs'),
    }),
    reconcile: Object.freeze({
      intervalS: atLeastZero('reconcile_interval'),
      gracePeriodS: atLeastZero('reconcile_grace_period'),
      dockerHost: must<string>('DEFAULT', 'docker_host'),
    }),
    ignoredOptions: Object.freeze(ignored),
    warnings: Object.freeze(warnings),
    files: Object.freeze([...files]),
  });
}

/** Reads and checks the files, in order (see config-files.ts for which files an oslo command line means). */
export function loadConfig(paths: readonly string[], env: NodeJS.ProcessEnv = process.env, read: ReadFile = readLocal): KuryrConfig {
  const config = buildConfig(readConfigFiles(paths, read), env, paths);
  if (paths.length > 0) return config;
  const none: ConfigWarning = { message: 'no config file found (see docs/configuration.md): the defaults, Neutron credentials from clouds.yaml or OS_* variables' };
  return Object.freeze({ ...config, warnings: Object.freeze([none, ...config.warnings]) });
}
