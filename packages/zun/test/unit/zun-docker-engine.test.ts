/**
 * The Docker adapter against a stand-in Docker Engine on a unix socket of a
 * temp dir: a hung engine costs one bounded ping ([docker] ping_timeout) or
 * call ([docker] api_timeout), never more; logs are read as a stream and only
 * their end is kept (memory bounded), multiplexed frames and TTY text alike.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ByteWindow, DockerEngine, FrameReader } from '../../src/adapters/docker-engine.js';
import { DockerUnavailable } from '../../src/ports/docker.js';

const dir = mkdtempSync(join(tmpdir(), 'zun-docker-'));
const hung = join(dir, 'hung.sock');
const engine = join(dir, 'engine.sock');
const servers: Server[] = [];

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

before(async () => {
  // an engine that accepts connections and never answers
  const h = createServer(() => undefined);
  // an engine whose logs are 2000 frames of 100 bytes, the last line marked
  const e = createServer((req, res) => {
    if (req.url?.startsWith('/v1.41/containers/mux/logs')) {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
      for (let i = 0; i < 2000; i++) res.write(frame(i % 2 === 0 ? 1 : 2, `${String(i).padStart(5, '0')}${'.'.repeat(94)}\n`));
      res.end(frame(1, 'THE END\n'));
      return;
    }
    if (req.url?.startsWith('/v1.41/containers/tty/logs')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${'x'.repeat(5000)}tty end\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"message":"no such container"}');
  });
  servers.push(h, e);
  await new Promise<void>((r) => h.listen(hung, r));
  await new Promise<void>((r) => e.listen(engine, r));
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('Docker adapter: bounded calls and output', () => {
  it('a hung engine: the ping fails after ping_timeout, another call after api_timeout', async () => {
    const d = new DockerEngine({ socketPath: hung, pingTimeoutMs: 200, timeoutMs: 300 });
    let t0 = Date.now();
    await assert.rejects(d.ping(), DockerUnavailable);
    assert.ok(Date.now() - t0 < 2000, `ping took ${Date.now() - t0} ms`);
    t0 = Date.now();
    await assert.rejects(d.imageExists('kuryr/busybox'), DockerUnavailable);
    assert.ok(Date.now() - t0 < 3000, `the call took ${Date.now() - t0} ms`);
  });

  it('logs keep the end of a multiplexed stream, at most maxBytes + 1', async () => {
    const d = new DockerEngine({ socketPath: engine });
    const text = await d.logs('mux', { stdout: true, stderr: true, maxBytes: 250 });
    assert.equal(Buffer.byteLength(text), 251);
    assert.ok(text.endsWith('THE END\n'));
    assert.match(text, /01999\.+\nTHE END\n$/);
    const all = await d.logs('mux', { stdout: true, stderr: true });
    assert.equal(all.split('\n').length, 2002, 'without a limit: everything, headers stripped');
    const tty = await d.logs('tty', { stdout: true, stderr: true, maxBytes: 10 });
    assert.equal(tty, 'xxxtty end\n');
  });

  it('FrameReader splits frames across chunks; ByteWindow keeps head or tail', () => {
    const r = new FrameReader();
    const whole = Buffer.concat([frame(1, 'hello '), frame(2, 'world')]);
    const out: Buffer[] = [];
    for (let i = 0; i < whole.length; i += 3) out.push(...r.push(whole.subarray(i, i + 3)));
    assert.equal(Buffer.concat(out).toString(), 'hello world');
    const raw = new FrameReader();
    assert.equal(Buffer.concat([...raw.push(Buffer.from('plain tty text')), ...raw.end()]).toString(), 'plain tty text');
    const head = new ByteWindow(5, 'head');
    const tail = new ByteWindow(5, 'tail');
    for (const c of ['abc', 'def', 'ghi']) {
      head.add(Buffer.from(c));
      tail.add(Buffer.from(c));
    }
    assert.equal(head.bytes().toString(), 'abcde');
    assert.equal(tail.bytes().toString(), 'efghi');
  });
});
