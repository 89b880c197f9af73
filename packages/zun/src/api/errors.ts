/**
 * The one place where the container service's failures become HTTP answers,
 * in Zun's body shape {errors:[{request_id, code, status, title, detail,
 * links}]}: coded errors (AppError: the service's own, NeutronError,
 * KeystoneError) answer the status of their kind; schema violations are 400
 * naming the field; fastify's own 4xx keep theirs; anything else is 500
 * with a generic detail (the cause goes to the log, never to the caller).
 * Every detail passes the redactor: no password, token or secret in an answer.
 */
import { AppError, type ErrorKind } from '@kuryr-ts/openstack/errors';
import { Redactor } from '../lib/redact.js';

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

const KIND_STATUS: Record<ErrorKind, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'not-acceptable': 406,
  conflict: 409,
  // Neutron's other 4xx answers to the service's calls are the caller's input or the service's own: 400, as Zun
  refused: 400,
  unavailable: 503, // Neutron, Keystone or Docker unreachable, no valid host
  internal: 500,
  'not-implemented': 501,
};
const TITLES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 409: 'Conflict', 413: 'Request Entity Too Large', 415: 'Unsupported Media Type', 500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable' };

/** "body/nets/0/v4-fixed-ip" → "nets.0.v4-fixed-ip"; additionalProperties names the extra key. */
function fieldOf(context: string | undefined, issue: ValidationIssue): string {
  const path = (issue.instancePath ?? '').split('/').filter(Boolean);
  const extra = issue.params?.additionalProperty ?? issue.params?.missingProperty;
  if (typeof extra === 'string') path.push(extra);
  const where = context === 'querystring' ? 'query parameter' : 'field/attribute';
  return path.length > 0 ? `${where} ${path.join('.')}` : where === 'query parameter' ? 'query string' : 'request body';
}

const patternsOnly = new Redactor();

export function errorAnswer(err: unknown, requestId: string, redactor: Redactor = patternsOnly): ErrorAnswer {
  const e = err as { validation?: ValidationIssue[]; validationContext?: string; statusCode?: number; code?: string; message?: string };
  let status: number;
  let code: string;
  let detail: string;
  if (e.validation && e.validation.length > 0) {
    const issue = e.validation[0]!;
    status = 400;
    code = 'ZUN_ERR_SCHEMA';
    detail = `Invalid input for ${fieldOf(e.validationContext, issue)}: ${issue.message ?? 'invalid'}`;
  } else if (err instanceof AppError) {
    status = KIND_STATUS[err.kind];
    code = err.code;
    detail = err.message;
  } else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    status = e.statusCode; // fastify's own: bad JSON, wrong content type, body too large
    code = e.code ?? 'ZUN_ERR_REQUEST';
    detail = e.message ?? 'bad request';
  } else {
    status = 500;
    code = 'ZUN_ERR_INTERNAL';
    detail = `An unexpected error occurred (request ${requestId}); the zun-api log has its cause`;
  }
  detail = redactor.text(detail);
  // as Zun: a client error's title is its message (python-zunclient prints only the title), a server error's the reason
  const title = status < 500 ? detail : (TITLES[status] ?? 'Error');
  return { status, body: { errors: [{ request_id: requestId, code, status, title, detail, links: [] }] } };
}
