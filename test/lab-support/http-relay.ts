/**
 * What the tests' HTTP relays (a plugin socket, Keystone, Neutron shims)
 * share: reading a whole message, and closing a relay's server with its
 * connections.
 */
import type { IncomingMessage, Server } from 'node:http';

/** The whole body of a request or an answer. */
export function readBody(msg: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    msg.on('data', (d: Buffer) => chunks.push(d)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
  });
}

/** Closes `server` now, its open connections too (keep-alive clients would hold it open). */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
