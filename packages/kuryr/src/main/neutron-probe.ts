/**
 * Start-up check of Neutron's API extensions, retried while Neutron is not up
 * yet (Kuryr bug K19/K15: it died or lost tag support when started first).
 */
import { KeystoneError } from '@kuryr-ts/openstack/keystone/keystone-auth';
import { AppError, NeutronError, describeError } from '@kuryr-ts/openstack/errors';
import type { Logger } from '../domain/settings.js';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';

export async function probeNeutron(
  neutron: NeutronApi,
  log: Logger,
  opts: { attempts?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<{ tags: boolean; tagOnCreate: boolean }> {
  const attempts = opts.attempts ?? 8;
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  for (let i = 1; ; i++) {
    try {
      if (!(await neutron.hasExtension('subnet_allocation'))) {
        throw new AppError('KURYR_ERR_NEUTRON_EXTENSION', 'unavailable', 'Neutron lacks the mandatory subnet_allocation extension');
      }
      const tags = (await neutron.hasExtension('standard-attr-tag')) || ((await neutron.hasExtension('tag')) && (await neutron.hasExtension('tag-ext')));
      // Neutron 2024.2+ takes tags in the POST body of any tagged resource: one call instead of two.
      const tagOnCreate = tags && (await neutron.hasExtension('tag-creation'));
      if (tags) log.info({ tagOnCreate }, 'Neutron ready: subnet_allocation and tag extensions present');
      else log.warn({}, "Neutron ready, without the tag extension: Kuryr's name-based fallback (networks named by the Docker id, ports <endpoint>-port; no adoption of existing resources)");
      return { tags, tagOnCreate };
    } catch (err) {
      // Neutron or Keystone not up yet (unreachable, 5xx): retry; bad credentials or a bad catalog: no
      const transient =
        (err instanceof NeutronError && (err.status === undefined || err.status >= 500)) ||
        (err instanceof KeystoneError && err.kind === 'unavailable');
      if (!transient || i >= attempts) throw err;
      const wait = Math.min(30_000, 1000 * 2 ** (i - 1));
      log.warn({ attempt: i, err: describeError(err), retryInMs: wait }, 'Neutron (or Keystone) not reachable yet, retrying');
      await sleep(wait);
    }
  }
}
