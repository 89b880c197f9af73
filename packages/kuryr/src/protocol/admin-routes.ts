/**
 * kuryr-ts's own routes on the plugin socket, beside Docker's: `POST
 * /kuryr/reconcile` runs one reconciliation in the daemon — which knows what
 * is in flight — and answers its report (`kuryr reconcile` asks here first).
 * Body: `{"dryRun": true|false}` (default false).
 */
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '@kuryr-ts/openstack/errors';
import type { Reconciler } from '../domain/reconciler.js';

/** `usable`: waits for Neutron as Docker's calls do (and fails as they do when it does not answer). */
export function adminRoutes(app: FastifyInstance, reconciler: Reconciler, usable: () => Promise<void>): void {
  app.post('/kuryr/reconcile', async (req) => {
    await usable();
    const body = (req.body ?? {}) as { dryRun?: unknown };
    if (typeof body !== 'object' || (body.dryRun !== undefined && typeof body.dryRun !== 'boolean')) {
      throw new BadRequestError('POST /kuryr/reconcile: body {"dryRun": true|false}');
    }
    return reconciler.run({ dryRun: body.dryRun === true });
  });
}
