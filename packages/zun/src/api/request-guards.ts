/**
 * Checks of the HTTP edge made before a request is parsed or authenticated:
 * - writes (POST, PUT, PATCH, DELETE) carry JSON: a body whose Content-Type
 *   is not application/json (or that has none) is 415 — a browser's
 *   cross-site form or text/plain POST never reaches a route. A request
 *   without content has no media type to check (server.ts drops its
 *   Content-Type first: python-zunclient's `delete --force` says
 *   application/octet-stream);
 * - a write a browser marks as cross-site (Sec-Fetch-Site, or an Origin that
 *   is not the API's own) is 403: no CLI sends one, and noauth must not be
 *   drivable from a web page;
 * - a body over [oslo_middleware] max_request_body_size is 413 (announced by
 *   Content-Length, or found while reading).
 */
import type { FastifyRequest } from 'fastify';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A refusal of the edge with its HTTP status (errorAnswer keeps statusCode and code). */
export class EdgeRefusal extends Error {
  override readonly name = 'EdgeRefusal';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

function hasBody(req: FastifyRequest): boolean {
  const length = header(req, 'content-length');
  if (length !== undefined) return Number(length) > 0;
  return header(req, 'transfer-encoding') !== undefined;
}

export function checkWrite(req: FastifyRequest, maxBodyBytes: number): void {
  if (!WRITES.has(req.method)) return;
  const site = header(req, 'sec-fetch-site');
  const origin = header(req, 'origin');
  const host = header(req, 'host');
  if (site === 'cross-site' || site === 'same-site' || (origin !== undefined && origin !== 'null' && host !== undefined && safeHost(origin) !== host)) {
    throw new EdgeRefusal(403, 'ZUN_ERR_CROSS_SITE', 'Cross-site requests are refused: call the API from a client, not from a web page');
  }
  if (origin === 'null') throw new EdgeRefusal(403, 'ZUN_ERR_CROSS_SITE', 'Cross-site requests are refused: call the API from a client, not from a web page');
  const type = header(req, 'content-type');
  if (type !== undefined && type.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    throw new EdgeRefusal(415, 'ZUN_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type.split(';')[0]!.trim()} is not supported: send application/json`);
  }
  if (type === undefined && hasBody(req)) {
    throw new EdgeRefusal(415, 'ZUN_ERR_UNSUPPORTED_MEDIA_TYPE', 'A request body needs Content-Type: application/json');
  }
  const length = Number(header(req, 'content-length') ?? 0);
  if (length > maxBodyBytes) throw tooLarge(maxBodyBytes);
}

export const tooLarge = (maxBodyBytes: number): EdgeRefusal =>
  new EdgeRefusal(413, 'ZUN_ERR_REQUEST_TOO_LARGE', `The request body is larger than ${maxBodyBytes} bytes ([oslo_middleware] max_request_body_size)`);

function safeHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
