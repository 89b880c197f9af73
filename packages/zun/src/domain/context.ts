/**
 * Who is calling: the identity the API edge established (a validated Keystone
 * token, or the noauth development mode). Passed explicitly to every domain
 * call; nothing is read from globals.
 */
export interface RequestContext {
  projectId: string;
  userId: string;
  roles: readonly string[];
  /** Cloud admin: an admin role in the admin project (isCloudAdmin), not role admin in any project. */
  isAdmin: boolean;
}

/** Which project's admins are the cloud's admins (zun.conf [DEFAULT] admin_project_name / admin_project_domain_name). */
export interface AdminProject {
  name: string;
  /** Domain name of the admin project; compared only when the caller's is known. */
  domainName: string;
  /** The role that makes a member of that project an admin. */
  role: string;
}

export const DEFAULT_ADMIN_PROJECT: AdminProject = Object.freeze({ name: 'admin', domainName: 'Default', role: 'admin' });

/**
 * Zun's `role:admin`, made safe for a cloud where project admins exist: the
 * admin role counts only in the admin project (as Keystone's own
 * `is_admin_project`). A project admin elsewhere is a member of their project.
 */
export function isCloudAdmin(roles: readonly string[], project: { name?: string | undefined; domainName?: string | undefined }, admin: AdminProject): boolean {
  if (!roles.includes(admin.role)) return false;
  if (project.name !== admin.name) return false;
  return project.domainName === undefined || project.domainName.toLowerCase() === admin.domainName.toLowerCase();
}

/** Zun's owner rule `is_admin:True or project_id:%(project_id)s`. */
export function owns(ctx: RequestContext, projectId: string): boolean {
  return ctx.isAdmin || ctx.projectId === projectId;
}

/** The project filter of a listing: undefined means every project (admin with all_projects). */
export function scopeOf(ctx: RequestContext, allProjects = false): string | undefined {
  return ctx.isAdmin && allProjects ? undefined : ctx.projectId;
}
