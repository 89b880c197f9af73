/**
 * /v1/containers: create (202 + Location; built in the background), list
 * (Zun's filters, sorting and pagination), show, delete (force/stop), start,
 * stop, logs, execute, and the network actions network_attach (≥1.8, query
 * parameters, 200 as Zun's code), network_detach (≥1.6, 202) and
 * network_list (≥1.13; one entry per address below 1.18, per port from 1.18).
 * Create accepts every field python-zunclient sends: honoured, ignored, or
 * refused when set (schemas.ts).
 */
import type { FastifyInstance } from 'fastify';
import { badRequest, forbidden, type AppError } from '@kuryr-ts/openstack/errors';
import type { NetRequest } from '../domain/nets-resolver.js';
import { collection } from './collection.js';
import { atLeast, requireVersion } from './microversion.js';
import {
  attachQuery,
  containerCreateBody,
  containerListQuery,
  createQuery,
  deleteQuery,
  detachQuery,
  executeBody,
  executeQuery,
  logsQuery,
  showQuery,
  stopQuery,
  truthy,
} from './schemas.js';
import { baseUrl, ctxOf, type ApiDeps } from './server.js';
import { shlexSplit } from './shlex.js';
import { containerView, legacyNetworkListView, networkListView } from './views.js';

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
  auto_remove?: boolean | null;
  runtime?: string | null;
  mounts?: unknown[] | null;
  privileged?: boolean | string;
  healthcheck?: Record<string, unknown> | null;
  registry?: string;
  entrypoint?: string[] | null;
}
type Ident = { Params: { ident: string } };
type AllProjects = { Querystring: { all_projects?: unknown } };

/** Zun's microversion gates of create fields (given and not null → 406 below the version). */
const CREATE_FIELD_VERSIONS: ReadonlyArray<[keyof CreateBody, number]> = [
  ['auto_remove', 3],
  ['runtime', 5],
  ['hostname', 9],
  ['mounts', 11],
  ['privileged', 21],
  ['healthcheck', 22],
  ['registry', 31],
  ['entrypoint', 40],
];

const unsupported = (message: string): AppError => badRequest(message, 'ZUN_ERR_UNSUPPORTED');

/** Create fields Zun has and this service cannot honour: refused when they ask for something. */
function refuseUnsupported(b: CreateBody): void {
  if (b.mounts && b.mounts.length > 0) throw unsupported('mounts: volumes and bind mounts are not supported by this service');
  if (b.entrypoint && b.entrypoint.length > 0) throw unsupported('entrypoint: overriding the image\'s entrypoint is not supported by this service; put the program in command');
  if (b.privileged === true || b.privileged === 'true' || b.privileged === 'True') throw unsupported('privileged: privileged containers are not supported by this service');
}

export function containerRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const svc = deps.containers;

  app.post<{ Body: CreateBody; Querystring: { run?: unknown } }>(
    '/v1/containers',
    { schema: { body: containerCreateBody, querystring: createQuery } },
    async (req, reply) => {
      const ctx = ctxOf(req);
      const b = req.body;
      for (const [field, minor] of CREATE_FIELD_VERSIONS) if (b[field] !== undefined && b[field] !== null) requireVersion(req.zunVersion, minor, field);
      if (b.exposed_ports && Object.keys(b.exposed_ports).length > 0) requireVersion(req.zunVersion, 24, 'exposed_ports');
      if (b.host) requireVersion(req.zunVersion, 39, 'host');
      refuseUnsupported(b);
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

  app.get<{ Querystring: Record<string, unknown> }>('/v1/containers', { schema: { querystring: containerListQuery } }, async (req) => {
    const ctx = ctxOf(req);
    const all = truthy(req.query.all_projects);
    if (all && !ctx.isAdmin) throw forbidden('Policy doesn\'t allow container:get_all_all_projects to be performed.', 'ZUN_ERR_POLICY');
    if (req.query.host !== undefined && !ctx.isAdmin) throw forbidden('Policy doesn\'t allow container:get_one:host to be performed.', 'ZUN_ERR_POLICY');
    const base = baseUrl(req, deps);
    const views = (await svc.list(ctx, all)).map((d) => containerView(d, ctx, base));
    return collection('containers', views, req.query, `${base}/v1/containers`);
  });

  /** `all_projects` (admin, Zun's container:get_one_all_projects / delete_all_projects): look the name or uuid up in every project. */
  const allProjects = (req: { query: { all_projects?: unknown } }, ctx: { isAdmin: boolean }, action: string): boolean => {
    const all = truthy(req.query.all_projects);
    if (all && !ctx.isAdmin) throw forbidden(`Policy doesn't allow container:${action}_all_projects to be performed.`, 'ZUN_ERR_POLICY');
    return all;
  };

  app.get<Ident & AllProjects>('/v1/containers/:ident', { schema: { querystring: showQuery } }, async (req) => {
    const ctx = ctxOf(req);
    return containerView(await svc.get(ctx, req.params.ident, allProjects(req, ctx, 'get_one')), ctx, baseUrl(req, deps));
  });

  app.delete<Ident & { Querystring: { force?: unknown; stop?: unknown; all_projects?: unknown } }>('/v1/containers/:ident', { schema: { querystring: deleteQuery } }, async (req, reply) => {
    const ctx = ctxOf(req);
    const force = truthy(req.query.force);
    const stop = truthy(req.query.stop);
    if (force) requireVersion(req.zunVersion, 7, 'force');
    if (stop) requireVersion(req.zunVersion, 12, 'stop');
    await svc.delete(ctx, req.params.ident, { force, stop, allProjects: allProjects(req, ctx, 'delete') });
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

  // Zun: POST …/execute?command=…&run=true&interactive=false → {output, exit_code, exec_id, proxy_url}
  app.post<Ident & { Querystring: { command?: string; run?: unknown; interactive?: unknown }; Body: { command?: string | string[] } | null | undefined }>(
    '/v1/containers/:ident/execute',
    { schema: { querystring: executeQuery, body: executeBody } },
    async (req) => {
      const raw = req.body?.command ?? req.query.command;
      if (!raw || (Array.isArray(raw) && raw.length === 0)) throw badRequest('Invalid input for query parameter command: is required', 'ZUN_ERR_SCHEMA');
      const run = req.query.run === undefined || truthy(req.query.run);
      if (!run || truthy(req.query.interactive)) {
        throw unsupported('interactive exec (run=false, interactive=true) needs a websocket proxy, which this service does not have: run the command without --interactive');
      }
      const command = Array.isArray(raw) ? raw : shlexSplit(raw);
      const r = await svc.execute(ctxOf(req), req.params.ident, command);
      return { output: r.output, exit_code: r.exit_code, exec_id: null, proxy_url: null };
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
    const attachments = await svc.networkList(ctxOf(req), req.params.ident);
    return atLeast(req.zunVersion, 18) ? networkListView(attachments) : legacyNetworkListView(attachments);
  });
}
