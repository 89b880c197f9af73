/**
 * The `zun` command line (python-zunclient's commands and tables): networks
 * (network-create/list/show/delete), containers (run, create [--host], list,
 * show, start, stop, logs, exec, delete), their networks (network-attach,
 * network-detach, network-list CONTAINER) and the compute hosts (host-list,
 * host-show). The usual `--os-*` options and the Keystone catalog decide
 * where and as whom (connection.ts); list and show commands take `-f
 * table|json|value|yaml` and `-c COLUMN` (output.ts). Exit codes: 0 ok, 1 API
 * error (the message is Zun's detail and the HTTP status) or zun-api / Keystone
 * out of reach, 2 usage.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { AppError } from '@kuryr-ts/openstack/errors';
import { ApiError, UnreachableError, ZunClient, versionHeader } from './api-client.js';
import { connect, type ConnectionOptions } from './connection.js';
import { ColumnError, FORMATS, renderList, renderShow, type Format, type OutputOptions } from './output.js';
import { flatAddresses } from './table.js';

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

/** The package's version (package.json next to dist/). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A word list as one shell-quoted string, as Zun's execute takes its `command` (the server splits it like a shell). */
export function shellJoin(words: readonly string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

interface Globals {
  osCloud?: string;
  osAuthUrl?: string;
  osUsername?: string;
  osUserId?: string;
  osPassword?: string;
  osProjectName?: string;
  osProjectId?: string;
  osUserDomainName?: string;
  osUserDomainId?: string;
  osProjectDomainName?: string;
  osProjectDomainId?: string;
  osRegionName?: string;
  osInterface?: string;
  osToken?: string;
  osCacert?: string;
  insecure?: boolean;
  zunUrl?: string;
  bypassUrl?: string;
  zunApiVersion: string;
}

interface OutputFlags {
  format: Format;
  column: string[];
}
const outputOf = (o: OutputFlags): OutputOptions => ({ format: o.format, columns: o.column });

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
    .version(`zun (kuryr-ts) ${packageVersion()}`, '--version', 'print the version and exit')
    .option('--os-cloud <name>', 'clouds.yaml cloud (default: OS_CLOUD; else the OS_* variables)')
    .option('--os-auth-url <url>', 'Keystone URL (OS_AUTH_URL)')
    .option('--os-username <name>', 'user name (OS_USERNAME)')
    .option('--os-user-id <id>', 'user id (OS_USER_ID)')
    .option('--os-password <password>', 'password (OS_PASSWORD)')
    .option('--os-project-name <name>', 'project name (OS_PROJECT_NAME)')
    .option('--os-project-id <id>', 'project id (OS_PROJECT_ID); without credentials, the project to act as in zun-api\'s noauth mode')
    .option('--os-user-domain-name <name>', 'user domain name (OS_USER_DOMAIN_NAME)')
    .option('--os-user-domain-id <id>', 'user domain id (OS_USER_DOMAIN_ID)')
    .option('--os-project-domain-name <name>', 'project domain name (OS_PROJECT_DOMAIN_NAME)')
    .option('--os-project-domain-id <id>', 'project domain id (OS_PROJECT_DOMAIN_ID)')
    .option('--os-region-name <name>', 'region of the catalog endpoint (OS_REGION_NAME)')
    .option('--os-interface <interface>', 'catalog interface: public, internal or admin (OS_INTERFACE; default public)')
    .option('--os-token <token>', 'a Keystone token (OS_TOKEN): with --zun-url it is sent as is')
    .option('--os-cacert <file>', 'CA bundle for Keystone and zun-api (OS_CACERT)')
    .option('--insecure', 'do not verify TLS certificates')
    .option('--zun-url <url>', 'zun-api URL (ZUN_URL), instead of the catalog\'s; without credentials http://127.0.0.1:9517')
    .addOption(new Option('--bypass-url <url>', 'python-zunclient\'s name of --zun-url').hideHelp())
    .option('--zun-api-version <ver>', 'API microversion: 1.N, 1.latest or latest (ZUN_API_VERSION)', env.ZUN_API_VERSION ?? '1.40')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) })
    .showHelpAfterError();
  let exitCode = 0;

  let api: ZunClient | undefined;
  /** One client per run: one Keystone token however many requests the command makes. */
  const client = (): ZunClient => {
    if (api) return api;
    const g = program.opts<Globals>();
    if (!versionHeader(g.zunApiVersion)) throw new UsageError(`--zun-api-version ${g.zunApiVersion}: use 1.N (1.1 to 1.40), 1.latest or latest`);
    const auth: ConnectionOptions['auth'] = {
      auth_url: g.osAuthUrl,
      username: g.osUsername,
      user_id: g.osUserId,
      password: g.osPassword,
      project_name: g.osProjectName,
      project_id: g.osProjectId,
      user_domain_name: g.osUserDomainName,
      user_domain_id: g.osUserDomainId,
      project_domain_name: g.osProjectDomainName,
      project_domain_id: g.osProjectDomainId,
      region_name: g.osRegionName,
      endpoint_type: g.osInterface,
      token: g.osToken,
      cafile: g.osCacert,
      insecure: g.insecure ? 'true' : undefined,
    };
    api = new ZunClient({ connection: connect({ url: g.zunUrl ?? g.bypassUrl, cloud: g.osCloud, auth, env }), apiVersion: g.zunApiVersion });
    return api;
  };

  /** `-f FORMAT` and `-c COLUMN` of a list or show command. */
  const withOutput = (cmd: Command): Command =>
    cmd
      .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('table'))
      .option('-c, --column <column>', 'show only this column (repeatable)', collect, []);

  const showOne = (obj: Json, o: OutputFlags): void => out(renderShow(obj, outputOf(o)));

  withOutput(
    program
      .command('network-create')
      .description('Create a network from Neutron resources (a kuryr Docker network)')
      .requiredOption('--neutron-net <net>', 'Neutron network name or id')
      .option('--neutron-pool <pool>', 'Neutron subnet pool name or id')
      .option('--neutron-subnet <subnet>', 'Neutron subnet name or id')
      .argument('<name>', 'name of the network'),
  ).action(async (name: string, o: OutputFlags & { neutronNet: string; neutronPool?: string; neutronSubnet?: string }) => {
    const n = await client().request<Json>('POST', '/v1/networks', {
      body: { name, neutron_net_id: o.neutronNet, ...(o.neutronPool ? { neutron_pool_id: o.neutronPool } : {}), ...(o.neutronSubnet ? { neutron_subnet_id: o.neutronSubnet } : {}) },
    });
    showOne(n, o);
  });

  withOutput(
    program
      .command('network-list')
      .description('List networks, or with a container the container\'s ports')
      .argument('[container]', 'container name or uuid')
      .option('--all-projects', 'all projects (admin)'),
  ).action(async (container: string | undefined, o: OutputFlags & { allProjects?: boolean }) => {
    if (container) {
      const r = await client().request<{ networks: Array<{ net_id: string; port_id: string; fixed_ips: Array<{ ip_address: string }> }> }>('GET', `/v1/containers/${encodeURIComponent(container)}/network_list`);
      out(renderList(['net_id', 'port_id', 'fixed_ips'], r.networks.map((n) => [n.net_id, n.port_id, n.fixed_ips.map((f) => f.ip_address).join(', ')]), outputOf(o)));
      return;
    }
    const r = await client().request<{ networks: Json[] }>('GET', '/v1/networks', { query: { all_projects: o.allProjects ? 'true' : undefined } });
    out(renderList(['uuid', 'name', 'neutron_net_id', 'neutron_subnet_id', 'neutron_pool_id'], r.networks.map((n) => [n.uuid, n.name, n.neutron_net_id, n.neutron_subnet_id, n.neutron_pool_id]), outputOf(o)));
  });

  withOutput(program.command('network-show').description('Show a network').argument('<network>', 'name, uuid or Neutron net id')).action(async (ident: string, o: OutputFlags) =>
    showOne(await client().request<Json>('GET', `/v1/networks/${encodeURIComponent(ident)}`), o),
  );

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
    withOutput(program.command(name))
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
      .action(async (image: string, command: string[], o: CreateOpts & OutputFlags) => {
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
        showOne(c, o);
        if (o.wait && c.status === 'Error') throw new ApiError(500, `container ${String(c.uuid)} failed: ${String(c.status_reason)}`);
      });
  };
  createCommand('run', true);
  createCommand('create', false);

  const hostRow = (x: Json): unknown[] => [x.hostname, x.state, x.disabled ? 'True' : 'False', x.total_containers, x.reason ?? ''];
  withOutput(
    program
      .command('host-list')
      .description('List the compute hosts with their health (Docker ping) and container count (admin)')
      .option('--refresh', 'ping every host now instead of showing the last periodic check'),
  ).action(async (o: OutputFlags & { refresh?: boolean }) => {
    const r = await client().request<{ hosts: Json[] }>('GET', '/v1/hosts', { query: { refresh: o.refresh ? 'true' : undefined } });
    out(renderList(['hostname', 'state', 'disabled', 'total_containers', 'reason'], r.hosts.map(hostRow), outputOf(o)));
  });

  withOutput(program.command('host-show').description('Show a compute host (admin)').argument('<host>', 'host name (its binding host id)').option('--refresh', 'ping it now')).action(
    async (name: string, o: OutputFlags & { refresh?: boolean }) => {
      showOne(await client().request<Json>('GET', `/v1/hosts/${encodeURIComponent(name)}`, { query: { refresh: o.refresh ? 'true' : undefined } }), o);
    },
  );

  withOutput(program.command('list').description('List containers').option('--all-projects', 'all projects (admin)')).action(async (o: OutputFlags & { allProjects?: boolean }) => {
    const r = await client().request<{ containers: Json[] }>('GET', '/v1/containers', { query: { all_projects: o.allProjects ? 'true' : undefined } });
    out(renderList(['uuid', 'name', 'image', 'status', 'task_state', 'addresses', 'ports'], r.containers.map((c) => [c.uuid, c.name, c.image, c.status, c.task_state, flatAddresses(c.addresses), (c.ports as number[]).join(', ')]), outputOf(o)));
  });

  withOutput(program.command('show').description('Show a container').argument('<container>')).action(async (ident: string, o: OutputFlags) =>
    showOne(await client().request<Json>('GET', `/v1/containers/${encodeURIComponent(ident)}`), o),
  );

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
      // as Zun's clients: the command is one query parameter the server splits like a shell
      const r = await client().request<{ output: string; exit_code: number }>('POST', `/v1/containers/${encodeURIComponent(ident)}/execute`, { query: { command: shellJoin(command), run: 'true', interactive: 'false' } });
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
    if (e instanceof UsageError || e instanceof ColumnError) {
      err(`zun: error: ${e.message}`);
      return 2;
    }
    if (e instanceof ApiError) {
      err(`ERROR: ${e.message} (HTTP ${e.status})${e.requestId ? ` (Request-ID: ${e.requestId})` : ''}`);
      return 1;
    }
    if (e instanceof UnreachableError) {
      err(`ERROR: ${e.message}`);
      return 1;
    }
    if (e instanceof AppError && e.code === 'KURYR_ERR_KEYSTONE_CATALOG') {
      err(`ERROR: ${e.message}; or give zun-api's URL with --zun-url (ZUN_URL)`);
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
