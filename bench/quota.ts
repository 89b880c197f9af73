/**
 * Neutron's default quota (100 networks and subnets per project) is below what the scale phase
 * needs next to what already exists in the lab: raise the network, subnet and subnet pool quotas
 * of the daemon's project for the phase, and put the old limits back at cleanup. The project is
 * the one of the bench's own Neutron credentials (the daemon's user), as Neutron reports it.
 * The quota API is not one the driver uses, so these calls are plain HTTP with the client's auth.
 */
import type { NeutronAuth } from '@kuryr-ts/openstack/keystone/auth';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function neutronCall(auth: NeutronAuth, method: string, path: string, body?: unknown): Promise<Reply> {
  const base = (await auth.endpoint()).replace(/\/+$/, '').replace(/\/v2\.0$/, '');
  const headers: Record<string, string> = { Accept: 'application/json', ...(await auth.headers()) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await (auth.fetch ?? fetch)(`${base}/v2.0${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  try {
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch {
    return { status: res.status, body: { raw: text.slice(0, 300) } };
  }
}

export class QuotaRaise {
  /** the limits changed, as they were */
  readonly restore: Record<string, number> = {};
  /** what was changed, for the log and the report's cleanup notes */
  note = '';
  #project: string | undefined;

  constructor(readonly auth: NeutronAuth) {}

  /** Makes room for `extra` more networks, subnets and subnet pools; the note, when a quota was changed. */
  async raise(extra: number): Promise<string | undefined> {
    // GET /quotas/project: the project of the request's token (no policy check)
    const who = await neutronCall(this.auth, 'GET', '/quotas/project');
    const project = who.status === 200 ? (who.body.project as { project_id?: string } | undefined)?.project_id : undefined;
    if (!project) return undefined;
    this.#project = project;
    const r = await neutronCall(this.auth, 'GET', `/quotas/${project}/details`);
    const q = r.body.quota as Record<string, { limit: number; used: number; reserved?: number }> | undefined;
    if (r.status !== 200 || !q) return undefined;
    const change: Record<string, number> = {};
    for (const res of ['network', 'subnet', 'subnetpool']) {
      const d = q[res];
      if (!d || d.limit < 0 || d.limit - d.used - (d.reserved ?? 0) >= extra) continue;
      change[res] = d.used + extra + 50;
      this.restore[res] = d.limit;
    }
    if (Object.keys(change).length === 0) return undefined;
    const put = await neutronCall(this.auth, 'PUT', `/quotas/${project}`, { quota: change });
    if (put.status >= 300) throw new Error(`Neutron PUT /quotas/${project}: HTTP ${put.status} ${JSON.stringify(put.body).slice(0, 300)}`);
    this.note = `quota of project ${project} raised for the scale phase (${Object.entries(change).map(([k, v]) => `${k} ${this.restore[k]} → ${v}`).join(', ')}) and restored afterwards`;
    return this.note;
  }

  /** Puts the old limits back; a note for the report, or undefined when nothing was changed. */
  async undo(): Promise<string | undefined> {
    if (Object.keys(this.restore).length === 0 || !this.#project) return undefined;
    const restored = await neutronCall(this.auth, 'PUT', `/quotas/${this.#project}`, { quota: this.restore });
    return restored.status === 200 ? this.note : `could not restore the quota ${JSON.stringify(this.restore)}: HTTP ${restored.status}`;
  }
}
