/**
 * Who is calling: the identity the API edge established (a validated Keystone
 * token, or the noauth development mode). Passed explicitly to every domain
 * call; nothing is read from globals.
 */
export interface RequestContext {
  projectId: string;
  userId: string;
  roles: readonly string[];
  /** Zun's `is_admin` / `role:admin`. */
  isAdmin: boolean;
}

/** Zun's owner rule `is_admin:True or project_id:%(project_id)s`. */
export function owns(ctx: RequestContext, projectId: string): boolean {
  return ctx.isAdmin || ctx.projectId === projectId;
}

/** The project filter of a listing: undefined means every project (admin with all_projects). */
export function scopeOf(ctx: RequestContext, allProjects = false): string | undefined {
  return ctx.isAdmin && allProjects ? undefined : ctx.projectId;
}
