/**
 * The container service's error catalogue. Every failure carries a stable
 * `code` (ZUN_ERR_*), the HTTP status Zun answers with, and a short title; the
 * API edge turns it into Zun's body {errors:[{status, code, title, detail}]}
 * in one place (api/error-body.ts). Errors of the shared kuryr-ts catalogue
 * (NeutronError, KeystoneError: AppError kinds) are mapped there too.
 */
export class ZunError extends Error {
  override readonly name: string = 'ZunError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get title(): string {
    return TITLES[this.status] ?? 'Error';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  406: 'Not Acceptable',
  409: 'Conflict',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const badRequest = (msg: string, code = 'ZUN_ERR_INVALID'): ZunError => new ZunError(400, code, msg);
export const notFound = (msg: string, code = 'ZUN_ERR_NOT_FOUND'): ZunError => new ZunError(404, code, msg);
export const conflict = (msg: string, code = 'ZUN_ERR_CONFLICT'): ZunError => new ZunError(409, code, msg);
export const forbidden = (msg: string, code = 'ZUN_ERR_FORBIDDEN'): ZunError => new ZunError(403, code, msg);
export const unauthorized = (msg: string): ZunError => new ZunError(401, 'ZUN_ERR_UNAUTHORIZED', msg);
export const unavailable = (msg: string, code = 'ZUN_ERR_UNAVAILABLE', cause?: unknown): ZunError =>
  new ZunError(503, code, msg, cause === undefined ? undefined : { cause });

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
