/**
 * The error catalogue of both products. Every failure carries a stable `code`
 * (KURYR_ERR_* or ZUN_ERR_*, all listed in docs/errors.md) and a `kind` that
 * says what went wrong, never how to answer it: each edge maps the kind to an
 * HTTP status in exactly one place (the driver's protocol/plugin-server.ts,
 * the container service's api/errors.ts).
 */
export type ErrorKind =
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'not-acceptable'
  | 'conflict'
  /** Another service (Neutron) refused our call with an answer none of the kinds above describes (its 401, 403, 412…). */
  | 'refused'
  | 'unavailable'
  | 'internal'
  | 'not-implemented';

export class AppError extends Error {
  override readonly name: string = 'AppError';
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class BadRequestError extends AppError {
  override readonly name = 'BadRequestError';
  constructor(message: string, code = 'KURYR_ERR_BAD_REQUEST') {
    super(code, 'bad-request', message);
  }
}

export class NotFoundError extends AppError {
  override readonly name = 'NotFoundError';
  constructor(message: string, code = 'KURYR_ERR_NOT_FOUND') {
    super(code, 'not-found', message);
  }
}

export class ConflictError extends AppError {
  override readonly name = 'ConflictError';
  constructor(message: string, code = 'KURYR_ERR_CONFLICT') {
    super(code, 'conflict', message);
  }
}

export class ConfigError extends AppError {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    super('KURYR_ERR_CONFIG', 'bad-request', message);
  }
}

/** A Neutron API call failed: names the call, the resource and Neutron's answer. */
export class NeutronError extends AppError {
  override readonly name = 'NeutronError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number | undefined,
    readonly neutronType: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      status === undefined ? 'KURYR_ERR_NEUTRON_UNREACHABLE' : `KURYR_ERR_NEUTRON_${status}`,
      NeutronError.kindOf(status),
      `Neutron ${method} ${path} failed: ${status === undefined ? 'unreachable' : status}${neutronType ? ` ${neutronType}` : ''}: ${detail}`,
      options,
    );
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  get isConflict(): boolean {
    return this.status === 409;
  }

  private static kindOf(status: number | undefined): ErrorKind {
    // a 2xx that could not be read (not JSON) is a Neutron that cannot be used, as one that does not answer
    if (status === undefined || status >= 500 || status < 300) return 'unavailable';
    if (status === 404) return 'not-found';
    if (status === 409) return 'conflict';
    if (status === 400) return 'bad-request';
    return 'refused';
  }
}

/** A host command (ip, ovs-vsctl, ethtool) failed: names the step and the command. */
export class HostError extends AppError {
  override readonly name = 'HostError';
  constructor(
    readonly step: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('KURYR_ERR_HOST', 'internal', `${step}: ${message}`, options);
  }
}

type Options = { cause?: unknown };

/** Coded errors by kind: `throw notFound('Container x could not be found', 'ZUN_ERR_CONTAINER_NOT_FOUND')`. */
export const badRequest = (message: string, code: string, options?: Options): AppError => new AppError(code, 'bad-request', message, options);
export const unauthorized = (message: string, code: string, options?: Options): AppError => new AppError(code, 'unauthorized', message, options);
export const forbidden = (message: string, code: string, options?: Options): AppError => new AppError(code, 'forbidden', message, options);
export const notFound = (message: string, code: string, options?: Options): AppError => new AppError(code, 'not-found', message, options);
export const notAcceptable = (message: string, code: string, options?: Options): AppError => new AppError(code, 'not-acceptable', message, options);
export const conflict = (message: string, code: string, options?: Options): AppError => new AppError(code, 'conflict', message, options);
export const unavailable = (message: string, code: string, options?: Options): AppError => new AppError(code, 'unavailable', message, options);
export const internal = (message: string, code: string, options?: Options): AppError => new AppError(code, 'internal', message, options);

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A feature that needs Neutron's tag extension, refused with a clear error in tag-less mode. */
export function needsTags(what: string): AppError {
  return new AppError('KURYR_ERR_NEEDS_TAGS', 'bad-request', `${what} needs Neutron's tag extension (standard-attr-tag), which this Neutron lacks`);
}
