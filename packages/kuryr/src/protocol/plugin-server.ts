/**
 * The Docker plugin edge: an HTTP app (fastify) that speaks the libnetwork
 * remote NetworkDriver + IpamDriver protocol as Docker 20.10 does.
 *  - Requests carry no Content-Type and sometimes no body: bodies are read raw.
 *  - Every body is validated against the method's request schema (wire.ts)
 *    before its handler.
 *  - Success is 200 with a JSON body ({} at least); failure is non-200 with
 *    {"Err", "Error"} (network driver and IPAM read different keys);
 *    unknown methods are 404. Never 200 with an error.
 *  - Each request runs in an OpStats scope that counts its Neutron calls
 *    and carries its request id (`req-<uuid>`, answered in
 *    X-OpenStack-Request-ID, written on its log lines, sent to Neutron).
 *  - GET /healthz, and with `endpoints` GET /readyz and /metrics.
 */
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, type ErrorKind } from '@kuryr-ts/openstack/errors';
import type { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { inRequestScope, observabilityRoutes, requestIdOptions, requestScope, type ObservabilityEndpoints } from '@kuryr-ts/openstack/observability/http';
import type { RouteTable } from './libnetwork/route-table.js';
import type { ErrorResponse, ResponseOf } from './libnetwork/wire.js';
import { requestSchema } from './libnetwork/wire-schemas.js';

export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';

const STATUS: Record<ErrorKind, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'not-acceptable': 406,
  conflict: 409,
  refused: 500, // Neutron refused the driver's own call (403, 412…): the driver's failure, not Docker's
  unavailable: 503,
  'not-implemented': 501,
  internal: 500,
};

/** 404 means "not implemented, fine" to Docker for these two: a real failure must not look like it. */
const NOT_FOUND_IS_SUCCESS = new Set(['NetworkDriver.ProgramExternalConnectivity', 'NetworkDriver.RevokeExternalConnectivity']);

export interface PluginServerOptions {
  routes: RouteTable;
  stats: OpStats;
  logger: FastifyBaseLogger;
  /** Extra read-only info served at GET /kuryr/stats (cache sizes, etc.). */
  extraStats?: () => Record<string, unknown>;
  /** Told of every answered libnetwork call (metrics). */
  onCall?: ((call: PluginCall) => void) | undefined;
  /** GET /metrics and /readyz (GET /healthz is always served). */
  endpoints?: ObservabilityEndpoints | undefined;
}

/** One answered libnetwork call: its method (`unknown` when there is no such method), the status Docker got, how long it took. */
export interface PluginCall {
  method: string;
  status: number;
  seconds: number;
}

export function errorReply(message: string): ErrorResponse {
  return { Err: message, Error: message };
}

export function statusFor(err: unknown, method: string): number {
  let status = 500;
  const fastifyStatus = (err as FastifyError).statusCode;
  if (err instanceof AppError) status = STATUS[err.kind];
  else if ((err as FastifyError).validation) status = 400;
  // fastify's own refusals of a request keep their status: 400 bad JSON, 413 body over the limit, 415…
  else if (fastifyStatus !== undefined && fastifyStatus >= 400 && fastifyStatus < 500) status = fastifyStatus;
  if (status === 404 && NOT_FOUND_IS_SUCCESS.has(method)) status = 500;
  return status;
}

export function buildPluginServer(opts: PluginServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    ...requestIdOptions(false),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });

  const onCall = opts.onCall;
  requestScope(app, {
    stats: opts.stats,
    onDone: onCall && ((d) => d.method === 'POST' && onCall({ method: d.route?.replace(/^\//, '') ?? 'unknown', status: d.status, seconds: d.seconds })),
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (err) {
      const e = new Error(`request body is not valid JSON: ${(err as Error).message}`) as FastifyError;
      (e as { statusCode?: number }).statusCode = 400;
      done(e, undefined);
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const method = req.url.replace(/^\//, '').split('?')[0] ?? '';
    const status = statusFor(err, method);
    const message = (err as Error).message;
    const level = status >= 500 ? 'error' : 'warn';
    inRequestScope(req, () => req.log[level]({ method, status, code: (err as AppError).code, err: message }, 'request failed'));
    void reply.code(status).type(PLUGIN_CONTENT_TYPE).send(errorReply(`${method}: ${message}`));
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type(PLUGIN_CONTENT_TYPE).send(errorReply(`unknown method ${req.method} ${req.url}`));
  });

  app.post('/Plugin.Activate', async (_req, reply): Promise<ResponseOf<'Plugin.Activate'>> => {
    void reply.type(PLUGIN_CONTENT_TYPE);
    return { Implements: ['NetworkDriver', 'IpamDriver'] };
  });

  for (const [method, spec] of Object.entries(opts.routes)) {
    const schema = requestSchema(method);
    app.post(`/${method}`, {
      ...(schema ? { schema: { body: schema } } : {}),
      preValidation: async (req) => {
        if (req.body === undefined) {
          if (spec.noArgs || !schema) req.body = {};
          else {
            const e = new Error('request body is empty (a retried call?); this method needs arguments') as FastifyError;
            (e as { statusCode?: number }).statusCode = 400;
            throw e;
          }
        }
      },
      handler: async (req, reply) => {
        void reply.type(PLUGIN_CONTENT_TYPE);
        return opts.stats.run(method, async (scope) => {
          const started = performance.now();
          const result = await spec.handle(req.body);
          req.log.info({ method, neutronCalls: scope.neutronCalls, ms: Math.round(performance.now() - started) }, 'ok');
          return result;
        });
      },
    });
  }

  app.get('/kuryr/stats', async () => ({ ...opts.stats.snapshot(), ...(opts.extraStats?.() ?? {}) }));
  observabilityRoutes(app, opts.endpoints);
  return app;
}
