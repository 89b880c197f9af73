/**
 * Request scopes, request ids and the observability endpoints of the
 * services' HTTP edges (fastify): the driver's plugin server, zun-api, and
 * the separate metrics listeners.
 *
 * Each request gets an id (`req-<uuid>`, or the caller's own when it sent a
 * well-formed X-OpenStack-Request-ID and the edge trusts it), answered in
 * X-OpenStack-Request-ID, and runs in an OpStats request scope from its
 * first hook to its last: the logger writes the id on each of its lines, the
 * Neutron and Keystone clients send it on. fastify reads a body in the
 * socket's own async context, so the scope is entered again before
 * validation (the pattern of @fastify/request-context).
 */
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { OpStats, OpScope } from '../lib/op-stats.js';
import { REQUEST_ID_HEADER, newRequestId, requestIdFrom } from '../lib/request-id.js';
import type { ReadinessReport } from './health.js';

/** One answered request, for metrics and the access log. */
export interface RequestDone {
  readonly method: string;
  /** The route's pattern (`/v1/containers/:id`); undefined when no route matched (404). */
  readonly route: string | undefined;
  readonly url: string;
  readonly status: number;
  readonly seconds: number;
  readonly requestId: string;
  /** The client's address. */
  readonly ip: string;
  /** Neutron calls made in the request's scope until it was answered. */
  readonly neutronCalls: number;
}

export interface RequestScopeOptions {
  readonly stats: OpStats;
  /** Told of every answered request, in the request's scope (its log lines carry its id). */
  readonly onDone?: ((done: RequestDone) => void) | undefined;
}

interface Scoped {
  [SCOPE]?: { resource: AsyncResource; scope: OpScope };
}
const SCOPE = Symbol('kuryr-ts request scope');

/**
 * fastify options for request ids: `trustCaller`: take the caller's
 * X-OpenStack-Request-ID when it is well formed (zun-api, as oslo.middleware);
 * otherwise every request gets a new id. fastify's per-request child logger
 * does not repeat the id: the request scope puts it on every line already.
 */
export function requestIdOptions(trustCaller: boolean): {
  genReqId: (raw: IncomingMessage) => string;
  childLoggerFactory: (logger: FastifyBaseLogger, bindings: object, opts: Parameters<FastifyBaseLogger['child']>[1]) => FastifyBaseLogger;
} {
  return {
    genReqId: trustCaller ? (raw) => requestIdFrom(raw.headers[REQUEST_ID_HEADER.toLowerCase()]) : () => newRequestId(),
    childLoggerFactory: (logger, _bindings, opts) => logger.child({}, opts),
  };
}

/** Runs `fn` in the scope of `req` (for work fastify starts outside it, such as an error handler after a body that does not parse). */
export function inRequestScope<T>(req: FastifyRequest, fn: () => T): T {
  const s = (req as Scoped)[SCOPE];
  return s ? s.resource.runInAsyncScope(fn) : fn();
}

/** Registers the request scope hooks: call before any other hook or route. */
export function requestScope(app: FastifyInstance, opts: RequestScopeOptions): void {
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, req.id);
    opts.stats.withRequest(req.id, (scope) => {
      (req as Scoped)[SCOPE] = { resource: new AsyncResource('kuryr-ts.request'), scope };
      done();
    });
  });
  app.addHook('preValidation', (req, _reply, done) => {
    inRequestScope(req, done);
  });
  const onDone = opts.onDone;
  if (onDone) {
    app.addHook('onResponse', (req, reply, done) => {
      const s = (req as Scoped)[SCOPE];
      inRequestScope(req, () => {
        try {
          onDone({
            method: req.method,
            route: req.routeOptions.url,
            url: req.url,
            status: reply.statusCode,
            seconds: reply.elapsedTime / 1000,
            requestId: req.id,
            ip: req.ip,
            neutronCalls: s?.scope.neutronCalls ?? 0,
          });
        } catch (err) {
          req.log.warn({ err: (err as Error).message }, 'request accounting failed');
        }
      });
      done();
    });
  }
}

/** What GET /metrics and /readyz answer. */
export interface ObservabilityEndpoints {
  /** The Prometheus text exposition. */
  metrics(): Promise<{ contentType: string; text: string }>;
  readiness(): Promise<ReadinessReport>;
  /**
   * Whether this caller may read /metrics and /readyz (they name hosts and
   * reasons); refused with 403. Absent: everyone who reaches the listener.
   */
  allowed?: ((req: FastifyRequest) => boolean) | undefined;
}

/** The paths of the endpoints: no authentication, no request metrics of their own. */
export const OBSERVABILITY_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics'];

/**
 * GET /healthz (the process answers: 200 {"status":"ok"}), and with
 * `endpoints` GET /readyz (200 when every dependency is ready, else 503;
 * the body names each and why) and GET /metrics.
 */
export function observabilityRoutes(app: FastifyInstance, endpoints: ObservabilityEndpoints | undefined): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  if (!endpoints) return;
  const refuse = (req: FastifyRequest): { status: string; reason: string } | undefined =>
    endpoints.allowed && !endpoints.allowed(req) ? { status: 'forbidden', reason: `${req.url.split('?')[0]} is served to loopback clients only here` } : undefined;
  app.get('/readyz', async (req, reply) => {
    const no = refuse(req);
    if (no) return reply.code(403).send(no);
    const report = await endpoints.readiness();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get('/metrics', async (req, reply) => {
    const no = refuse(req);
    if (no) return reply.code(403).send(no);
    const { contentType, text } = await endpoints.metrics();
    return reply.type(contentType).send(text);
  });
}
