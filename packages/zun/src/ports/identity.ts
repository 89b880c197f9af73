import type { RequestContext } from '../domain/context.js';

/**
 * Turns a caller's token into who they are (Keystone's GET /v3/auth/tokens).
 * Throws an `unauthorized` AppError (ZUN_ERR_UNAUTHORIZED) for a bad token.
 * `fresh`: ask Keystone now, not the cache (writes: a revoked token must not
 * change anything).
 */
export interface TokenValidator {
  validate(token: string, opts?: { fresh?: boolean }): Promise<RequestContext>;
}
