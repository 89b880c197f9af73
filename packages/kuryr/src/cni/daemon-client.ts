/**
 * The plugin's one call to the kuryr daemon: a JSON POST over its unix
 * socket with node:http (nothing else loaded: the plugin runs once per CNI
 * verb, its start-up is the runtime's wait).
 */
import { request } from 'node:http';

export interface DaemonReply {
  status: number;
  body: string;
}

/** Rejects with the socket error (ENOENT, ECONNREFUSED…) or a timeout; any HTTP answer resolves. */
export function postToDaemon(socketPath: string, path: string, payload: unknown, timeoutMs: number): Promise<DaemonReply> {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}
