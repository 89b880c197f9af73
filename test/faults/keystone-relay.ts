/**
 * A relay on 127.0.0.1 in front of the lab's Keystone, for one test daemon
 * (its `[neutron] auth_url`): every request passes through unchanged, and
 * for each token Keystone issues the relay
 *  - records it (the daemon does not say which token it holds);
 *  - with `lifeS` set, rewrites its `expires_at` to that many seconds from
 *    now: the daemon sees what a Keystone with `[token] expiration = lifeS`
 *    would issue, and must get a new token in time, mid-run;
 *  - with `revokeNext` set, revokes that token at Keystone (DELETE
 *    /v3/auth/tokens as admin) before the daemon gets it: Neutron, which has
 *    never seen it, asks Keystone and refuses it (401), as it refuses any
 *    revoked or expired token. (Revoking a token Neutron already validated
 *    would show nothing for up to 5 minutes: keystonemiddleware caches
 *    validations, token_cache_time = 300 s.)
 * A request whose client goes away (the daemon's timeout) is dropped
 * upstream too.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { closeServer, readBody } from '../lab-support/http-relay.js';

export interface IssuedToken {
  token: string;
  at: number;
  revoked: boolean;
  /** the expires_at the daemon was given */
  expiresAt: string;
}

export interface KeystoneRelayOptions {
  port: number;
  upstream: URL;
  /** an admin token for the revocations */
  adminToken: () => Promise<string>;
}

export class KeystoneRelay {
  readonly issued: IssuedToken[] = [];
  /** authentications that failed or got no answer (the client went away first) */
  failures = 0;
  /** revocations Keystone refused */
  readonly revokeErrors: string[] = [];
  lifeS: number | undefined;
  revokeNext = false;
  #server: Server | undefined;

  constructor(readonly opts: KeystoneRelayOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.opts.port}/v3`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.#relay(req, res));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.opts.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    await closeServer(s);
  }

  async #relay(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const body = await readBody(req);
    const isAuth = req.method === 'POST' && /\/auth\/tokens\/?$/.test(req.url ?? '');
    const headers = { ...req.headers, host: this.opts.upstream.host };
    const up = request({ host: this.opts.upstream.hostname, port: this.opts.upstream.port, path: req.url, method: req.method, headers, agent: false }, (upRes) => {
      void readBody(upRes).then(async (upBody) => {
        let out = upBody;
        const outHeaders = { ...upRes.headers };
        const token = upRes.headers['x-subject-token'];
        if (isAuth && typeof token === 'string' && (upRes.statusCode ?? 0) < 300) {
          const parsed = JSON.parse(upBody.toString('utf8')) as { token: { expires_at: string } };
          const revoke = this.revokeNext;
          this.revokeNext = false;
          if (revoke) {
            await this.#revoke(token).catch((err: unknown) => this.revokeErrors.push(String(err)));
            parsed.token.expires_at = new Date(Date.now() + 3600_000).toISOString();
          } else if (this.lifeS !== undefined) {
            parsed.token.expires_at = new Date(Date.now() + this.lifeS * 1000).toISOString();
          }
          this.issued.push({ token, at: performance.now(), revoked: revoke, expiresAt: parsed.token.expires_at });
          out = Buffer.from(JSON.stringify(parsed));
          outHeaders['content-length'] = String(out.length);
        } else if (isAuth) {
          this.failures++;
        }
        res.writeHead(upRes.statusCode ?? 502, outHeaders);
        res.end(out);
      });
    });
    up.on('error', () => {
      if (isAuth) this.failures++;
      if (!res.headersSent) res.writeHead(502).end();
    });
    // The client gave up (its timeout): so does the relay.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.end(body);
  }

  async #revoke(token: string): Promise<void> {
    const admin = await this.opts.adminToken();
    const status = await new Promise<number>((resolve, reject) => {
      const r = request(
        { host: this.opts.upstream.hostname, port: this.opts.upstream.port, path: '/v3/auth/tokens', method: 'DELETE', headers: { 'X-Auth-Token': admin, 'X-Subject-Token': token }, agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      r.on('error', reject);
      r.end();
    });
    if (status !== 204) throw new Error(`Keystone did not revoke the token (DELETE /v3/auth/tokens: ${status})`);
  }
}
