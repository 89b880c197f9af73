/**
 * The floor of any remote network driver: a libnetwork plugin that does the
 * least a working driver must (a veth pair per endpoint, addresses from a
 * counter, nothing else — no Neutron, no OVS). `docker run -d` on its network
 * minus bridge's is what Docker's remote-driver path costs by itself: the
 * plugin round trips and the handling of a plugin-made veth. Bench only.
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NullDriver {
  driver: string;
  socket: string;
  stop(): Promise<void>;
}

export async function startNullDriver(driver: string): Promise<NullDriver> {
  const socket = `/run/docker/plugins/${driver}.sock`;
  if (existsSync(socket)) rmSync(socket);
  let next = 10;
  const hostIf = (eid: string): string => `nl${eid.slice(0, 11)}`;
  const peerIf = (eid: string): string => `nc${eid.slice(0, 11)}`;
  const handlers: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    'Plugin.Activate': async () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
    'NetworkDriver.GetCapabilities': async () => ({ Scope: 'local' }),
    'NetworkDriver.CreateNetwork': async () => ({}),
    'NetworkDriver.DeleteNetwork': async () => ({}),
    'NetworkDriver.CreateEndpoint': async (b) => {
      const eid = String(b.EndpointID);
      await run('ip', ['link', 'add', hostIf(eid), 'type', 'veth', 'peer', 'name', peerIf(eid)]);
      await run('ip', ['link', 'set', hostIf(eid), 'up']);
      return {};
    },
    'NetworkDriver.Join': async (b) => ({ InterfaceName: { SrcName: peerIf(String(b.EndpointID)), DstPrefix: 'eth' } }),
    'NetworkDriver.Leave': async () => ({}),
    'NetworkDriver.DeleteEndpoint': async (b) => {
      await run('ip', ['link', 'del', hostIf(String(b.EndpointID))]).catch(() => undefined);
      return {};
    },
    'NetworkDriver.EndpointOperInfo': async () => ({ Value: {} }),
    'NetworkDriver.ProgramExternalConnectivity': async () => ({}),
    'NetworkDriver.RevokeExternalConnectivity': async () => ({}),
    'IpamDriver.GetCapabilities': async () => ({ RequiresMACAddress: false }),
    'IpamDriver.GetDefaultAddressSpaces': async () => ({ LocalDefaultAddressSpace: 'null', GlobalDefaultAddressSpace: 'null' }),
    'IpamDriver.RequestPool': async (b) => ({ PoolID: String(b.Pool), Pool: String(b.Pool), Data: {} }),
    'IpamDriver.ReleasePool': async () => ({}),
    'IpamDriver.RequestAddress': async (b) => {
      const [base, len] = String(b.PoolID).split('/') as [string, string];
      const gw = (b.Options as Record<string, string> | null)?.RequestAddressType === 'com.docker.network.gateway';
      const octets = base.split('.');
      octets[3] = String(gw ? 1 : next++ % 250 + 2);
      return { Address: `${octets.join('.')}/${len}`, Data: {} };
    },
    'IpamDriver.ReleaseAddress': async () => ({}),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const method = (req.url ?? '/').slice(1);
      const handler = handlers[method];
      const text = Buffer.concat(chunks).toString('utf8').trim();
      const reply = (status: number, body: unknown): void => void res.writeHead(status, { 'Content-Type': 'application/vnd.docker.plugins.v1+json' }).end(JSON.stringify(body));
      if (!handler) return reply(404, { Err: `unknown method ${method}` });
      handler(text ? (JSON.parse(text) as Record<string, unknown>) : {}).then(
        (body) => reply(200, body),
        (err: Error) => reply(500, { Err: err.message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    driver,
    socket,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(socket, { force: true });
      }),
  };
}
