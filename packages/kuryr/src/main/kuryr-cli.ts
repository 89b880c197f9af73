/**
 * `kuryr` command line: `kuryr daemon --config-file <kuryr.conf>`.
 */
import { Command } from 'commander';
import { AppError } from '@kuryr-ts/openstack/errors';
import { formatChecks, runDoctor } from './doctor.js';
import { runDaemon } from './kuryr-daemon.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('kuryr').description('kuryr-ts: Docker networks on OpenStack Neutron').showHelpAfterError();
  let exitCode = 0;
  program
    .command('daemon')
    .description('run the libnetwork remote network + IPAM driver (listens on /run/docker/plugins/kuryr.sock)')
    .option('--config-file <path>', 'kuryr.conf (repeatable; later files win)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--debug', 'debug logging')
    .action(async (o: { configFile: string[]; debug?: boolean }) => {
      const files = o.configFile.length > 0 ? o.configFile : ['/etc/kuryr/kuryr.conf'];
      await runDaemon({ configFiles: files, debug: o.debug === true });
    });
  program
    .command('doctor')
    .description('check this host: config, Neutron and auth, extensions, OVS, binding host id, Docker discovery, socket')
    .option('--config-file <path>', 'kuryr.conf (repeatable; later files win)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (o: { configFile: string[] }) => {
      const checks = await runDoctor(o.configFile.length > 0 ? o.configFile : ['/etc/kuryr/kuryr.conf']);
      process.stdout.write(`${formatChecks(checks)}\n`);
      exitCode = checks.every((c) => c.ok) ? 0 : 1;
    });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const code = err instanceof AppError ? err.code : 'KURYR_ERR_FATAL';
    process.stderr.write(`kuryr: ${code}: ${(err as Error).message}\n`);
    exitCode = err instanceof AppError && err.kind === 'bad-request' ? 2 : 1;
  }
  return exitCode;
}
