/**
 * /v1/hosts (admin, as Zun's host:get_all / host:get): the compute hosts with
 * their health (Docker ping; `refresh=true` pings now instead of showing the
 * last periodic result), placement flag and container count.
 */
import type { FastifyInstance } from 'fastify';
import { hostsQuery, truthy } from './schemas.js';
import { baseUrl, ctxOf, type ApiDeps } from './server.js';
import { hostView } from './views.js';

type Refresh = { Querystring: { refresh?: unknown } };

export function hostRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<Refresh>('/v1/hosts', { schema: { querystring: hostsQuery } }, async (req) => {
    const hosts = await deps.hosts.list(ctxOf(req), truthy(req.query.refresh));
    return { hosts: hosts.map((h) => hostView(h, baseUrl(req, deps))) };
  });

  app.get<Refresh & { Params: { name: string } }>('/v1/hosts/:name', { schema: { querystring: hostsQuery } }, async (req) => {
    return hostView(await deps.hosts.get(ctxOf(req), req.params.name, truthy(req.query.refresh)), baseUrl(req, deps));
  });
}
