/**
 * A burst with a crash in it: KURYR_FAULTS_BURST `docker run` at once, the
 * daemon killed with SIGKILL once a seeded number of CreateEndpoints reached
 * it and started again after a seeded pause; then `kuryr reconcile`, every
 * running container reaches the peer. Then the same number of `docker rm -f`
 * at once, with a SIGKILL a seeded moment into it; `kuryr reconcile` again.
 * No docker command may hang (each returns within the bound), and nothing of
 * kuryr's is left after the reconciliation and Docker's own teardown.
 */
import { containerIp } from '../integration/support.js';
import { containersNamed, percentile, removeContainer, runContainer, seconds, unreachable, type OpResult } from './docker-ops.js';
import { removedText, type FaultDaemon } from './fault-daemon.js';
import { liveMismatch } from './inventory.js';
import { knobs } from './knobs.js';
import { faultScenario } from './scenario.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Kills the daemon once `due()` says so (polled), starts it again after `pauseMs`. */
async function killWhen(daemon: FaultDaemon, due: () => Promise<boolean>, pauseMs: number, stop: () => boolean): Promise<number | undefined> {
  while (!stop()) {
    if (await due().catch(() => false)) {
      const at = performance.now();
      await daemon.kill9();
      await sleep(pauseMs);
      await daemon.start();
      return at;
    }
    await sleep(100);
  }
  return undefined;
}

faultScenario('burst', `${knobs.burst} docker run at once, then ${knobs.burst} docker rm -f at once, with a kill -9 in each`, { timeoutMs: 900_000 }, async (ctx) => {
  const { daemon, figures, rng } = ctx;
  await ctx.network('net', '10.236.0.0/24');
  const net = ctx.networks[0]!;
  const peer = `${ctx.prefix}peer`;
  const p = await runContainer(peer, net);
  if (!p.ok) throw new Error(`the peer container did not start: ${p.out}`);
  const peerIp = await containerIp(peer, net);
  const names = Array.from({ length: knobs.burst }, (_, i) => `${ctx.prefix}b${i}`);

  // ---- the runs, and a kill once a seeded share of the CreateEndpoints arrived
  const killAfter = rng.int(Math.max(1, Math.floor(knobs.burst * 0.2)), Math.max(1, Math.floor(knobs.burst * 0.6)));
  const runPause = rng.between(300, 2500);
  let runsDone = false;
  const t0 = performance.now();
  const runs = Promise.all(names.map((n) => runContainer(n, net))).finally(() => (runsDone = true));
  const runKill = killWhen(
    daemon,
    async () => ((await daemon.stats(2000)).operations['NetworkDriver.CreateEndpoint']?.requests ?? 0) >= killAfter,
    runPause,
    () => runsDone,
  );
  runKill.catch(() => undefined); // awaited below
  const runResults: OpResult[] = await runs;
  const runKilledAt = await runKill;
  const runWall = performance.now() - t0;
  if (!daemon.running) await daemon.start();
  await daemon.neutronReady();

  await sleep((knobs.graceS + 2) * 1000);
  const rec1 = await daemon.reconcile();
  const running = [...(await containersNamed(ctx.prefix))].filter(([, s]) => s === 'running').map(([n]) => n);
  const mismatch1 = await liveMismatch([net], ctx.neutronNets, ctx.baseline);
  const deaf = await unreachable(
    running.filter((n) => n !== peer),
    peerIp,
  );

  // ---- the removals, and a kill a seeded moment into them
  const rmDelay = rng.between(500, 5000);
  const rmPause = rng.between(300, 2500);
  let rmsDone = false;
  const t1 = performance.now();
  const rms = Promise.all(names.map((n) => removeContainer(n))).finally(() => (rmsDone = true));
  const rmKill = killWhen(daemon, async () => performance.now() - t1 >= rmDelay, rmPause, () => rmsDone);
  rmKill.catch(() => undefined); // awaited below
  const rmResults: OpResult[] = await rms;
  const rmKilledAt = await rmKill;
  const rmWall = performance.now() - t1;
  if (!daemon.running) await daemon.start();
  await daemon.neutronReady();

  await sleep((knobs.graceS + 2) * 1000);
  const rec2 = await daemon.reconcile();
  const mismatch2 = await liveMismatch([net], ctx.neutronNets, ctx.baseline);

  const all = [...runResults, ...rmResults];
  figures.report(
    'kill -9 during the runs / the removals',
    `${runKilledAt === undefined ? 'none (all done first)' : `at ${seconds(runKilledAt - t0)} s, after ${killAfter} CreateEndpoint`} / ${rmKilledAt === undefined ? 'none (all done first)' : `at ${seconds(rmKilledAt - t1)} s`}`,
  );
  figures.check('kills that hit the burst in flight', (runKilledAt === undefined ? 0 : 1) + (rmKilledAt === undefined ? 0 : 1), '>=', 1);
  figures.report('wall time of the runs / the removals', `${seconds(runWall)} / ${seconds(rmWall)}`, 's');
  figures.report('docker run that failed (Docker reported the error)', runResults.filter((r) => !r.ok).length, undefined, runResults.find((r) => !r.ok)?.out.slice(0, 200));
  figures.report('docker rm -f that failed', rmResults.filter((r) => !r.ok).length, undefined, rmResults.find((r) => !r.ok)?.out.slice(0, 200));
  figures.check('docker commands that hung (no return within the bound)', all.filter((r) => r.wedged).length, '==', 0);
  figures.check('slowest docker command', seconds(Math.max(...all.map((r) => r.ms))), '<=', knobs.commandBoundS, 's');
  figures.report('docker run p50 / p95', `${seconds(percentile(runResults.map((r) => r.ms), 50))} / ${seconds(percentile(runResults.map((r) => r.ms), 95))}`, 's');
  figures.check('kuryr reconcile exit status (after the runs, after the removals)', Math.max(rec1.status, rec2.status), '==', 0, undefined, [...rec1.report.skipped, ...rec2.report.skipped].join('; ') || undefined);
  figures.report('removed by kuryr reconcile (after the runs / after the removals)', `${removedText(rec1)} / ${removedText(rec2)}`);
  figures.report('containers running after the runs (peer included)', running.length);
  figures.check('after the runs: ports, veths or OVS ports no endpoint explains, or endpoints missing one', mismatch1.length, '==', 0, undefined, mismatch1.slice(0, 5).join('; ') || undefined);
  figures.check('after the runs: running containers that do not reach the peer', deaf.length, '==', 0, undefined, deaf.join(', ') || undefined);
  figures.check('after the removals: ports, veths or OVS ports no endpoint explains', mismatch2.length, '==', 0, undefined, mismatch2.slice(0, 5).join('; ') || undefined);

  await ctx.teardownLeaves();
});
