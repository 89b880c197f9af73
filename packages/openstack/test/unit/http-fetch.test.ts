import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { httpFetch } from '../../src/lib/http-fetch.js';

describe('httpFetch: the clients’ transport over node:http', () => {
  let server: Server;
  let base = '';
  let other: Server;
  let otherBase = '';
  const connections = new Set<Socket>();
  let opened = 0;
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const redirect = /^\/(30[12378])(?:\/(.*))?$/.exec(req.url ?? '');
        if (redirect) {
          const to = redirect[2] === 'away' ? `${otherBase}/x` : redirect[2] === 'loop' ? req.url! : '/x';
          return void res.writeHead(Number(redirect[1]), { Location: to }).end();
        }
        if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
        if (req.url === '/cut') {
          res.writeHead(200, { 'Content-Length': '100' });
          res.write('partial');
          return void setTimeout(() => res.destroy(), 20);
        }
        res.writeHead(req.url === '/missing' ? 404 : 201, 'Made It', { 'Content-Type': 'application/json', 'X-Subject-Token': 'tok' });
        res.end(JSON.stringify({ method: req.method, body, auth: req.headers['x-auth-token'] ?? null, length: req.headers['content-length'] ?? null }));
      });
    });
    server.on('connection', (s: Socket) => {
      opened++;
      connections.add(s);
      s.on('close', () => connections.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    other = createServer((req, res) => void res.end(JSON.stringify({ auth: req.headers['x-auth-token'] ?? null, method: req.method })));
    await new Promise<void>((r) => other.listen(0, 'localhost', r));
    otherBase = `http://localhost:${(other.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => other.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends method, headers and body; answers with status, statusText, ok, headers and the text', async () => {
    const f = httpFetch();
    const res = await f(`${base}/v2.0/ports`, { method: 'POST', headers: { 'X-Auth-Token': 't1', 'Content-Type': 'application/json' }, body: '{"port":{"name":"é"}}' });
    assert.equal(res.status, 201);
    assert.equal(res.statusText, 'Made It');
    assert.equal(res.ok, true);
    assert.equal(res.headers.get('x-subject-token'), 'tok');
    assert.equal(res.headers.get('X-Subject-Token'), 'tok');
    assert.equal(res.headers.get('x-absent'), null);
    assert.deepEqual(JSON.parse(await res.text()), { method: 'POST', body: '{"port":{"name":"é"}}', auth: 't1', length: String(Buffer.byteLength('{"port":{"name":"é"}}')) });
    const missing = await f(`${base}/missing`, {});
    assert.equal(missing.status, 404);
    assert.equal(missing.ok, false);
    f.close();
  });

  it('follows redirects as fetch does: 301/302 of a POST and 303 become a GET, 307/308 keep it; credentials stay on the origin', async () => {
    const f = httpFetch();
    const post = { method: 'POST', headers: { 'X-Auth-Token': 't', 'Content-Type': 'application/json' }, body: '{"a":1}' };
    const json = async (path: string, init: Parameters<typeof f>[1]) => JSON.parse(await (await f(`${base}${path}`, init)).text()) as Record<string, unknown>;
    assert.deepEqual(await json('/301', { headers: { 'X-Auth-Token': 't' } }), { method: 'GET', body: '', auth: 't', length: null });
    for (const code of ['301', '302', '303']) assert.deepEqual(await json(`/${code}`, post), { method: 'GET', body: '', auth: 't', length: null }, code);
    for (const code of ['307', '308']) assert.deepEqual(await json(`/${code}`, post), { method: 'POST', body: '{"a":1}', auth: 't', length: '7' }, code);
    assert.deepEqual(await json('/307/away', post), { method: 'POST', auth: null }, 'no token for another origin');
    const loop = await f(`${base}/302/loop`, {});
    assert.equal(loop.status, 302, 'at most 5 hops, then the redirect itself');
    f.close();
  });

  it('reuses one connection for calls one after another, and closes it once idle', async () => {
    const f = httpFetch({ idleMs: 200 });
    const before = opened;
    for (let i = 0; i < 5; i++) await (await f(`${base}/x`, { method: 'GET' })).text();
    assert.equal(opened - before, 1, 'one connection for five calls');
    const deadline = Date.now() + 3000;
    while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(connections.size, 0, 'the idle connection was closed');
    f.close();
  });

  it('a timeout rejects with the signal’s TimeoutError, as fetch does', async () => {
    const f = httpFetch();
    await assert.rejects(f(`${base}/slow`, { signal: AbortSignal.timeout(100) }), (e: Error) => e.name === 'TimeoutError');
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await assert.rejects(f(`${base}/x`, { signal: aborted.signal }), /stop/);
    f.close();
  });

  it('a refused connection rejects with TypeError("fetch failed") whose cause has the code', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(httpFetch()(`http://127.0.0.1:${port}/`, {}), (e: Error & { cause?: { code?: string } }) => e instanceof TypeError && e.message === 'fetch failed' && e.cause?.code === 'ECONNREFUSED');
  });

  it('an answer cut short rejects instead of resolving with part of the body', async () => {
    await assert.rejects(httpFetch()(`${base}/cut`, {}), (e: Error) => e instanceof TypeError && e.message === 'fetch failed');
  });
});
