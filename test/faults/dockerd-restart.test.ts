/**
 * The lab's dockerd restarted under running containers: three with
 * `--restart always`, two without, on a network of the test daemon (which
 * keeps running). dockerd is stopped by the pid in the lab's pid file
 * (SIGTERM, as lab/lib.sh stops it) and started again with the very command
 * line and PATH it had (lab/lib.sh's spawn, as lab/up.sh starts it).
 * Afterwards the `--restart always` containers run again and reach each
 * other, a stopped one starts again and reaches them, `kuryr reconcile`
 * finds the ports, veths and OVS ports all explained by endpoints, and
 * Docker's teardown leaves nothing.
 *
 * With KURYR_FAULTS_EXTRA=1 also a crash of dockerd (SIGKILL): its containers
 * go on in their shims until the new dockerd cleans them up; the driver gets
 * no Leave or DeleteEndpoint for them, and `kuryr reconcile` must remove what
 * they had (docs/faults.md says why it is not in the default run).
 */
import { containerIp, docker, neutron } from '../integration/support.js';
import { containersNamed, dockerOp, eachLimited, reaches, runContainer, seconds } from './docker-ops.js';
import { removedText } from './fault-daemon.js';
import { liveMismatch } from './inventory.js';
import { knobs } from './knobs.js';
import { cannotBreak, DockerdRestart } from './lab-services.js';
import { faultScenario } from './scenario.js';

const dockerd = new DockerdRestart();

async function waitRunning(prefix: string, names: string[], timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await containersNamed(prefix).catch(() => new Map<string, string>());
    if (names.every((n) => states.get(n) === 'running')) return performance.now() - t0;
    if (Date.now() > deadline) throw new Error(`not running again after ${timeoutMs / 1000} s: ${names.filter((n) => states.get(n) !== 'running').join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function dockerdScenario(key: string, how: 'SIGTERM' | 'SIGKILL', skip: string | false): void {
  faultScenario(
    key,
    `dockerd ${how === 'SIGTERM' ? 'restarted' : 'killed (SIGKILL) and started again'} with running containers, some --restart always`,
    { timeoutMs: 600_000, skip: skip || cannotBreak('dockerd'), restore: () => dockerd.restore() },
    async (ctx) => {
      const { daemon, figures } = ctx;
      const netId = await ctx.network('net', how === 'SIGTERM' ? '10.234.0.0/24' : '10.234.1.0/24');
      const net = ctx.networks[0]!;
      const always = [1, 2, 3].map((i) => `${ctx.prefix}r${i}`);
      const plain = [1, 2].map((i) => `${ctx.prefix}p${i}`);
      for (const c of always) {
        const r = await runContainer(c, net, '--restart', 'always');
        if (!r.ok) throw new Error(`${c} did not start: ${r.out}`);
      }
      for (const c of plain) {
        const r = await runContainer(c, net);
        if (!r.ok) throw new Error(`${c} did not start: ${r.out}`);
      }
      const before = await reaches(always[0]!, await containerIp(always[1]!, net));

      const stopMs = how === 'SIGTERM' ? await dockerd.stop() : await dockerd.kill();
      const portsWhileDown = (await neutron.list('ports', { network_id: netId, device_owner: 'compute:kuryr' })).length;
      const startMs = await dockerd.start();
      const backMs = await waitRunning(ctx.prefix, always, 120_000);
      const states = await containersNamed(ctx.prefix);

      // every --restart always container reaches every other one
      const ips = await Promise.all(always.map((c) => containerIp(c, net)));
      const pairs = always.flatMap((c, i) => ips.filter((_, j) => j !== i).map((ip) => [c, ip] as const));
      const deafPairs = (await eachLimited(pairs, 3, async ([c, ip]) => ((await reaches(c, ip, 20_000)) ? undefined : `${c} → ${ip}`))).filter(Boolean);
      // a container without a restart policy starts again by hand and reaches them
      const again = await dockerOp('start', plain[0]!);
      const againReaches = again.ok && (await reaches(plain[0]!, ips[0]!, 20_000));

      await new Promise((r) => setTimeout(r, (knobs.graceS + 2) * 1000));
      const rec = await daemon.reconcile();
      const mismatch = await liveMismatch([net], ctx.neutronNets, ctx.baseline);

      figures.check('containers reach each other before the restart', before ? 1 : 0, '==', 1);
      figures.report(`dockerd stop (${how} to gone) / start (spawn to answering)`, `${seconds(stopMs)} / ${seconds(startMs)}`, 's');
      figures.report('kuryr ports on the network while dockerd is down', portsWhileDown, undefined, how === 'SIGTERM' ? 'its shutdown released them' : 'a crash releases nothing');
      figures.report('--restart always containers running again after dockerd answered', seconds(backMs), 's');
      figures.check('--restart always containers not running afterwards', always.filter((c) => states.get(c) !== 'running').length, '==', 0);
      figures.report('containers without a restart policy afterwards', plain.map((c) => `${c.slice(ctx.prefix.length)}: ${states.get(c) ?? 'gone'}`).join(', '));
      figures.check('pairs of --restart always containers that do not reach each other', deafPairs.length, '==', 0, undefined, deafPairs.join(', ') || undefined);
      figures.check('a stopped container started again reaches the others', againReaches ? 1 : 0, '==', 1, undefined, again.ok ? undefined : again.out.slice(0, 200));
      figures.check('kuryr reconcile exit status', rec.status, '==', 0, undefined, rec.report.skipped.join('; ') || undefined);
      figures.report('removed by kuryr reconcile', removedText(rec));
      figures.check('ports, veths or OVS ports no endpoint explains, or endpoints missing one', mismatch.length, '==', 0, undefined, mismatch.slice(0, 5).join('; ') || undefined);
      await docker('ps', '-q'); // Docker answers

      await ctx.teardownLeaves();
    },
  );
}

dockerdScenario('dockerd', 'SIGTERM', false);
dockerdScenario('dockerd-kill', 'SIGKILL', knobs.extra ? false : 'KURYR_FAULTS_EXTRA=1 runs it (docs/faults.md)');
