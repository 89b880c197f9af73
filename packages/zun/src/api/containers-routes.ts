/**
 * /v1/containers: create (202 + Location; built in the background), list,
 * show, delete (force/stop), start, stop, logs, execute, and the network
 * actions network_attach (≥1.8, query parameters, 200 as Zun's code),
 * network_detach (≥1.6, 202) and network_list (≥1.18 shape, from 1.13).
 */
import type { FastifyInstance } from 'fastify';
import { badRequest, forbidden } from '@kuryr-ts/openstack/errors';
import type { NetRequest } from '../domain/nets-resolver.js';
import { requireVersion } from './microversion.js';
import {
  attachQuery,
  containerCreateBody,
  createQuery,
  deleteQuery,
  detachQuery,
  executeBody,
  executeQuery,
  listQuery,
  logsQuery,
  stopQuery,
  truthy,
} from './schemas.js';
import { baseUrl, ctxOf, type ApiDeps } from './server.js';
import { shlexSplit } from './shlex.js';
import { containerView, networkListView } from './views.js';

interface CreateBody {
  name?: string | null;
  image: string;
  command?: string[] | string | null;
  environment?: Record<string, string> | null;
  workdir?: string | null;
  hostname?: string | null;
  nets?: NetRequest[] | null;
  security_groups?: string[] | null;
  exposed_ports?: Record<string, unknown> | null;
  host?: string | null;
  run?: boolean;
}
type Ident = { Params: { ident: string } };

export function containerRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const svc = deps.containers;

  app.post<{ Body: CreateBody; Querystring: { run?: unknown } }>(
    '/v1/containers',
    { schema: { body: containerCreateBody, querystring: createQuery } },
    async (req, reply) => {
      const ctx = ctxOf(req);
      const b = req.body;
      if (b.exposed_ports && Object.keys(b.exposed_ports).length > 0) requireVersion(req.zunVersion, 24, 'exposed_ports');
      if (b.host) requireVersion(req.zunVersion, 39, 'host');
      const detail = await svc.create(ctx, {
        name: b.name ?? undefined,
        image: b.image,
        command: typeof b.command === 'string' ? shlexSplit(b.command) : (b.command ?? undefined),
        environment: b.environment ?? undefined,
        workdir: b.workdir ?? undefined,
        hostname: b.hostname ?? undefined,
        nets: b.nets ?? undefined,
        securityGroups: b.security_groups ?? undefined,
        exposedPorts: b.exposed_ports ?? undefined,
        host: b.host ?? undefined,
        run: truthy(req.query.run) || b.run === true,
      });
      const view = containerView(detail, ctx, baseUrl(req, deps));
      return reply.code(202).header('Location', `${baseUrl(req, deps)}/v1/containers/${detail.container.uuid}`).send(view);
    },
  );

  app.get<{ Querystring: { all_projects?: unknown } }>('/v1/containers', { schema: { querystring: listQuery } }, async (req) => {
    const ctx = ctxOf(req);
    const all = truthy(req.query.all_projects);
    if (all && !ctx.isAdmin) throw forbidden('Policy doesn\'t allow container:get_all_all_projects to be performed.', 'ZUN_ERR_POLICY');
    const list = await svc.list(ctx, all);
    return { containers: list.map((d) => containerView(d, ctx, baseUrl(req, deps))) };
  });

  app.get<Ident>('/v1/containers/:ident', async (req) => {
    const ctx = ctxOf(req);
    return containerView(await svc.get(ctx, req.params.ident), ctx, baseUrl(req, deps));
  });

  app.delete<Ident & { Querystring: { force?: unknown; stop?: unknown } }>('/v1/containers/:ident', { schema: { querystring: deleteQuery } }, async (req, reply) => {
    const force = truthy(req.query.force);
    const stop = truthy(req.query.stop);
    if (force) requireVersion(req.zunVersion, 7, 'force');
    if (stop) requireVersion(req.zunVersion, 12, 'stop');
    await svc.delete(ctxOf(req), req.params.ident, { force, stop });
    return reply.code(204).send();
  });

  app.post<Ident>('/v1/containers/:ident/start', async (req, reply) => {
    await svc.start(ctxOf(req), req.params.ident);
    return reply.code(202).send();
  });

  app.post<Ident & { Querystring: { timeout?: number } }>('/v1/containers/:ident/stop', { schema: { querystring: stopQuery } }, async (req, reply) => {
    await svc.stop(ctxOf(req), req.params.ident, req.query.timeout);
    return reply.code(202).send();
  });

  app.get<Ident & { Querystring: { stdout?: unknown; stderr?: unknown; tail?: number | 'all' } }>(
    '/v1/containers/:ident/logs',
    { schema: { querystring: logsQuery } },
    async (req, reply) => {
      const q = req.query;
      const stdout = q.stdout === undefined ? true : truthy(q.stdout);
      const stderr = q.stderr === undefined ? true : truthy(q.stderr);
      const text = await svc.logs(ctxOf(req), req.params.ident, { stdout, stderr, ...(typeof q.tail === 'number' ? { tail: q.tail } : {}) });
      // Zun answers the log text as a JSON string
      return reply.type('application/json').send(JSON.stringify(text));
    },
  );

  app.post<Ident & { Querystring: { command?: string }; Body: { command?: string | string[] } | null | undefined }>(
    '/v1/containers/:ident/execute',
    { schema: { querystring: executeQuery, body: executeBody } },
    async (req) => {
      const raw = req.body?.command ?? req.query.command;
      if (!raw || (Array.isArray(raw) && raw.length === 0)) throw badRequest('Invalid input for query parameter command: is required', 'ZUN_ERR_SCHEMA');
      const command = Array.isArray(raw) ? raw : shlexSplit(raw);
      return svc.execute(ctxOf(req), req.params.ident, command);
    },
  );

  app.post<Ident & { Querystring: { network?: string; port?: string; fixed_ip?: string } }>(
    '/v1/containers/:ident/network_attach',
    { schema: { querystring: attachQuery } },
    async (req, reply) => {
      requireVersion(req.zunVersion, 8, 'network_attach');
      const q = req.query;
      await svc.networkAttach(ctxOf(req), req.params.ident, {
        ...(q.network ? { network: q.network } : {}),
        ...(q.port ? { port: q.port } : {}),
        ...(q.fixed_ip ? { fixedIp: q.fixed_ip } : {}),
      });
      return reply.code(200).send();
    },
  );

  app.post<Ident & { Querystring: { network?: string; port?: string } }>(
    '/v1/containers/:ident/network_detach',
    { schema: { querystring: detachQuery } },
    async (req, reply) => {
      requireVersion(req.zunVersion, 6, 'network_detach');
      if (req.query.port) requireVersion(req.zunVersion, 17, 'network_detach with port');
      await svc.networkDetach(ctxOf(req), req.params.ident, {
        ...(req.query.network ? { network: req.query.network } : {}),
        ...(req.query.port ? { port: req.query.port } : {}),
      });
      return reply.code(202).send();
    },
  );

  app.get<Ident>('/v1/containers/:ident/network_list', async (req) => {
    requireVersion(req.zunVersion, 13, 'network_list');
    return networkListView(await svc.networkList(ctxOf(req), req.params.ident));
  });
}
