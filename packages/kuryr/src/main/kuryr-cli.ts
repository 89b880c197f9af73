/**
 * Command lines: `kuryr daemon|doctor|reconcile …`, and `kuryr-server …` —
 * Kuryr-libnetwork's daemon command with oslo's usual flags, so packaging
 * and devstack lines such as `kuryr-server --config-file /etc/kuryr/kuryr.conf`
 * start kuryr-ts unchanged. `--config-file`/`--config-dir` follow
 * oslo.config (config-files.ts); `--log-file`/`--log-dir`/`--debug` oslo.log.
 */
import { homedir } from 'node:os';
import { Command, CommanderError } from 'commander';
import { AppError } from '@kuryr-ts/openstack/errors';
import { configFiles, localFs, progName, type ConfigFs, type ConfigSource } from '../config/config-files.js';
import type { ProcView } from '../ports/proc-view.js';
import { procfs } from '../adapters/linux/procfs.js';
import { chooseConfig } from './config-discovery.js';
// The daemon runs for months: what only `kuryr doctor` and `kuryr reconcile` need is loaded when they run.
import type { runDoctor } from './doctor.js';
import { runDaemon, type DaemonOptions } from './kuryr-daemon.js';
import { packageVersion } from './version.js';

/** What the command lines act on; tests replace parts of it. */
export interface CliDeps {
  readonly runDaemon: (opts: DaemonOptions) => Promise<void>;
  readonly runDoctor: typeof runDoctor;
  readonly proc: ProcView;
  readonly fs: ConfigFs;
  readonly cwd: string;
  readonly home: string | undefined;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const realDeps = (): CliDeps => ({
  runDaemon,
  runDoctor: async (choice) => (await import('./doctor.js')).runDoctor(choice),
  proc: procfs,
  fs: localFs,
  cwd: process.cwd(),
  home: process.env.HOME ?? homedir(),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});

interface DaemonFlags {
  logFile?: string;
  logDir?: string;
  debug?: boolean;
}

/** --config-file and --config-dir into one list, in command-line order (it decides which value wins). */
function configFlags(cmd: Command): ConfigSource[] {
  const sources: ConfigSource[] = [];
  const add = (kind: ConfigSource['kind']) => (path: string) => {
    sources.push({ kind, path });
    return sources;
  };
  cmd
    .option('--config-file <path>', 'a config file (repeatable; later files win; default: the first of ~/.kuryr/kuryr.conf, ~/kuryr.conf, /etc/kuryr/kuryr.conf, /etc/kuryr.conf)', add('file'))
    .option('--config-dir <dir>', 'read the *.conf files of this directory, in name order, here in the list of files (repeatable)', add('dir'));
  return sources;
}

function daemonCommand(cmd: Command, prog: string, deps: CliDeps): Command {
  const sources = configFlags(cmd);
  return cmd
    .option('--log-file <path>', 'append the log to this file (default: [DEFAULT] log_file, else stdout)')
    .option('--log-dir <dir>', 'the directory of --log-file (alone: <dir>/<program>.log)')
    .option('-d, --debug', 'debug logging')
    .action(async (o: DaemonFlags) => {
      const files = configFiles(sources, { prog, home: deps.home, cwd: deps.cwd, fs: deps.fs });
      await deps.runDaemon({
        configFiles: files,
        prog,
        ...(o.debug ? { debug: true } : {}),
        ...(o.logFile !== undefined ? { logFile: o.logFile } : {}),
        ...(o.logDir !== undefined ? { logDir: o.logDir } : {}),
      });
    });
}

/** commander's own output and exits go through deps; returns the exit status. */
async function run(program: Command, argv: string[], deps: CliDeps, doctorStatus: () => number): Promise<number> {
  try {
    await program.parseAsync(argv);
    return doctorStatus();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // usage errors exit 2, as argparse's
    const code = err instanceof AppError ? err.code : 'KURYR_ERR_FATAL';
    deps.stderr(`${program.name()}: ${code}: ${(err as Error).message}\n`);
    return err instanceof AppError && err.kind === 'bad-request' ? 2 : 1;
  }
}

function newProgram(name: string, deps: CliDeps): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({ writeOut: deps.stdout, writeErr: deps.stderr })
    .version(packageVersion(), '--version', 'print the version and exit')
    .showHelpAfterError();
}

/** `kuryr daemon|doctor|reconcile` (argv as process.argv). */
export async function main(argv: string[], deps: CliDeps = realDeps()): Promise<number> {
  const program = newProgram('kuryr', deps).description('kuryr-ts: Docker networks on OpenStack Neutron');
  let status = 0;
  daemonCommand(
    program.command('daemon').description('run the libnetwork remote network + IPAM driver (listens on /run/docker/plugins/kuryr.sock); kuryr-server is the same'),
    progName(argv[1]),
    deps,
  );
  const doctor = program
    .command('doctor')
    .description("check this host: config (the running daemon's unless --config-file/--config-dir), Neutron and auth, extensions, OVS, binding host id, Docker discovery, socket");
  const given = configFlags(doctor);
  doctor.action(async () => {
    const choice = chooseConfig(given, deps.proc, { home: deps.home, cwd: deps.cwd, fs: deps.fs });
    const checks = await deps.runDoctor(choice);
    deps.stdout(`${(await import('./doctor.js')).formatChecks(checks)}\n`);
    status = checks.every((c) => c.ok) ? 0 : 1;
  });
  const reconcile = program
    .command('reconcile')
    .description("find and remove this host's leftovers nothing uses (ports, veths and OVS ports, networks, subnets, pools, --expose groups); the running daemon's config unless --config-file/--config-dir; see docs/reconcile.md")
    .option('--dry-run', 'report what would be removed, change nothing')
    .option('--json', 'print the report as JSON');
  const reconcileConfig = configFlags(reconcile);
  reconcile.action(async (o: { dryRun?: boolean; json?: boolean }) => {
    const choice = chooseConfig(reconcileConfig, deps.proc, { home: deps.home, cwd: deps.cwd, fs: deps.fs });
    if (choice.error !== undefined) throw choice.error;
    const { runReconcileCommand } = await import('./reconcile-cli.js');
    status = await runReconcileCommand({ configFiles: [...choice.files], read: choice.read, dryRun: o.dryRun === true, json: o.json === true, write: deps.stdout });
  });
  return run(program, argv, deps, () => status);
}

/** `kuryr-server [--config-file …] [--config-dir …] [--log-file …] [--debug]`: the daemon (argv as process.argv). */
export async function serverMain(argv: string[], deps: CliDeps = realDeps()): Promise<number> {
  const program = newProgram('kuryr-server', deps).description('kuryr-ts: the libnetwork remote network + IPAM driver on OpenStack Neutron (as `kuryr daemon`)');
  daemonCommand(program, progName(argv[1] ?? 'kuryr-server'), deps);
  return run(program, argv, deps, () => 0);
}
