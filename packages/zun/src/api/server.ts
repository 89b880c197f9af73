/**
 * zun-api's HTTP edge (fastify): authentication (Keystone token or noauth),
 * the microversion header, JSON-schema validation (400 naming the field),
 * Zun's error body, and the /v1 routes of networks-routes.ts,
 * containers-routes.ts and hosts-routes.ts; request ids (the caller's
 * X-OpenStack-Request-ID when well formed, as oslo.middleware), and GET
 * /healthz, /readyz, /metrics without a token. No business logic here.
 *
 * URL manners of Zun's API (pecan), which python-zunclient relies on: a
 * trailing slash is the same resource (`POST /v1/containers/`, `GET
 * /v1/hosts/`), and a path without the version prefix is read under /v1
 * (`/containers` is `/v1/containers`: an endpoint registered without /v1).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import type { RequestContext } from '../domain/context.js';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { OBSERVABILITY_PATHS, observabilityRoutes, requestIdOptions, requestScope, type ObservabilityEndpoints, type RequestDone } from '@kuryr-ts/openstack/observability/http';
import type { ContainerService } from '../domain/container-service.js';
import type { HostService } from '../domain/host-service.js';
import type { NetworkService } from '../domain/network-service.js';
import type { TopologyService } from '../domain/topology-service.js';
import { Redactor } from '../lib/redact.js';
import { authenticate, type AuthMode } from './authenticate.js';
import { containerRoutes } from './containers-routes.js';
import { errorAnswer } from './errors.js';
import { hostRoutes } from './hosts-routes.js';
import { HEADER, MAX_VERSION, MIN_VERSION, headerValue, parseVersion, versionText, type Version } from './microversion.js';
import { networkRoutes } from './networks-routes.js';
import { openApiDocument } from './openapi.js';
import { TOPOLOGY_PAGE } from './topology-page.js';
import { topologyRoutes } from './topology-routes.js';
import { checkWrite, tooLarge } from './request-guards.js';

export type { AuthMode } from './authenticate.js';

/** oslo.middleware's default [oslo_middleware] max_request_body_size (bytes). */
export const DEFAULT_MAX_BODY_BYTES = 114_688;

export interface ApiDeps {
  networks: NetworkService;
  containers: ContainerService;
  hosts: HostService;
  /** The live topology view (GET /v1/topology, page GET /topology); absent: not served. */
  topology?: TopologyService;
  auth: AuthMode;
  logger?: PinoLogger;
  /** Public base URL for links (default from the Host header). */
  publicUrl?: string;
  /** Request scopes: each request's id on its log lines and on its calls to Neutron and Keystone (shared with the logger and the clients). */
  stats?: OpStats;
  /** The access log and request metrics (onRequestDone), /metrics and /readyz (main/observability.ts). */
  observability?: { onRequestDone?: ((done: RequestDone) => void) | undefined; endpoints?: ObservabilityEndpoints | undefined };
  /** Largest request body accepted (413 above). */
  maxBodyBytes?: number;
  /** Hides secrets in error answers (the configuration's own secrets, besides the generic patterns). */
  redactor?: Redactor;
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

const PUBLIC = new Set(['/', '/v1', '/v1/', '/v1/openapi.json', TOPOLOGY_PAGE, ...OBSERVABILITY_PATHS]);

/** `/containers?x` → `/v1/containers?x`, as Zun's root controller routes a path without a version. */
export function versionedUrl(url: string): string {
  const path = url.split('?')[0]!;
  if (url === '/' || url.startsWith('/?') || /^\/v1(?:[/?]|$)/.test(url) || path === TOPOLOGY_PAGE || OBSERVABILITY_PATHS.includes(path)) return url;
  return `/v1${url}`;
}

/** A request that carries no content (no length or 0, not chunked). */
function bodyless(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger as unknown as FastifyBaseLogger } : { logger: false }),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false, useDefaults: true } },
    bodyLimit: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    rewriteUrl: (req) => versionedUrl(req.url ?? '/'),
    logController: new LogController({ disableRequestLogging: true }),
    ...requestIdOptions(true),
  });
  // First hook: a request without content has no media type to check (python-zunclient sends
  // `DELETE` with Content-Type application/octet-stream and no body, actions with application/json)
  app.addHook('onRequest', async (req) => {
    if (bodyless(req.headers)) delete req.headers['content-type'];
  });
  requestScope(app, { stats: deps.stats ?? new OpStats(), onDone: deps.observability?.onRequestDone });
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const redactor = deps.redactor ?? new Redactor();
  // writes are JSON only (request-guards.ts): no text/plain body reaches a route
  app.removeContentTypeParser('text/plain');
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
    checkWrite(req, maxBodyBytes);
    if (PUBLIC.has(path)) return;
    req.zunCtx = await authenticate(req, deps.auth);
  });

  app.setErrorHandler((err, req, reply) => {
    const answer = errorAnswer((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? tooLarge(maxBodyBytes) : err, req.id, redactor);
    if (answer.status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((req, reply) => {
    const answer = errorAnswer({ statusCode: 404, code: 'ZUN_ERR_NO_ROUTE', message: `The resource could not be found: ${req.method} ${req.url.split('?')[0]}` }, req.id, redactor);
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
  observabilityRoutes(app, deps.observability?.endpoints);

  networkRoutes(app, deps);
  containerRoutes(app, deps);
  hostRoutes(app, deps);
  topologyRoutes(app, deps);
  return app;
}
