/**
 * Docker options kuryr understands, exactly as Kuryr-libnetwork reads them:
 * `-o k=v` (CreateNetwork generic options) and `--ipam-opt k=v` (RequestPool).
 * Anything else is refused with an error naming the option, so a typo never
 * silently creates something the user did not ask for.
 */
import { BadRequestError } from '@kuryr-ts/openstack/errors';

const NEUTRON_KEYS = [
  'neutron.net.uuid',
  'neutron.net.name',
  'neutron.net.shared',
  'neutron.subnet.uuid',
  'neutron.subnet.name',
  'neutron.subnet.v6.uuid',
  'neutron.subnet.v6.name',
  'neutron.pool.uuid',
  'neutron.pool.name',
  'neutron.pool.v6.uuid',
  'neutron.pool.v6.name',
] as const;

/** Docker's own option keys that may reach a remote driver and that kuryr accepts. */
const DOCKER_NETWORK_KEYS = ['com.docker.network.driver.mtu'] as const;
const DOCKER_IPAM_KEYS = ['com.docker.network.ipam.serial'] as const;

export interface Ref {
  uuid?: string;
  name?: string;
}

export interface NeutronOptions {
  net: Ref;
  /** neutron.net.shared: undefined when not given. */
  shared?: boolean;
  subnet: { 4: Ref; 6: Ref };
  pool: { 4: Ref; 6: Ref };
  /** `-o com.docker.network.driver.mtu`: MTU of a network kuryr creates. */
  mtu?: number;
  /** kuryr-ts: `neutron.security_groups=<name|id>[,...]`, the groups of the network's ports. */
  securityGroups?: string[];
}

/** kuryr-ts addition: security groups for a network's ports (-o) or one endpoint's (--driver-opt). */
export const SECURITY_GROUPS_KEY = 'neutron.security_groups';

export function parseSecurityGroups(flag: string, value: string): string[] {
  const list = value.split(',').map((v) => v.trim()).filter(Boolean);
  if (list.length === 0) throw new BadRequestError(`invalid option ${flag} ${SECURITY_GROUPS_KEY}=${value}: a comma-separated list of security group names or ids`, 'KURYR_ERR_BAD_OPTION');
  return list;
}

/**
 * `docker network connect --driver-opt k=v` (CreateEndpoint Options, flat keys).
 * Docker's own `com.docker.*` keys pass; unknown keys are refused, naming them.
 */
export function parseEndpointOptions(options: Record<string, unknown>): { securityGroups?: string[] } {
  const out: { securityGroups?: string[] } = {};
  for (const [key, value] of Object.entries(options)) {
    if (key.startsWith('com.docker.')) continue;
    if (key === SECURITY_GROUPS_KEY && typeof value === 'string') {
      out.securityGroups = parseSecurityGroups('--driver-opt', value);
      continue;
    }
    throw new BadRequestError(`unknown option --driver-opt ${key}; kuryr understands ${SECURITY_GROUPS_KEY}`, 'KURYR_ERR_UNKNOWN_OPTION');
  }
  return out;
}

/** Kuryr parses booleans leniently (oslo strutils.bool_from_string). */
function parseBool(key: string, value: string, flag: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'y', 'on', 't'].includes(v)) return true;
  if (['false', '0', 'no', 'n', 'off', 'f', ''].includes(v)) return false;
  throw new BadRequestError(`invalid option ${flag} ${key}=${value}: not a boolean`, 'KURYR_ERR_BAD_OPTION');
}

function parse(opts: Record<string, string>, allowed: readonly string[], flag: string): NeutronOptions {
  const out: NeutronOptions = { net: {}, subnet: { 4: {}, 6: {} }, pool: { 4: {}, 6: {} } };
  for (const [key, value] of Object.entries(opts)) {
    if (key === SECURITY_GROUPS_KEY && flag === '-o') {
      out.securityGroups = parseSecurityGroups(flag, value);
      continue;
    }
    if (!(NEUTRON_KEYS as readonly string[]).includes(key) && !allowed.includes(key)) {
      throw new BadRequestError(
        `unknown option ${flag} ${key}=${value}; kuryr understands ${[...NEUTRON_KEYS, ...(flag === '-o' ? [SECURITY_GROUPS_KEY] : []), ...allowed].join(', ')}`,
        'KURYR_ERR_UNKNOWN_OPTION',
      );
    }
    if (key === 'com.docker.network.driver.mtu') {
      const mtu = Number(value);
      if (!/^\d+$/.test(value) || mtu < 68 || mtu > 65535) {
        throw new BadRequestError(`invalid option ${flag} ${key}=${value}: an MTU between 68 and 65535`, 'KURYR_ERR_BAD_OPTION');
      }
      out.mtu = mtu;
      continue;
    }
    if (key === 'neutron.net.shared') {
      out.shared = parseBool(key, value, flag);
      continue;
    }
    const m = /^neutron\.(net|subnet|pool)(\.v6)?\.(uuid|name)$/.exec(key);
    if (!m) continue; // Docker keys without meaning for kuryr (ipam.serial)
    if (!value) throw new BadRequestError(`invalid option ${flag} ${key}=: empty value`, 'KURYR_ERR_BAD_OPTION');
    const [, kind, v6, field] = m as unknown as [string, 'net' | 'subnet' | 'pool', string | undefined, 'uuid' | 'name'];
    const ref = kind === 'net' ? out.net : out[kind][v6 ? 6 : 4];
    ref[field] = value;
  }
  for (const [label, ref] of [
    ['neutron.net', out.net],
    ['neutron.subnet', out.subnet[4]],
    ['neutron.subnet.v6', out.subnet[6]],
    ['neutron.pool', out.pool[4]],
    ['neutron.pool.v6', out.pool[6]],
  ] as const) {
    if (ref.uuid && ref.name) {
      throw new BadRequestError(`conflicting options ${flag} ${label}.uuid and ${label}.name: give one`, 'KURYR_ERR_BAD_OPTION');
    }
  }
  return out;
}

export function parseNetworkOptions(generic: Record<string, string>): NeutronOptions {
  return parse(generic, DOCKER_NETWORK_KEYS, '-o');
}

export function parseIpamOptions(opts: Record<string, string>): NeutronOptions {
  return parse(opts, DOCKER_IPAM_KEYS, '--ipam-opt');
}

export function hasRef(ref: Ref): boolean {
  return ref.uuid !== undefined || ref.name !== undefined;
}

export function describeRef(label: string, ref: Ref): string {
  return ref.uuid !== undefined ? `${label}.uuid=${ref.uuid}` : `${label}.name=${ref.name ?? ''}`;
}
