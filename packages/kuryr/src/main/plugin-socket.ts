/**
 * The plugin's unix socket: whoever can connect to it can create networks and
 * plug ports into this host's integration bridge, so its mode never follows
 * the umask. It is created 0660 by bind(2) itself (a restrictive umask around
 * the synchronous bind) and chmod'ed to 0660 before the daemon says it listens:
 * owner and group are the daemon's (root:root under the systemd unit; Docker's
 * daemon runs as root). There is no moment when it is more open.
 */
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError } from '@kuryr-ts/openstack/errors';

export const SOCKET_MODE = 0o660;

/** Makes the directory and removes a stale socket; refuses to replace anything that is not a socket. */
export function prepareSocket(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    if (statSync(path).isSocket()) rmSync(path);
    else throw new ConfigError(`plugin socket path ${path} exists and is not a socket`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Listens on `path` with mode 0660 from the first instant. The server must be ready to serve (fastify: after ready()). */
export async function listenOnSocket(server: Server, path: string): Promise<void> {
  prepareSocket(path);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => reject(err);
    server.once('error', fail);
    // net.Server binds a unix socket synchronously inside listen(): the umask only covers that bind.
    const umask = process.umask(0o777 & ~SOCKET_MODE);
    try {
      server.listen(path, () => {
        server.off('error', fail);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(path, SOCKET_MODE);
}
