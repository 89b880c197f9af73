/**
 * The `zun` command line (python-zunclient's commands and tables): networks
 * (network-create/list/show/delete), containers (run, create [--host], list,
 * show, start, stop, logs, exec, delete), their networks (network-attach,
 * network-detach, network-list CONTAINER) and the compute hosts (host-list,
 * host-show). Exit codes: 0 ok, 1 API error (the message is Zun's detail and
 * the HTTP status), 2 usage.
 */
import { Command, CommanderError, Option } from 'commander';
import { AppError } from '@kuryr-ts/openstack/errors';
import { ApiError, ZunClient } from './api-client.js';
import { flatAddresses, propertyTable, table } from './table.js';

type Out = (text: string) => void;
type Json = Record<string, unknown>;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `--net network=foo,v4-fixed-ip=10.0.0.5` or `--net port=p1` (zunclient), or `--net foo` (the user workflow's `--net=foo`). */
export function parseNet(spec: string): Record<string, string> {
  if (!spec.includes('=')) return { network: spec };
  const out: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const [k, ...rest] = part.split('=');
    const key = (k ?? '').trim();
    if (!['network', 'port', 'v4-fixed-ip', 'v6-fixed-ip'].includes(key)) throw new UsageError(`--net: unknown key "${key}" (use network, port, v4-fixed-ip, v6-fixed-ip)`);
    if (key in out) throw new UsageError(`--net: duplicate key "${key}"`);
    out[key] = rest.join('=');
  }
  if (!out.network === !out.port) throw new UsageError('--net: give exactly one of network=… or port=…');
  return out;
}

class UsageError extends Error {}

interface CreateOpts {
  name?: string;
  net: string[];
  securityGroup: string[];
  exposePort: string[];
  environment: string[];
  workdir?: string;
  hostname?: string;
  host?: string;
  wait?: boolean;
}

export async function main(argv: string[], out: Out = (t) => process.stdout.write(`${t}\n`), err: Out = (t) => process.stderr.write(`${t}\n`), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const program = new Command('zun')
    .description('Command line of the kuryr-ts container service (zun-api)')
    .option('--os-cloud <name>', 'clouds.yaml cloud (default: OS_CLOUD; else the OS_* variables)')
    .option('--zun-url <url>', 'zun-api URL (default: ZUN_URL or http://127.0.0.1:9517)')
    .option('--zun-api-version <ver>', 'API microversion', env.ZUN_API_VERSION ?? '1.40')
    .option('--os-project-id <id>', 'project to act as when zun-api runs in noauth mode (X-Project-Id)')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) })
    .showHelpAfterError();
  let exitCode = 0;

  const client = (): ZunClient => {
    const g = program.opts<{ osCloud?: string; zunUrl?: string; zunApiVersion: string; osProjectId?: string }>();
    return new ZunClient({
      url: g.zunUrl ?? env.ZUN_URL ?? 'http://127.0.0.1:9517',
      apiVersion: g.zunApiVersion,
      cloud: g.osCloud,
      env,
      projectId: g.osProjectId ?? env.OS_PROJECT_ID,
    });
  };

  const showNetwork = (n: Json): void => out(propertyTable(n));
  const showContainer = (c: Json): void => out(propertyTable(c));

  program
    .command('network-create')
    .description('Create a network from Neutron resources (a kuryr Docker network)')
    .requiredOption('--neutron-net <net>', 'Neutron network name or id')
    .option('--neutron-pool <pool>', 'Neutron subnet pool name or id')
    .option('--neutron-subnet <subnet>', 'Neutron subnet name or id')
    .argument('<name>', 'name of the network')
    .action(async (name: string, o: { neutronNet: string; neutronPool?: string; neutronSubnet?: string }) => {
      const n = await client().request<Json>('POST', '/v1/networks', {
        body: { name, neutron_net_id: o.neutronNet, ...(o.neutronPool ? { neutron_pool_id: o.neutronPool } : {}), ...(o.neutronSubnet ? { neutron_subnet_id: o.neutronSubnet } : {}) },
      });
      showNetwork(n);
    });

  program
    .command('network-list')
    .description('List networks, or with a container the container\'s ports')
    .argument('[container]', 'container name or uuid')
    .option('--all-projects', 'all projects (admin)')
    .action(async (container: string | undefined, o: { allProjects?: boolean }) => {
      if (container) {
        const r = await client().request<{ networks: Array<{ net_id: string; port_id: string; fixed_ips: Array<{ ip_address: string }> }> }>('GET', `/v1/containers/${encodeURIComponent(container)}/network_list`);
        out(table(['net_id', 'port_id', 'fixed_ips'], r.networks.map((n) => [n.net_id, n.port_id, n.fixed_ips.map((f) => f.ip_address).join(', ')])));
        return;
      }
      const r = await client().request<{ networks: Json[] }>('GET', '/v1/networks', { query: { all_projects: o.allProjects ? 'true' : undefined } });
      out(table(['uuid', 'name', 'neutron_net_id', 'neutron_subnet_id', 'neutron_pool_id'], r.networks.map((n) => [n.uuid, n.name, n.neutron_net_id, n.neutron_subnet_id, n.neutron_pool_id])));
    });

  program
    .command('network-show')
    .description('Show a network')
    .argument('<network>', 'name, uuid or Neutron net id')
    .action(async (ident: string) => showNetwork(await client().request<Json>('GET', `/v1/networks/${encodeURIComponent(ident)}`)));

  program
    .command('network-delete')
    .description('Delete networks (refused while containers are attached)')
    .argument('<network...>', 'names or uuids')
    .action(async (idents: string[]) => {
      let failed = 0;
      for (const ident of idents) {
        try {
          await client().request('DELETE', `/v1/networks/${encodeURIComponent(ident)}`);
          out(`Request to delete network ${ident} has been accepted.`);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          failed++;
          err(`Delete for network ${ident} failed: ${e.message} (HTTP ${e.status})`);
        }
      }
      if (failed > 0) throw new ApiError(409, `${failed} of ${idents.length} network(s) could not be deleted`);
    });

  const createCommand = (name: 'run' | 'create', run: boolean): void => {
    program
      .command(name)
      .description(run ? 'Create and start a container' : 'Create a container')
      .option('-n, --name <name>', 'container name')
      .option('--net <spec>', 'network=NAME|ID[,v4-fixed-ip=IP][,v6-fixed-ip=IP] or port=NAME|ID, or just NAME (repeatable)', collect, [])
      .addOption(new Option('--security-group <sg>', 'security group name or id (repeatable)').argParser(collect).default([]).conflicts('exposePort'))
      .addOption(new Option('-p, --expose-port <port>', 'PORT[/tcp|udp] (repeatable)').argParser(collect).default([]))
      .option('-e, --environment <KEY=VALUE>', 'environment variable (repeatable)', collect, [])
      .option('-w, --workdir <dir>', 'working directory')
      .option('--hostname <name>', 'hostname (of the sandbox)')
      .option('--host <host>', 'compute host to place the container on (admin; default: the least-loaded healthy host)')
      .option('--wait', 'wait until the container left Creating; exit 1 when it ends in Error')
      .passThroughOptions()
      .argument('<image>', 'image')
      .argument('[command...]', 'command and arguments')
      .action(async (image: string, command: string[], o: CreateOpts) => {
        const nets = o.net.map(parseNet);
        const environment = Object.fromEntries(
          o.environment.map((kv) => {
            const i = kv.indexOf('=');
            if (i < 1) throw new UsageError(`--environment ${kv}: use KEY=VALUE`);
            return [kv.slice(0, i), kv.slice(i + 1)];
          }),
        );
        const api = client();
        let c = await api.request<Json>('POST', '/v1/containers', {
          query: { run: run ? 'true' : undefined },
          body: {
            image,
            ...(o.name ? { name: o.name } : {}),
            ...(command.length > 0 ? { command } : {}),
            ...(nets.length > 0 ? { nets } : {}),
            ...(o.securityGroup.length > 0 ? { security_groups: o.securityGroup } : {}),
            ...(o.exposePort.length > 0 ? { exposed_ports: Object.fromEntries(o.exposePort.map((p) => [p, {}])) } : {}),
            ...(Object.keys(environment).length > 0 ? { environment } : {}),
            ...(o.workdir ? { workdir: o.workdir } : {}),
            ...(o.hostname ? { hostname: o.hostname } : {}),
            ...(o.host ? { host: o.host } : {}),
          },
        });
        if (o.wait) {
          const deadline = Date.now() + 180_000;
          while (c.status === 'Creating' && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 500));
            c = await api.request<Json>('GET', `/v1/containers/${String(c.uuid)}`);
          }
        }
        showContainer(c);
        if (o.wait && c.status === 'Error') throw new ApiError(500, `container ${String(c.uuid)} failed: ${String(c.status_reason)}`);
      });
  };
  createCommand('run', true);
  createCommand('create', false);

  const hostRow = (x: Json): unknown[] => [x.hostname, x.state, x.disabled ? 'True' : 'False', x.total_containers, x.reason ?? ''];
  program
    .command('host-list')
    .description('List the compute hosts with their health (Docker ping) and container count (admin)')
    .option('--refresh', 'ping every host now instead of showing the last periodic check')
    .action(async (o: { refresh?: boolean }) => {
      const r = await client().request<{ hosts: Json[] }>('GET', '/v1/hosts', { query: { refresh: o.refresh ? 'true' : undefined } });
      out(table(['hostname', 'state', 'disabled', 'total_containers', 'reason'], r.hosts.map(hostRow)));
    });

  program
    .command('host-show')
    .description('Show a compute host (admin)')
    .argument('<host>', 'host name (its binding host id)')
    .option('--refresh', 'ping it now')
    .action(async (name: string, o: { refresh?: boolean }) => {
      out(propertyTable(await client().request<Json>('GET', `/v1/hosts/${encodeURIComponent(name)}`, { query: { refresh: o.refresh ? 'true' : undefined } })));
    });

  program
    .command('list')
    .description('List containers')
    .option('--all-projects', 'all projects (admin)')
    .action(async (o: { allProjects?: boolean }) => {
      const r = await client().request<{ containers: Json[] }>('GET', '/v1/containers', { query: { all_projects: o.allProjects ? 'true' : undefined } });
      out(table(['uuid', 'name', 'image', 'status', 'task_state', 'addresses', 'ports'], r.containers.map((c) => [c.uuid, c.name, c.image, c.status, c.task_state, flatAddresses(c.addresses), (c.ports as number[]).join(', ')])));
    });

  program
    .command('show')
    .description('Show a container')
    .argument('<container>')
    .action(async (ident: string) => showContainer(await client().request<Json>('GET', `/v1/containers/${encodeURIComponent(ident)}`)));

  for (const action of ['start', 'stop'] as const) {
    program
      .command(action)
      .description(`${action === 'start' ? 'Start' : 'Stop'} containers`)
      .argument('<container...>')
      .action(async (idents: string[]) => {
        for (const ident of idents) {
          await client().request('POST', `/v1/containers/${encodeURIComponent(ident)}/${action}`);
          out(`Request to ${action} container ${ident} has been accepted.`);
        }
      });
  }

  program
    .command('logs')
    .description('Show the logs of a container')
    .argument('<container>')
    .option('--stdout', 'only stdout')
    .option('--stderr', 'only stderr')
    .option('--tail <n>', 'number of lines from the end')
    .action(async (ident: string, o: { stdout?: boolean; stderr?: boolean; tail?: string }) => {
      const both = !o.stdout && !o.stderr;
      const text = await client().request<string>('GET', `/v1/containers/${encodeURIComponent(ident)}/logs`, {
        query: { stdout: String(both || !!o.stdout), stderr: String(both || !!o.stderr), tail: o.tail },
      });
      out(String(text ?? '').replace(/\n$/, ''));
    });

  program
    .command('exec')
    .description('Run a command in a running container; exits with its exit code')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .action(async (ident: string, command: string[]) => {
      const r = await client().request<{ output: string; exit_code: number }>('POST', `/v1/containers/${encodeURIComponent(ident)}/execute`, { query: { run: 'true' }, body: { command } });
      if (r.output) out(r.output.replace(/\n$/, ''));
      if (r.exit_code !== 0) exitCode = r.exit_code;
    });

  program
    .command('delete')
    .description('Delete containers with their sandbox, ports and exposed-ports security group')
    .argument('<container...>')
    .option('-f, --force', 'force delete (admin)')
    .option('--stop', 'stop a running container first (the default)')
    .option('--no-stop', 'refuse (409) to delete a running container, as the Zun API does without stop')
    .action(async (idents: string[], o: { force?: boolean; stop?: boolean }) => {
      let failed = 0;
      for (const ident of idents) {
        try {
          await client().request('DELETE', `/v1/containers/${encodeURIComponent(ident)}`, { query: { force: o.force ? 'true' : undefined, stop: o.stop !== false && !o.force ? 'true' : undefined } });
          out(`Request to delete container ${ident} has been accepted.`);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          failed++;
          err(`Delete for container ${ident} failed: ${e.message} (HTTP ${e.status})`);
        }
      }
      if (failed > 0) throw new ApiError(409, `${failed} of ${idents.length} container(s) could not be deleted`);
    });

  program
    .command('network-attach')
    .description('Attach a network (or a port) to a container')
    .argument('<container>')
    .option('--network <network>', 'network name or id')
    .addOption(new Option('--port <port>', 'Neutron port name or id').conflicts('network'))
    .option('--fixed-ip <ip>', 'fixed IP on the network')
    .action(async (ident: string, o: { network?: string; port?: string; fixedIp?: string }) => {
      await client().request('POST', `/v1/containers/${encodeURIComponent(ident)}/network_attach`, { query: { network: o.network, port: o.port, fixed_ip: o.fixedIp } });
      out(`Request to attach network ${o.network ?? o.port ?? '(default)'} to container ${ident} has been accepted.`);
    });

  program
    .command('network-detach')
    .description('Detach a network (or the network of a port) from a container')
    .argument('<container>')
    .option('--network <network>', 'network name or id')
    .addOption(new Option('--port <port>', 'Neutron port name or id').conflicts('network'))
    .action(async (ident: string, o: { network?: string; port?: string }) => {
      if (!o.network && !o.port) throw new UsageError('network-detach: give --network or --port');
      await client().request('POST', `/v1/containers/${encodeURIComponent(ident)}/network_detach`, { query: { network: o.network, port: o.port } });
      out(`Request to detach network ${o.network ?? o.port} from container ${ident} has been accepted.`);
    });

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      err(`zun: error: ${e.message}`);
      return 2;
    }
    if (e instanceof ApiError) {
      err(`ERROR: ${e.message} (HTTP ${e.status})${e.requestId ? ` (Request-ID: ${e.requestId})` : ''}`);
      return 1;
    }
    if (e instanceof AppError) {
      // configuration of the caller (clouds.yaml, OS_*) or Keystone refusing the credentials
      err(`ERROR: ${e.message}`);
      return e.kind === 'bad-request' ? 2 : 1;
    }
    throw e;
  }
  return exitCode;
}
