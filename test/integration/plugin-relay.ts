/**
 * Docker's way to a kuryr daemon, through the test: an HTTP relay on the
 * plugin socket Docker finds (/run/docker/plugins/<driver>.sock) to the
 * daemon's own socket (elsewhere, same file name: the daemon names its
 * driver after it). Each request is read whole and shown to `onRequest`,
 * which may hold it (the daemon gets it once the returned promise
 * settles, or gets an error answer if it rejects); each answer is shown
 * to `onReply`. A daemon that cannot be reached drops Docker's connection,
 * as a dead daemon's socket would.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { dirname } from 'node:path';
import { closeServer, readBody } from '../lab-support/http-relay.js';

export interface RelayedCall {
  /** e.g. /NetworkDriver.CreateEndpoint */
  path: string;
  body: string;
}

export class PluginRelay {
  onRequest: ((call: RelayedCall) => Promise<void> | void) | undefined;
  onReply: ((call: RelayedCall, status: number, body: string) => void) | undefined;
  #server: Server | undefined;

  constructor(
    /** where Docker connects */
    readonly socket: string,
    /** the daemon's socket */
    readonly upstream: string,
  ) {}

  async start(): Promise<void> {
    mkdirSync(dirname(this.socket), { recursive: true });
    rmSync(this.socket, { force: true });
    const server = createServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        const call = { path: req.url ?? '/', body: body.toString('utf8') };
        try {
          await this.onRequest?.(call);
        } catch (err) {
          res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ Err: `relay: ${String(err)}` }));
          return;
        }
        const headers = { ...req.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        const up = request({ socketPath: this.upstream, path: call.path, method: req.method, headers, agent: false }, (upRes) => {
          void readBody(upRes).then((answer) => {
            this.onReply?.(call, upRes.statusCode ?? 0, answer.toString('utf8'));
            const back = { ...upRes.headers, 'content-length': String(answer.length) };
            delete back['transfer-encoding'];
            res.writeHead(upRes.statusCode ?? 502, back).end(answer);
          });
        });
        up.on('error', () => req.socket.destroy());
        up.end(body);
      })().catch(() => req.socket.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.socket, resolve));
    this.#server = server;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    await closeServer(s);
    rmSync(this.socket, { force: true });
  }
}
