/**
 * Creates that survive a lost reply. Every object kuryr creates carries an
 * identity known before its POST (a name, a device_id, a description). When
 * the POST fails in a way that may still have happened in Neutron — no answer
 * (a client-side timeout, a dropped connection) or a 5xx from Neutron or a
 * proxy — the object is looked up by that identity: found, it is the one the
 * POST made and is used; not found, the original error stands and the caller
 * is told, so that a late arrival is removed rather than leaked.
 */
import { NeutronError, describeError } from '@kuryr-ts/openstack/errors';
import type { Logger } from './settings.js';

/** Whether a failed write may nevertheless have been carried out by Neutron. */
export function outcomeUnknown(err: unknown): boolean {
  return err instanceof NeutronError && (err.status === undefined || err.status >= 500);
}

export interface CreateOnce<T> {
  /** For the log: what is made, and its identity. */
  what: string;
  create: () => Promise<T>;
  /** The object(s) by the identity the POST carried; undefined when not there. */
  find: () => Promise<T | undefined>;
  log: Logger;
  /** The outcome stayed unknown (not found): the object may still appear. */
  onLost?: (() => void) | undefined;
}

export async function createOnce<T>(op: CreateOnce<T>): Promise<T> {
  try {
    return await op.create();
  } catch (err) {
    if (!outcomeUnknown(err)) throw err;
    let found: T | undefined;
    try {
      found = await op.find();
    } catch (lookupErr) {
      op.log.warn({ what: op.what, err: describeError(lookupErr) }, 'create: could not look the object up after an unanswered POST');
    }
    if (found !== undefined) {
      op.log.info({ what: op.what, err: describeError(err) }, 'create: the POST went unanswered but Neutron made the object: using it');
      return found;
    }
    op.onLost?.();
    throw err;
  }
}
