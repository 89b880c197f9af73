/**
 * Who is calling, from the request: a Keystone token (validated, cached a few
 * seconds for reads, validated afresh for writes so that a revoked token
 * stops writing at once), or noauth's development identity. noauth trusts the
 * X-Project-Id / X-Project-Name / X-Roles headers; without them the caller is
 * a member of the configured project ([DEFAULT] noauth_project_id,
 * noauth_roles = member), never an admin unless configured so. Admin = the
 * admin role in the admin project, in both modes.
 */
import type { FastifyRequest } from 'fastify';
import { unauthorized } from '@kuryr-ts/openstack/errors';
import { DEFAULT_ADMIN_PROJECT, isCloudAdmin, type AdminProject, type RequestContext } from '../domain/context.js';
import type { TokenValidator } from '../ports/identity.js';

export type AuthMode =
  | { kind: 'keystone'; validator: TokenValidator }
  | {
      kind: 'noauth';
      projectId: string;
      userId: string;
      /** Roles of a caller that sends no X-Roles ([DEFAULT] noauth_roles; default member). */
      roles?: readonly string[] | undefined;
      adminProject?: AdminProject | undefined;
    };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function authenticate(req: FastifyRequest, auth: AuthMode): Promise<RequestContext> {
  if (auth.kind === 'noauth') {
    const h = (k: string): string | undefined => {
      const v = req.headers[k];
      const one = Array.isArray(v) ? v[0] : v;
      return one?.trim() ? one.trim() : undefined;
    };
    const header = h('x-roles');
    const roles = header !== undefined ? header.split(',').map((r) => r.trim()).filter(Boolean) : [...(auth.roles ?? ['member'])];
    const projectId = h('x-project-id') ?? auth.projectId;
    const project = { name: h('x-project-name') ?? projectId, domainName: h('x-project-domain-name') };
    return { projectId, userId: h('x-user-id') ?? auth.userId, roles, isAdmin: isCloudAdmin(roles, project, auth.adminProject ?? DEFAULT_ADMIN_PROJECT) };
  }
  const token = req.headers['x-auth-token'];
  if (typeof token !== 'string' || token === '') throw unauthorized('The request you have made requires authentication.', 'ZUN_ERR_UNAUTHORIZED');
  return auth.validator.validate(token, { fresh: !SAFE_METHODS.has(req.method) });
}
