/**
 * A reboot, as near as the lab allows: the lab's dockerd and kuryr daemon are
 * stopped (Docker first, as systemd's reverse order does at shutdown), then
 * dockerd is started first and the daemon a few seconds later — the order
 * the systemd unit avoids, and the worst one a host without it meets — and
 * containers with `--restart always` on a kuryr network come back with
 * working networking. Both are stopped and started by the pids in the lab's
 * pid files (lab/lib.sh, lab/kuryr.sh), never by name; dockerd comes back
 * with the very command line and PATH it had (lab/up.sh gives each Docker
 * engine its own docker-proxy first on PATH). If the test fails half-way,
 * `after` starts whichever of the two is missing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { IMAGE, REPO, RUN_PREFIX, cleanupDocker, containerIp, docker, sh, waitFor } from './support.js';

const DOCKERD_PID_FILE = '/run/kuryr-lab/dockerd.pid';
const KURYR_PID_FILE = '/run/kuryr-lab/kuryr.pid';

/** The pid in a lab pid file, if that process runs and its command line contains `name`. */
function labPid(pidFile: string, name: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]!.trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return argv.includes(name) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Runs bash with lab/lib.sh sourced (its pid-file helpers: pid_of, pid_alive, spawn, wait_gone, descendants…). */
const labBash = (script: string, args: string[] = [], timeoutMs = 180_000): Promise<string> =>
  sh('bash', ['-c', `set -euo pipefail; . "${REPO}lab/lib.sh"; ${script}`, 'boot-order', ...args], timeoutMs);

/**
 * SIGTERM to the lab's dockerd by its pid file; waits until it and its children (containerd, shims) are gone.
 * (Not lib.sh's stop_lab_dockerd: that also forgets the lab's engine record and docker CLI link.)
 */
const stopDockerd = (): Promise<string> =>
  labBash(`
    pid_alive "$DOCKERD_PID" dockerd || die "the lab's dockerd is not running"
    pid=$(pid_of "$DOCKERD_PID")
    kids=$(descendants "$pid" | tr '\\n' ' ')
    declare -A kidcmd=()
    for p in $kids; do kidcmd[$p]=$(tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true); done
    log "stopping dockerd (pid $pid; descendants: \${kids:-none})"
    kill -TERM "$pid"
    wait_gone "$pid" 90 || die "dockerd (pid $pid) still alive after 90 s"
    for p in $kids; do
      wait_gone "$p" 10 && continue
      if [ "$(tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true)" = "\${kidcmd[$p]}" ]; then warn "killing leftover pid $p"; kill -KILL "$p" || true; fi
    done
  `);

/** How the lab's dockerd was started: its command line and PATH. */
interface DockerdLaunch {
  argv: string[];
  path: string;
}

function launchOf(pid: number): DockerdLaunch {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const path = env.find((e) => e.startsWith('PATH='))?.slice('PATH='.length) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return { argv, path };
}

/** Starts dockerd again as it was, in its own session, pid in the lab's pid file (as lab/up.sh does); does not wait for its API. */
const startDockerd = (l: DockerdLaunch): Promise<string> => labBash('spawn "$DOCKERD_PID" "$LOGDIR/dockerd.log" env PATH="$1" "${@:2}"', [l.path, ...l.argv]);

const kuryrSh = (action: 'start' | 'stop'): Promise<string> => sh('bash', [`${REPO}lab/kuryr.sh`, action], 180_000);

const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : labPid(DOCKERD_PID_FILE, 'dockerd') === undefined
      ? 'the running dockerd was not started by the lab (no /run/kuryr-lab/dockerd.pid): not ours to stop'
      : labPid(KURYR_PID_FILE, 'kuryr') === undefined
        ? 'the lab kuryr daemon is not running (lab/kuryr.sh)'
        : false;

const containers: string[] = [];
const networks: string[] = [];
let dockerd: DockerdLaunch | undefined;

after(async () => {
  // Whatever happened, leave the lab with both running.
  if (dockerd && labPid(DOCKERD_PID_FILE, 'dockerd') === undefined) {
    await startDockerd(dockerd).catch((err: unknown) => console.error(`could not start dockerd again: ${String(err)}`));
  }
  if (dockerd && labPid(KURYR_PID_FILE, 'kuryr') === undefined) {
    await kuryrSh('start').catch((err: unknown) => console.error(`could not start the kuryr daemon again: ${String(err)}`));
  }
  if (dockerd) await waitFor('Docker to answer', async () => docker('version', '--format', '{{.Server.Version}}').then(Boolean, () => false), 120_000).catch(() => undefined);
  await cleanupDocker(containers, networks);
});

async function running(name: string): Promise<boolean> {
  return (await docker('inspect', '-f', '{{.State.Running}}', name).catch(() => 'false')) === 'true';
}

describe('boot order: Docker up before the driver', { timeout: 600_000, skip }, () => {
  it('containers with --restart always on a kuryr network come back, networked, when dockerd starts first and kuryr seconds later', async () => {
    const net = `${RUN_PREFIX}-boot`;
    networks.push(net);
    await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.215.0.0/24', '--gateway', '10.215.0.1', net);
    const [a, b] = [`${RUN_PREFIX}-boota`, `${RUN_PREFIX}-bootb`];
    containers.push(a, b);
    // --stop-timeout: busybox sleep as pid 1 ignores SIGTERM; dockerd's stop should not wait 10 s for each.
    for (const c of [a, b]) await docker('run', '-d', '--name', c, '--net', net, '--restart', 'always', '--stop-timeout', '2', IMAGE, 'sleep', '3600');
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', await containerIp(b, net)), /2 packets received/);

    // Shutdown: Docker stops first (its containers' Leave/DeleteEndpoint reach the driver), then the driver.
    dockerd = launchOf(labPid(DOCKERD_PID_FILE, 'dockerd')!);
    await stopDockerd();
    await kuryrSh('stop');
    assert.equal(existsSync('/run/docker/plugins/kuryr.sock'), false, 'the stopped daemon removed its socket');

    // Boot, the wrong way round: dockerd first (it restarts a and b at once, and looks the driver up), the driver 3 s later.
    await startDockerd(dockerd);
    await new Promise((r) => setTimeout(r, 3000));
    await kuryrSh('start');
    await waitFor('Docker to answer', async () => docker('version', '--format', '{{.Server.Version}}').then(Boolean, () => false), 120_000);

    const state = async (c: string) => docker('inspect', '-f', '{{.State.Status}} restarts={{.RestartCount}} error={{.State.Error}}', c).catch((e: Error) => e.message);
    try {
      await waitFor('both containers running again', async () => (await running(a)) && (await running(b)), 120_000);
    } catch (err) {
      const log = await sh('tail', ['-n', '40', '/var/log/kuryr-lab/dockerd.log']).catch(() => '');
      throw new Error(`${(err as Error).message}: ${a}: ${await state(a)}; ${b}: ${await state(b)}\n--- dockerd.log\n${log}`, { cause: err });
    }
    const [ipA, ipB] = [await containerIp(a, net), await containerIp(b, net)];
    assert.ok(ipA && ipB, `both have an address on ${net}`);
    // New ports, bound again: give the dataplane a moment for the first packet, then both ways.
    await waitFor(`${a} to reach ${b}`, () => docker('exec', a, 'ping', '-c', '1', '-W', '2', ipB).then((o) => /1 packets received/.test(o), () => false), 30_000);
    assert.match(await docker('exec', a, 'ping', '-c', '2', '-W', '2', ipB), /2 packets received/);
    assert.match(await docker('exec', b, 'ping', '-c', '2', '-W', '2', ipA), /2 packets received/);
  });
});
