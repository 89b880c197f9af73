/**
 * zun-api's HTTP edge (fastify): authentication (Keystone token or noauth),
 * the microversion header, JSON-schema validation (400 naming the field),
 * Zun's error body, and the /v1 routes of networks-routes.ts,
 * containers-routes.ts and hosts-routes.ts. No business logic here.
 *
 * URL manners of Zun's API (pecan), which python-zunclient relies on: a
 * trailing slash is the same resource (`POST /v1/containers/`, `GET
 * /v1/hosts/`), and a path without the version prefix is read under /v1
 * (`/containers` is `/v1/containers`: an endpoint registered without /v1).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import type { RequestContext } from '../domain/context.js';
import { unauthorized } from '@kuryr-ts/openstack/errors';
import type { ContainerService } from '../domain/container-service.js';
import type { HostService } from '../domain/host-service.js';
import type { NetworkService } from '../domain/network-service.js';
import type { TokenValidator } from '../ports/identity.js';
import { containerRoutes } from './containers-routes.js';
import { errorAnswer } from './errors.js';
import { hostRoutes } from './hosts-routes.js';
import { HEADER, MAX_VERSION, MIN_VERSION, headerValue, parseVersion, versionText, type Version } from './microversion.js';
import { networkRoutes } from './networks-routes.js';
import { openApiDocument } from './openapi.js';

export type AuthMode = { kind: 'keystone'; validator: TokenValidator } | { kind: 'noauth'; projectId: string; userId: string };

export interface ApiDeps {
  networks: NetworkService;
  containers: ContainerService;
  hosts: HostService;
  auth: AuthMode;
  logger?: PinoLogger;
  /** Public base URL for links (default from the Host header). */
  publicUrl?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    zunCtx: RequestContext;
    zunVersion: Version;
  }
}

/** The caller, from the request (set by the onRequest hook). */
export const ctxOf = (req: FastifyRequest): RequestContext => req.zunCtx;

export function baseUrl(req: FastifyRequest, deps: ApiDeps): string {
  return deps.publicUrl ?? `${req.protocol}://${req.headers.host ?? 'localhost'}`;
}

const PUBLIC = new Set(['/', '/v1', '/v1/', '/v1/openapi.json']);

/** `/containers?x` → `/v1/containers?x`, as Zun's root controller routes a path without a version. */
export function versionedUrl(url: string): string {
  if (url === '/' || url.startsWith('/?') || /^\/v1(?:[/?]|$)/.test(url)) return url;
  return `/v1${url}`;
}

/** A request that carries no content (no length or 0, not chunked). */
function bodyless(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');
}

async function authenticate(req: FastifyRequest, auth: AuthMode): Promise<RequestContext> {
  if (auth.kind === 'noauth') {
    // development mode: identity from headers, like Zun's noauth; admin unless X-Roles says otherwise
    const h = (k: string): string | undefined => {
      const v = req.headers[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const roles = (h('x-roles') ?? 'admin').split(',').map((r) => r.trim()).filter(Boolean);
    return { projectId: h('x-project-id') ?? auth.projectId, userId: h('x-user-id') ?? auth.userId, roles, isAdmin: roles.includes('admin') };
  }
  const token = req.headers['x-auth-token'];
  if (typeof token !== 'string' || token === '') throw unauthorized('The request you have made requires authentication.', 'ZUN_ERR_UNAUTHORIZED');
  return auth.validator.validate(token);
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger as unknown as FastifyBaseLogger } : { logger: false }),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false, useDefaults: true } },
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    rewriteUrl: (req) => versionedUrl(req.url ?? '/'),
  });
  // First hook: a request without content has no media type to check (python-zunclient sends
  // `DELETE` with Content-Type application/octet-stream and no body, actions with application/json)
  app.addHook('onRequest', async (req) => {
    if (bodyless(req.headers)) delete req.headers['content-type'];
  });
  app.decorateRequest('zunCtx', null as unknown as RequestContext);
  app.decorateRequest('zunVersion', null as unknown as Version);

  // An empty POST body (start, stop, network_attach) is fine, whatever the content type says
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      (err as { statusCode?: number }).statusCode = 400;
      done(err as Error, undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    void reply
      .header('OpenStack-API-Minimum-Version', headerValue(MIN_VERSION))
      .header('OpenStack-API-Maximum-Version', headerValue(MAX_VERSION))
      .header('Vary', HEADER);
    req.zunVersion = parseVersion(req.headers);
    void reply.header(HEADER, headerValue(req.zunVersion));
    const path = req.url.split('?')[0] ?? '';
    if (PUBLIC.has(path)) return;
    req.zunCtx = await authenticate(req, deps.auth);
  });

  app.setErrorHandler((err, req, reply) => {
    const answer = errorAnswer(err, req.id);
    if (answer.status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((req, reply) => {
    const answer = errorAnswer({ statusCode: 404, code: 'ZUN_ERR_NO_ROUTE', message: `The resource could not be found: ${req.method} ${req.url.split('?')[0]}` }, req.id);
    void reply.code(404).send(answer.body);
  });

  const versionDoc = (req: FastifyRequest): Record<string, unknown> => ({
    id: 'v1',
    status: 'CURRENT',
    min_version: versionText(MIN_VERSION),
    max_version: versionText(MAX_VERSION),
    links: [{ href: `${baseUrl(req, deps)}/v1/`, rel: 'self' }],
  });
  app.get('/', async (req) => ({ versions: [versionDoc(req)], default_version: versionDoc(req), name: 'OpenStack Zun API (kuryr-ts)' }));
  // GET /v1 and /v1/ (one route: trailing slashes are ignored)
  app.get('/v1', async (req) => ({
    ...versionDoc(req),
    media_types: [{ base: 'application/json', type: 'application/vnd.openstack.zun.v1+json' }],
    networks: [{ href: `${baseUrl(req, deps)}/v1/networks/`, rel: 'self' }],
    containers: [{ href: `${baseUrl(req, deps)}/v1/containers/`, rel: 'self' }],
    hosts: [{ href: `${baseUrl(req, deps)}/v1/hosts/`, rel: 'self' }],
  }));
  app.get('/v1/openapi.json', async () => openApiDocument());

  networkRoutes(app, deps);
  containerRoutes(app, deps);
  hostRoutes(app, deps);
  return app;
}
