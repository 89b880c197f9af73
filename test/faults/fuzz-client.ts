/**
 * Sends fuzzed requests on a plugin socket: as Docker does (a body and its
 * Content-Length, no Content-Type), any verb and path, or cut off (fewer
 * bytes than the Content-Length announces, then the connection closed).
 * A fresh connection per request, as Docker's plugin client makes them.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import type { FuzzRequest, Reply } from './plugin-fuzz.js';

const ANSWER_TIMEOUT_MS = 60_000;

export function send(socketPath: string, req: FuzzRequest): Promise<Reply> {
  if (req.cls === 'cut-off') return sendCutOff(socketPath, req);
  return new Promise((resolve) => {
    const payload = Buffer.from(req.body, 'utf8');
    let done = false;
    const finish = (r: Reply): void => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    const r = request(
      { socketPath, path: req.path, method: req.verb, agent: false, headers: { 'Content-Length': payload.length, Connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    r.setTimeout(ANSWER_TIMEOUT_MS, () => r.destroy(new Error('no answer')));
    // The server may answer (413) and close before it has read a body over the limit: the write then fails.
    r.on('error', (err) => finish({ status: 0, body: String(err.message) }));
    r.end(payload);
  });
}

/** Headers announcing the whole body, part of it, then close: no answer is due. */
function sendCutOff(socketPath: string, req: FuzzRequest): Promise<Reply> {
  return new Promise((resolve) => {
    const body = Buffer.from(req.body, 'utf8');
    const announced = body.length + 1 + (req.body.length % 97);
    const sock = connect(socketPath);
    sock.on('error', () => resolve({ status: 0, body: '' }));
    sock.on('connect', () => {
      sock.write(`${req.verb} ${req.path} HTTP/1.1\r\nHost: plugin\r\nContent-Length: ${announced}\r\n\r\n`);
      sock.end(body, () => {
        sock.destroy();
        resolve({ status: 0, body: '' });
      });
    });
  });
}
