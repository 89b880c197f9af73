/**
 * /v1/networks: create (200, as Zun), list, show, delete (204; refused with
 * 409 while containers use it or while a host that has its Docker network is down).
 */
import type { FastifyInstance } from 'fastify';
import { forbidden } from '@kuryr-ts/openstack/errors';
import { requireVersion } from './microversion.js';
import { listQuery, networkCreateBody, truthy } from './schemas.js';
import { baseUrl, ctxOf, type ApiDeps } from './server.js';
import { networkView } from './views.js';

interface CreateBody {
  name: string;
  neutron_net_id: string;
  neutron_pool_id?: string;
  neutron_subnet_id?: string;
}

export function networkRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: CreateBody }>('/v1/networks', { schema: { body: networkCreateBody } }, async (req) => {
    const ctx = ctxOf(req);
    const n = await deps.networks.create(ctx, {
      name: req.body.name,
      neutronNet: req.body.neutron_net_id,
      neutronPool: req.body.neutron_pool_id,
      neutronSubnet: req.body.neutron_subnet_id,
    });
    return networkView(n, ctx, baseUrl(req, deps));
  });

  app.get<{ Querystring: { all_projects?: unknown } }>('/v1/networks', { schema: { querystring: listQuery } }, async (req) => {
    const ctx = ctxOf(req);
    const all = truthy(req.query.all_projects);
    if (all && !ctx.isAdmin) throw forbidden('Policy doesn\'t allow network:get_all_all_projects to be performed.', 'ZUN_ERR_POLICY');
    const list = await deps.networks.list(ctx, all);
    return { networks: list.map((n) => networkView(n, ctx, baseUrl(req, deps))) };
  });

  app.get<{ Params: { ident: string } }>('/v1/networks/:ident', async (req) => {
    const ctx = ctxOf(req);
    return networkView(await deps.networks.get(ctx, req.params.ident), ctx, baseUrl(req, deps));
  });

  app.delete<{ Params: { ident: string } }>('/v1/networks/:ident', async (req, reply) => {
    requireVersion(req.zunVersion, 27, 'DELETE /v1/networks');
    await deps.networks.delete(ctxOf(req), req.params.ident);
    return reply.code(204).send();
  });
}
