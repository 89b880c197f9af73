/**
 * The one place where failures become HTTP answers, in Zun's body shape
 * {errors:[{request_id, code, status, title, detail, links}]}: ZunError keeps
 * its status; schema violations are 400 naming the field; errors of the
 * shared catalogue (NeutronError, KeystoneError) map by kind; anything else
 * is 500.
 */
import { AppError, NeutronError } from '@kuryr-ts/openstack/errors';
import { ZunError } from '../domain/errors.js';

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
  keyword?: string;
}

export interface ErrorAnswer {
  status: number;
  body: { errors: Array<{ request_id: string; code: string; status: number; title: string; detail: string; links: [] }> };
}

const KIND_STATUS: Record<string, number> = { 'bad-request': 400, 'not-found': 404, conflict: 409, unavailable: 503, internal: 500, 'not-implemented': 501 };
const TITLES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 409: 'Conflict', 415: 'Unsupported Media Type', 500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable' };

/** "body/nets/0/v4-fixed-ip" → "nets.0.v4-fixed-ip"; additionalProperties names the extra key. */
function fieldOf(context: string | undefined, issue: ValidationIssue): string {
  const path = (issue.instancePath ?? '').split('/').filter(Boolean);
  const extra = issue.params?.additionalProperty ?? issue.params?.missingProperty;
  if (typeof extra === 'string') path.push(extra);
  const where = context === 'querystring' ? 'query parameter' : 'field/attribute';
  return path.length > 0 ? `${where} ${path.join('.')}` : where === 'query parameter' ? 'query string' : 'request body';
}

export function errorAnswer(err: unknown, requestId: string): ErrorAnswer {
  const e = err as { validation?: ValidationIssue[]; validationContext?: string; statusCode?: number; code?: string; message?: string };
  let status: number;
  let code: string;
  let detail: string;
  if (e.validation && e.validation.length > 0) {
    const issue = e.validation[0]!;
    status = 400;
    code = 'ZUN_ERR_SCHEMA';
    detail = `Invalid input for ${fieldOf(e.validationContext, issue)}: ${issue.message ?? 'invalid'}`;
  } else if (err instanceof ZunError) {
    ({ status, code } = err);
    detail = err.message;
  } else if (err instanceof NeutronError) {
    // Neutron's own 4xx answers to our calls are our fault or the user's; its absence is 503
    status = err.status === undefined || err.status >= 500 ? 503 : err.status === 404 ? 404 : err.status === 409 ? 409 : 400;
    code = err.code;
    detail = err.message;
  } else if (err instanceof AppError) {
    status = KIND_STATUS[err.kind] ?? 500;
    code = err.code;
    detail = err.message;
  } else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    status = e.statusCode; // fastify's own: bad JSON, wrong content type, body too large
    code = e.code ?? 'ZUN_ERR_REQUEST';
    detail = e.message ?? 'bad request';
  } else {
    status = 500;
    code = 'ZUN_ERR_INTERNAL';
    detail = e.message ?? String(err);
  }
  return { status, body: { errors: [{ request_id: requestId, code, status, title: TITLES[status] ?? 'Error', detail, links: [] }] } };
}
