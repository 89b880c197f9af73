import type { RequestContext } from '../domain/context.js';

/** Turns a caller's token into who they are (Keystone's GET /v3/auth/tokens). Throws an `unauthorized` AppError (ZUN_ERR_UNAUTHORIZED) for a bad token. */
export interface TokenValidator {
  validate(token: string): Promise<RequestContext>;
}
