/**
 * The live topology view: GET /v1/topology (JSON, authenticated like every
 * /v1 route, scoped by domain/topology-service.ts) and GET /topology (the
 * page of topology-page.ts, public: it carries no data and asks for a token
 * itself). Neither is cached.
 */
import type { FastifyInstance } from 'fastify';
import { ctxOf, type ApiDeps } from './server.js';
import { TOPOLOGY_CSP, TOPOLOGY_HTML, TOPOLOGY_PAGE } from './topology-page.js';

export { TOPOLOGY_PAGE } from './topology-page.js';

export function topologyRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const topology = deps.topology;
  if (!topology) return;
  app.get('/v1/topology', async (req, reply) => {
    void reply.header('Cache-Control', 'no-store');
    return topology.build(ctxOf(req));
  });

  app.get(TOPOLOGY_PAGE, async (_req, reply) => {
    void reply
      .type('text/html; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .header('Content-Security-Policy', TOPOLOGY_CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .header('X-Frame-Options', 'DENY');
    return TOPOLOGY_HTML;
  });
}
