/**
 * Docker options kuryr understands, exactly as Kuryr-libnetwork reads them:
 * `-o k=v` (CreateNetwork generic options) and `--ipam-opt k=v` (RequestPool).
 * Anything else is refused with an error naming the option, so a typo never
 * silently creates something the user did not ask for.
 */
import { AppError, BadRequestError } from './errors.js';

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

export type NeutronOptionKey = (typeof NEUTRON_KEYS)[number];

/** Docker's own option keys that may reach a remote driver and that kuryr accepts. */
const DOCKER_NETWORK_KEYS = ['com.docker.network.driver.mtu'] as const;
const DOCKER_IPAM_KEYS = ['com.docker.network.ipam.serial'] as const;

export interface NetworkOptions {
  neutron: Partial<Record<NeutronOptionKey, string>>;
  /** `-o com.docker.network.driver.mtu`: MTU of a network kuryr creates. */
  mtu?: number;
}

function check(opts: Record<string, string>, allowed: readonly string[], flag: string): NetworkOptions {
  const neutron: Partial<Record<NeutronOptionKey, string>> = {};
  let mtu: number | undefined;
  for (const [key, value] of Object.entries(opts)) {
    if ((NEUTRON_KEYS as readonly string[]).includes(key)) {
      neutron[key as NeutronOptionKey] = value;
    } else if (allowed.includes(key)) {
      if (key === 'com.docker.network.driver.mtu') {
        mtu = Number(value);
        if (!/^\d+$/.test(value) || mtu < 68 || mtu > 65535) {
          throw new BadRequestError(`invalid option ${flag} ${key}=${value}: an MTU between 68 and 65535`, 'KURYR_ERR_BAD_OPTION');
        }
      }
    } else {
      throw new BadRequestError(
        `unknown option ${flag} ${key}=${value}; kuryr understands ${[...NEUTRON_KEYS, ...allowed].join(', ')}`,
        'KURYR_ERR_UNKNOWN_OPTION',
      );
    }
  }
  // Adoption of existing Neutron resources is the next milestone (issue #3).
  const unsupported = Object.keys(neutron);
  if (unsupported.length > 0) {
    throw new AppError(
      'KURYR_ERR_OPTION_NOT_SUPPORTED',
      'not-implemented',
      `option ${flag} ${unsupported.join(', ')} is not supported by this kuryr-ts version yet`,
    );
  }
  return mtu === undefined ? { neutron } : { neutron, mtu };
}

export function parseNetworkOptions(generic: Record<string, string>): NetworkOptions {
  return check(generic, DOCKER_NETWORK_KEYS, '-o');
}

export function parseIpamOptions(opts: Record<string, string>): NetworkOptions {
  return check(opts, DOCKER_IPAM_KEYS, '--ipam-opt');
}
