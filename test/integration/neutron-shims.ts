/**
 * Proxies in front of the lab's real Neutron (Zed) that answer as another
 * Neutron would, for the behaviours this release cannot be switched to:
 * - tagless: the tag extensions absent (Zed always loads them);
 * - tagCreation: the `tag-creation` extension of Neutron 2024.2+, tags in
 *   the POST body of networks, subnets and subnet pools. The shim strips the
 *   tags, forwards the POST and writes them with one PUT per object, so the
 *   daemon sees (and counts) exactly what it would against a newer Neutron.
 * Only loopback: the proxy listens on 127.0.0.1 and talks to 127.0.0.1:9696.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { startDaemon, type TestDaemon } from './daemons.js';
import { readBody } from '../lab-support/http-relay.js';

const UPSTREAM = { host: '127.0.0.1', port: 9696 };
const TAG_EXTENSIONS = new Set(['standard-attr-tag', 'tag', 'tag-ext', 'tag-ports-during-bulk-creation', 'tag-creation']);
const TAG_CREATION = {
  name: 'Tag support for resource creation',
  alias: 'tag-creation',
  description: 'Enables setting tags on resource creation (emulated by the test shim).',
  updated: '2024-01-01T00:00:00-00:00',
  links: [],
};

interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function forward(method: string, path: string, headers: IncomingHttpHeaders, body?: string): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const h = { ...headers, host: `${UPSTREAM.host}:${UPSTREAM.port}` };
    if (body !== undefined) h['content-length'] = String(Buffer.byteLength(body));
    const up = request({ ...UPSTREAM, path, method, headers: h }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    up.on('error', reject);
    up.end(body);
  });
}

function reply(res: ServerResponse, up: Upstream, body = up.body): void {
  const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(body)) };
  delete headers['transfer-encoding'];
  res.writeHead(up.status, headers).end(body);
}

function deny(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ NeutronError: { type: 'HTTPNotFound', message, detail: '' } }));
}

function listen(port: number, handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<Server> {
  const server = createServer((req, res) => {
    handler(req, res).catch(() => deny(res, 502, 'upstream'));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function stripTags(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripTags);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'tags').map(([k, x]) => [k, stripTags(x)]));
  return v;
}

/** A Neutron without the tag extensions: extensions absent, tag URLs 404, tag filters 400, no tags in bodies. */
export function taglessNeutron(port: number): Promise<Server> {
  return listen(port, async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const ext = /\/extensions\/([^/]+)$/.exec(url.pathname);
    if (ext && TAG_EXTENSIONS.has(decodeURIComponent(ext[1]!))) return deny(res, 404, 'Extension not found');
    if (/\/tags(\/|$)/.test(url.pathname)) return deny(res, 404, 'The resource could not be found.');
    if ([...url.searchParams.keys()].some((k) => /^(not-)?tags(-any)?$/.test(k))) return deny(res, 400, 'tags is an invalid filter');
    const up = await forward(req.method ?? 'GET', req.url ?? '/', req.headers, (await readBody(req)).toString('utf8'));
    if (!up.body || !(up.headers['content-type'] ?? '').includes('json')) return reply(res, up);
    const json = JSON.parse(up.body) as { extensions?: Array<{ alias: string }> };
    if (json.extensions) json.extensions = json.extensions.filter((e) => !TAG_EXTENSIONS.has(e.alias));
    reply(res, up, JSON.stringify(stripTags(json)));
  });
}

const TAGGABLE_ON_POST: Record<string, string> = { networks: 'network', subnets: 'subnet', subnetpools: 'subnetpool' };

/** A Neutron with the tag-creation extension (tags accepted in POST bodies). */
export function tagCreationNeutron(port: number): Promise<Server> {
  return listen(port, async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const body = (await readBody(req)).toString('utf8');
    if (method === 'GET' && url.pathname.endsWith('/extensions/tag-creation')) {
      return reply(res, { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ extension: TAG_CREATION }) });
    }
    const resource = /\/v2\.0\/([a-z-]+)$/.exec(url.pathname)?.[1];
    const singular = resource ? TAGGABLE_ON_POST[resource] : undefined;
    if (method !== 'POST' || !resource || !singular || !body) return reply(res, await forward(method, req.url ?? '/', req.headers, body));
    const json = JSON.parse(body) as Record<string, Record<string, unknown> | Array<Record<string, unknown>>>;
    const bulk = Array.isArray(json[`${singular}s`]);
    const items = (bulk ? json[`${singular}s`] : [json[singular]]) as Array<Record<string, unknown>>;
    const tags = items.map((i) => i.tags as string[] | undefined);
    for (const i of items) delete i.tags;
    const up = await forward(method, req.url ?? '/', req.headers, JSON.stringify(json));
    if (up.status !== 201) return reply(res, up);
    const created = JSON.parse(up.body) as Record<string, Record<string, unknown> | Array<Record<string, unknown>>>;
    const objects = (bulk ? created[`${singular}s`] : [created[singular]]) as Array<Record<string, unknown>>;
    const headers = { ...req.headers, 'content-type': 'application/json' };
    await Promise.all(
      objects.map(async (o, i) => {
        const t = tags[i];
        if (!t || t.length === 0) return;
        const put = await forward('PUT', `${url.pathname}/${String(o.id)}/tags`, headers, JSON.stringify({ tags: t }));
        if (put.status !== 200) throw new Error(`tag PUT ${put.status}: ${put.body}`);
        o.tags = t;
      }),
    );
    reply(res, up, JSON.stringify(created));
  });
}

/** A test kuryr daemon whose Neutron is `shim` on 127.0.0.1:`port`; its stop() stops both. */
export async function daemonBehindShim(name: string, shim: (port: number) => Promise<Server>, port: number): Promise<TestDaemon> {
  const server = await shim(port);
  const close = (): Promise<unknown> => new Promise((r) => server.close(r));
  let daemon: TestDaemon;
  try {
    // no reconcile pass: its background Neutron calls would land in the call budgets these daemons measure
    daemon = await startDaemon(name, `reconcile_interval = 0\n[neutron]\nendpoint_override = http://127.0.0.1:${port}`);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    name: daemon.name,
    async stop() {
      await daemon.stop();
      await close();
    },
  };
}
