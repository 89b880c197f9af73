/**
 * Zun's collection manners for GET /v1/containers: filters (exact match on
 * name, image, project_id, user_id, host, task_state, status; `memory` and
 * `auto_remove` against this service's values: no memory limit, never
 * auto-removed), `sort_key` (a field of the view, or `id`: creation order) and
 * `sort_dir`, `marker` (the uuid after which to start) and `limit` (at most
 * MAX_LIMIT): when a page is full, `next` is the URL of the following page
 * (python-zunclient's --limit follows it).
 */
import { badRequest, notFound } from '@kuryr-ts/openstack/errors';
import { truthy } from './schemas.js';

export const MAX_LIMIT = 1000;

type View = Record<string, unknown>;

const FILTERS = ['name', 'image', 'project_id', 'user_id', 'host', 'task_state', 'status'] as const;
const SORT_KEYS = new Set(['id', 'uuid', 'name', 'image', 'status', 'task_state', 'project_id', 'user_id', 'host', 'hostname', 'created_at', 'updated_at']);

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return String(a) < String(b) ? -1 : 1;
}

export function collection(key: string, views: View[], query: Readonly<Record<string, unknown>>, url: string): Record<string, unknown> {
  let items = views.filter((v) => FILTERS.every((f) => query[f] === undefined || String(v[f] ?? '') === String(query[f])));
  if (query.memory !== undefined) items = []; // no container has a memory limit here
  if (query.auto_remove !== undefined && truthy(query.auto_remove)) items = []; // nor auto_remove

  const sortKey = typeof query.sort_key === 'string' ? query.sort_key : 'id';
  if (!SORT_KEYS.has(sortKey)) throw badRequest(`Invalid sort key ${sortKey}: use one of ${[...SORT_KEYS].join(', ')}`, 'ZUN_ERR_INVALID');
  const desc = query.sort_dir === 'desc';
  if (sortKey !== 'id') items = items.map((v, i) => ({ v, i })).sort((x, y) => compare(x.v[sortKey], y.v[sortKey]) || x.i - y.i).map((x) => x.v);
  if (desc) items = items.reverse();

  if (typeof query.marker === 'string') {
    const at = items.findIndex((v) => v.uuid === query.marker);
    if (at < 0) throw notFound(`Container ${query.marker} could not be found`, 'ZUN_ERR_CONTAINER_NOT_FOUND');
    items = items.slice(at + 1);
  }
  const limit = Math.min(typeof query.limit === 'number' ? query.limit : MAX_LIMIT, MAX_LIMIT);
  const page = items.slice(0, limit);
  const out: Record<string, unknown> = { [key]: page };
  if (page.length === limit && items.length > limit) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (k !== 'limit' && k !== 'marker' && v !== undefined) params.set(k, String(v));
    params.set('limit', String(limit));
    params.set('marker', String(page[page.length - 1]!.uuid));
    out.next = `${url}?${params.toString()}`;
  }
  return out;
}
